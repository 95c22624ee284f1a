"""What the SLA schedule does to a report, and when it must look at it next.

Each open report has one next checkpoint (stage, time), derived from its fields and indexed
(ByDue), so a run reads only the reports whose checkpoint has passed:

  due_soon        4 h before the deadline      warn the assignee (internal event)
  overdue         at the deadline               flag overdue, escalate to the unit's leader (public)
  escalate_parent 1 day after the deadline      escalate to the parent unit (internal)
  auto_close      7 days after the result       close a resolved report the citizen did not rate
  question_expired 7 days after request_info    the citizen did not answer: the clock runs again

The deadline is the acceptance deadline while the report waits to be accepted, then the
resolution deadline. While the unit waits for the citizen's answer (request_info) the clock is
paused and nothing fires.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from civic.clock import iso_utc
from civic.domain.reports import Report, TimelineEvent, change
from civic.domain.statuses import WAITING_STATUSES, WORKING_STATUSES

WARN_BEFORE = timedelta(hours=4)
ESCALATE_AFTER = timedelta(days=1)
RATING_WINDOW = timedelta(days=7)
QUESTION_WINDOW = timedelta(days=7)


def _t(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)


def deadline_in_effect(report: Report) -> str | None:
    """The acceptance deadline while waiting to be accepted, then the resolution deadline."""
    if report.status in WAITING_STATUSES:
        return report.accept_due_at
    if report.status in WORKING_STATUSES:
        return report.due_at
    return None


def overdue_cleared(before: Report, after: Report) -> dict[str, Any]:
    """Event data saying a change took the overdue mark away (a new deadline, a result, a refusal, a
    transfer, an answered question): statistics' gauge of reports overdue and still open falls."""
    if "overdue" in before.flags and "overdue" not in after.flags:
        return {"overdue_cleared": True, "unit_code": before.unit_code, "category": before.category}
    return {}


def checkpoint(report: Report) -> tuple[str, str] | None:
    """The next (stage, UTC time) at which the schedule acts on this report, or None."""
    if report.status == "resolved" and report.resolved_at and not report.rating:
        return "auto_close", iso_utc(_t(report.resolved_at) + RATING_WINDOW)
    if report.awaiting_info_since:  # paused, but not for ever
        return "question_expired", iso_utc(_t(report.awaiting_info_since) + QUESTION_WINDOW)
    deadline = deadline_in_effect(report)
    if not deadline:
        return None
    due = _t(deadline)
    flags = set(report.flags)
    if "escalated" in flags:
        return None
    if "overdue" in flags:
        return "escalate_parent", iso_utc(due + ESCALATE_AFTER)
    if "due_soon" not in flags:
        return "due_soon", iso_utc(due - WARN_BEFORE)
    return "overdue", deadline


def step(report: Report, now: str, parent_of: Callable[[str | None], str | None] = lambda code: None,
         extend: Callable[[str, str, str], str] | None = None,
         stamp: str | None = None) -> tuple[Report, TimelineEvent] | None:
    """The change the schedule makes as of `now`, if the report's checkpoint has passed (idempotent).

    `stamp` is when the change is written (default `now`): a run simulated ahead of time decides as of
    `now` but stamps the real time, so no event is dated in the future (and no later change inherits
    a future `updated_at`)."""
    found = checkpoint(report)
    if found is None or found[1] > now:
        return None
    stage, _ = found
    flags = set(report.flags)
    updates: dict[str, Any] = {}
    data: dict[str, Any] = {"unit_code": report.unit_code, "category": report.category}
    public = False
    if stage == "due_soon":
        flags.add("due_soon")
        data["due_at"] = deadline_in_effect(report)
        data["notify"] = report.assignee or "unit"
    elif stage == "overdue":
        flags |= {"due_soon", "overdue"}
        data.update(due_at=deadline_in_effect(report), escalated_to="leader")
        public = True  # whether deadlines were met is public
    elif stage == "question_expired":
        # The wait counts as paused time (the deadline moves by it); the clock then runs again.
        field = "accept_due_at" if report.status in WAITING_STATUSES else "due_at"
        updates = {"awaiting_info_since": None, "info_question": None}
        if extend and getattr(report, field) and report.awaiting_info_since:
            updates[field] = extend(getattr(report, field), report.awaiting_info_since, now)
        flags -= {"due_soon", "overdue", "escalated"}
        data["since"] = report.awaiting_info_since
    elif stage == "escalate_parent":
        flags.add("escalated")
        data["escalated_to"] = parent_of(report.unit_code) or "coordinator"
    else:  # auto_close
        updates["status"] = "closed"
        public = True
    updated = change(report, at=min(now, stamp) if stamp else now, flags=sorted(flags), **updates)
    data.update(overdue_cleared(report, updated))
    event = TimelineEvent(
        report_id=report.id, seq=updated.version, type=stage if stage != "auto_close" else "closed",
        at=updated.updated_at, actor_role="system", public=public, status=updated.status, data=data,
    )
    return updated, event
