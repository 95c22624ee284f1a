"""Quotas against spam: count one use of an action, or refuse it with TooMany (nothing counted then).

Callers take the quota before they write anything, so a refused request leaves no trace. Report
creation takes it inside the idempotent function (civic.bootstrap): a replayed Idempotency-Key answers
the first report without counting again, and a refusal raised there removes the in-progress record,
so the same key may be sent again once the window has passed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from civic.domain import quotas as policy
from civic.domain.ports import QuotaCounters


class Quotas:
    def __init__(self, counters: QuotaCounters, limits: Mapping[str, int],
                 clock: Callable[[], float] = time.time) -> None:
        self._counters = counters
        self._limits = dict(limits)
        self._clock = clock

    def take(self, action: str, subject: str) -> None:
        """Count one use of `action` by `subject`; TooMany (with the seconds to wait) past a quota."""
        now = self._clock()
        wanted = policy.counters(action, subject, self._limits, now)
        if not wanted:
            return  # every quota of this action is switched off: no DynamoDB call
        full = self._counters.take(wanted)
        if full:
            raise policy.refusal(action, full, now)

    def enabled(self, action: str) -> bool:
        return any(q.action == action and self._limits.get(q.name, q.default) > 0 for q in policy.TABLE)

    # One helper per counted action, so callers never spell a kind or a subject.

    def report(self, citizen_id: str) -> None:
        """A new report by this signed-in account (POST /v1/reports)."""
        self.take("report", citizen_id)

    def open311_post(self, client_id: str) -> None:
        """A new Open311 service request by this client (its api_key)."""
        self.take("open311_post", client_id)

    def anonymous_read(self, source_ip: str) -> None:
        """A read without a sign-in from this address."""
        self.take("anonymous_read", source_ip)

    def flag(self, user_id: str) -> None:
        """A citizen flagging a report as abusive (POST /v1/reports/{id}/flags): call before writing the flag."""
        self.take("flag", user_id)
