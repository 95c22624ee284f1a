"""The interfaces the domain and the services need from storage, queues and uploads (ports); the
adapters that implement them live in civic.adapters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from civic.domain.quotas import Counter
from civic.domain.reports import Report, TimelineEvent

if TYPE_CHECKING:
    from civic.domain.contacts import Pending
    from civic.domain.notify import Alert, Message, Preferences
    from civic.domain.stats import Delta
    from civic.domain.units import RoutingRule, Unit, UnitTree


class TrackingCodeTaken(Exception):
    """The random tracking code already exists; draw another."""


class RoutingIndexMissing(RuntimeError):
    """No boundaries were ever published: nothing can be located yet."""


class AlreadyFlagged(Exception):
    """This account already flagged this report."""


class ConcurrentChange(Exception):
    """The report changed since it was read; the caller re-reads and decides again."""


def check_change(report: Report, expected_version: int, event: TimelineEvent) -> None:
    """The invariant every store enforces: one change = the next version + the event of that version."""
    if not (report.version == expected_version + 1 == event.seq and event.report_id == report.id):
        raise ValueError(
            f"a change must write version {expected_version + 1} with its event; "
            f"got version {report.version}, event {event.report_id}:{event.seq}"
        )


@dataclass
class FeedQuery:
    cells: list[str]
    bbox: tuple[float, float, float, float]
    limit: int
    before_key: str | None = None  # created_key of the last item of the previous page
    category: str | None = None
    status: str | None = None


class ReportStore(Protocol):
    def create(self, report: Report, event: TimelineEvent) -> None:
        """Write a new report, its tracking-code guard and its first event in one transaction."""

    def save(self, report: Report, expected_version: int, event: TimelineEvent) -> None:
        """Write the next version of a report and its event in one transaction, if nobody else did."""

    def get(self, report_id: str) -> Report | None: ...

    def get_by_tracking(self, code: str) -> Report | None: ...

    def timeline(self, report_id: str) -> list[TimelineEvent]: ...

    def by_citizen(self, citizen_id: str, limit: int, before_key: str | None) -> list[Report]: ...

    def due(self, now: str, days_back: int = 30) -> list[Report]:
        """Reports whose SLA checkpoint (civic.domain.sla_watch) is at or before `now`."""

    def by_units(self, units: list[str], statuses: list[str]) -> list[Report]:
        """Reports queued at these units (`"#triage"`: awaiting triage) in these statuses."""

    def feed(self, query: FeedQuery) -> list[Report]:
        """Newest first across the query's cells, filtered, at most `limit`."""

    def flag(self, report: Report, expected_version: int, event: TimelineEvent, flagger_id: str, reason: str) -> None:
        """`save`, and this account's one flag on the report, in one transaction (AlreadyFlagged if it had one)."""

    def review_queue(self, limit: int) -> list[Report]:
        """Reports a moderator must look at (Report.review), newest first."""

    def transferred_by(self, units: list[str]) -> list[Report]:
        """Reports these units transferred to another unit (Report.transferred_from), wherever they are now."""


class UploadSigner(Protocol):
    def presign_post(self, key: str, content_type: str, max_size: int, owner: str) -> dict[str, Any]:
        """{"url", "fields"} for a browser/mobile POST of exactly this key, type and owner, at most this size."""


class QuotaCounters(Protocol):
    def take(self, counters: Sequence[Counter]) -> list[Counter]:
        """Count one use against every counter, all or none: [] when counted; otherwise nothing is
        counted and the answer is the counters already at their limit."""


