"""The interfaces the domain needs from storage and uploads (ports); adapters live in civic.storage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from civic.domain.quotas import Counter
from civic.domain.reports import Report, TimelineEvent


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


class UploadSigner(Protocol):
    def presign_post(self, key: str, content_type: str, max_size: int, owner: str) -> dict[str, Any]:
        """{"url", "fields"} for a browser/mobile POST of exactly this key, type and owner, at most this size."""


class QuotaCounters(Protocol):
    def take(self, counters: Sequence[Counter]) -> list[Counter]:
        """Count one use against every counter, all or none: [] when counted; otherwise nothing is
        counted and the answer is the counters already at their limit."""