class ContactStore(Protocol):
    """Pending contact verifications and verified contacts (civic.adapters.dynamo.contacts)."""

    def pending(self, user_id: str, channel: str) -> Pending | None: ...

    def pending_by_token(self, token_hash: str) -> Pending | None: ...

    def start(self, pending: Pending, *, day: str, account: str, cap: int, now_epoch: int) -> bool:
        """Save the pending verification and count it against the account's daily cap (False: cap reached)."""

    def abandon(self, pending: Pending, day: str) -> None:
        """Undo `start` (the message could not be queued)."""

    def wrong_attempt(self, pending: Pending, limit: int) -> int:
        """Count one wrong code; the attempts made so far."""

    def confirm(self, pending: Pending) -> None: ...

    def mark_verified(self, user_id: str, keys: set[str]) -> None: ...


class NotifyStore(Protocol):
    """Preferences, devices, who follows and who staffs what, area membership, the inbox and alerts
    (civic.adapters.dynamo.notify.DynamoNotifyStore)."""

    def preferences(self, user_ids: Iterable[str]) -> dict[str, Preferences]: ...

    def get_preferences(self, user_id: str) -> Preferences | None: ...

    def save_preferences(self, user_id: str, changes: dict[str, Any]) -> Preferences: ...

    def add_device(self, user_id: str, platform: str, token: str) -> bool:
        """True when the device was not registered before."""

    def remove_device(self, user_id: str, token: str) -> bool: ...

    def followers(self, report_id: str, since: str | None = None) -> list[str]:
        """Who follows the report; with `since`, only those who followed at or before that time."""

    def staff_of(self, unit_code: str) -> list[tuple[str, str]]:
        """(user id, role) of the staff of a unit."""

    def index_area(self, unit_code: str, user_id: str, source: str, at: str) -> None: ...

    def unindex_area(self, unit_code: str, user_id: str) -> None: ...

    def area_members(self, unit_code: str, after: str | None = None, limit: int = 1000) -> tuple[list[str], str | None]:
        """A page of the people of an area, and where the next page starts (None: the last page)."""

    def inbox(self, user_id: str, cursor: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]: ...

    def unread(self, user_id: str, cap: int = 1000) -> int: ...

    def mark_read(self, user_id: str, item_id: str) -> bool: ...

    def put_alert(self, alert: Alert) -> None: ...

    def get_alert(self, alert_id: str) -> Alert | None: ...

    def alerts(self) -> list[Alert]: ...


class NotifyQueue(Protocol):
    """The notify queue (civic.adapters.dynamo.notify.SqsNotifyQueue): messages to send, fan-out jobs."""

    def send_messages(self, messages: list[Message], now: str) -> int: ...

    def send_job(self, job: dict[str, Any]) -> int: ...


class UnitStore(Protocol):
    """Units and routing rules as operators manage them (civic.adapters.dynamo.units.DynamoUnitStore)."""

    def tree(self) -> UnitTree: ...

    def put(self, unit: Unit) -> None: ...

    def delete(self, code: str) -> bool: ...

    def rules(self) -> list[RoutingRule]: ...

    def put_rule(self, rule: RoutingRule) -> None: ...

    def delete_rule(self, rule_id: str) -> bool: ...


class FollowStore(Protocol):
    """Who follows which report (civic.adapters.dynamo.units.DynamoFollowStore)."""

    def follow(self, report_id: str, user_id: str, at: str) -> bool: ...

    def unfollow(self, report_id: str, user_id: str) -> bool: ...

    def is_following(self, report_id: str, user_id: str) -> bool: ...

    def count(self, report_id: str) -> int: ...


class StatsCounters(Protocol):
    """The statistics counters as the stats function writes them (civic.adapters.dynamo.stats)."""

    def apply(self, event_id: str, deltas: Iterable[Delta], now: float | None = None) -> bool:
        """Apply one event's deltas, guarded by its id: False when it was counted before."""

    def counter_keys(self) -> list[tuple[str, str]]: ...

    def delete_items(self, keys: Iterable[tuple[str, str]]) -> None: ...

    def put_items(self, items: dict[tuple[str, str], dict[str, int]]) -> int: ...

    def put_guards(self, event_ids: Iterable[str], now: float | None = None) -> None: ...
