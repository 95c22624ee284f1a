"""In-memory fakes of the storage ports, for unit tests of the domain (same semantics, no AWS)."""

from __future__ import annotations

import copy
import threading

from civic.domain import geo
from civic.domain.ports import AlreadyFlagged, ConcurrentChange, FeedQuery, TrackingCodeTaken, check_change
from civic.domain.reports import TRIAGE_QUEUE, Report, TimelineEvent


class InMemoryReportStore:
    def __init__(self) -> None:
        self.reports: dict[str, Report] = {}
        self.codes: dict[str, str] = {}
        self.events: dict[str, list[TimelineEvent]] = {}
        self.flags: dict[tuple[str, str], str] = {}  # (report id, account) -> reason
        self._lock = threading.RLock()

    def create(self, report: Report, event: TimelineEvent) -> None:
        with self._lock:
            if report.tracking_code in self.codes:
                raise TrackingCodeTaken(report.tracking_code)
            if report.id in self.reports:
                raise ConcurrentChange(report.id)
            self.codes[report.tracking_code] = report.id
            self.reports[report.id] = copy.deepcopy(report)
            self.events[report.id] = [copy.deepcopy(event)]

    def save(self, report: Report, expected_version: int, event: TimelineEvent) -> None:
        check_change(report, expected_version, event)
        with self._lock:
            current = self.reports.get(report.id)
            if current is None or current.version != expected_version:
                raise ConcurrentChange(report.id)
            if any(e.seq == event.seq for e in self.events[report.id]):
                raise ConcurrentChange(report.id)
            self.reports[report.id] = copy.deepcopy(report)
            self.events[report.id].append(copy.deepcopy(event))

    def flag(self, report: Report, expected_version: int, event: TimelineEvent, flagger_id: str, reason: str) -> None:
        with self._lock:
            if (report.id, flagger_id) in self.flags:
                raise AlreadyFlagged(report.id)
            self.save(report, expected_version, event)
            self.flags[(report.id, flagger_id)] = reason

    def review_queue(self, limit: int) -> list[Report]:
        waiting = sorted((r for r in self.reports.values() if r.review), key=lambda r: r.created_key, reverse=True)
        return [copy.deepcopy(r) for r in waiting[:limit]]

    def transferred_by(self, units: list[str]) -> list[Report]:
        return [copy.deepcopy(r) for r in self.reports.values() if set(r.transferred_from) & set(units)]

    def get(self, report_id: str) -> Report | None:
        found = self.reports.get(report_id)
        return copy.deepcopy(found) if found else None

    def get_by_tracking(self, code: str) -> Report | None:
        report_id = self.codes.get(code)
        return self.get(report_id) if report_id else None

    def timeline(self, report_id: str) -> list[TimelineEvent]:
        return sorted(copy.deepcopy(self.events.get(report_id, [])), key=lambda e: e.seq)

    def by_citizen(self, citizen_id: str, limit: int, before_key: str | None) -> list[Report]:
        mine = [r for r in self.reports.values() if r.citizen_id == citizen_id]
        return self._page(mine, limit, before_key)

    def by_day(self, day: str, page_size: int | None = None) -> list[Report]:
        from civic.clock import local_day

        found = [r for r in self.reports.values() if local_day(r.created_at) == day]
        return [copy.deepcopy(r) for r in sorted(found, key=lambda r: r.created_key)]

    def due(self, now: str, days_back: int = 30) -> list[Report]:
        from civic.domain.sla_watch import checkpoint

        return [copy.deepcopy(r) for r in self.reports.values() if (c := checkpoint(r)) and c[1] <= now]

    def by_units(self, units: list[str], statuses: list[str]) -> list[Report]:
        queues = set(units)
        return [
            copy.deepcopy(r) for r in self.reports.values()
            if (r.unit_code or TRIAGE_QUEUE) in queues and r.status in statuses
        ]

    def feed(self, query: FeedQuery) -> list[Report]:
        cells = set(query.cells)
        hits = [
            r
            for r in self.reports.values()
            if r.cell in cells
            and geo.inside(query.bbox, *r.published_location)
            and (query.category is None or r.category == query.category)
            and (query.status is None or r.status == query.status)
        ]
        return self._page(hits, query.limit, query.before_key)

    @staticmethod
    def _page(reports: list[Report], limit: int, before_key: str | None) -> list[Report]:
        ordered = sorted(reports, key=lambda r: r.created_key, reverse=True)
        if before_key:
            ordered = [r for r in ordered if r.created_key < before_key]
        return [copy.deepcopy(r) for r in ordered[:limit]]


class FakeUploadSigner:
    def __init__(self, base_url: str = "https://uploads.example.test") -> None:
        self.base_url = base_url
        self.signed: list[tuple[str, str, int]] = []

    def presign_post(self, key: str, content_type: str, max_size: int, owner: str) -> dict:
        self.signed.append((key, content_type, max_size))
        return {"url": self.base_url, "fields": {"key": key, "Content-Type": content_type, "x-amz-meta-owner": owner}}


class InMemoryPhotoRegistry:
    def __init__(self) -> None:
        self.first: dict[str, str] = {}

    def claim(self, sha256: str, report_id: str) -> str | None:
        first = self.first.setdefault(sha256, report_id)
        return first if first != report_id else None


class InMemoryOpenDataStore:
    """The open-data files of the media bucket (S3OpenDataStore), as a dict; counts the writes."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str, str]] = {}  # key -> (data, content type, sha256)
        self.writes: list[str] = []

    def read(self, key: str) -> bytes | None:
        found = self.objects.get(key)
        return found[0] if found else None

    def sha256(self, key: str) -> str | None:
        found = self.objects.get(key)
        return found[2] if found else None

    def write(self, key: str, data: bytes, content_type: str, sha256: str) -> None:
        self.objects[key] = (data, content_type, sha256)
        self.writes.append(key)


class InMemoryQuotaCounters:
    """The QuotaCounters port: all counters counted or none, under one lock (as DynamoDB's transaction)."""

    def __init__(self) -> None:
        self.uses: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, counters):
        with self._lock:
            full = [c for c in counters if self.uses.get(c.key, 0) >= c.limit]
            if not full:
                for c in counters:
                    self.uses[c.key] = self.uses.get(c.key, 0) + 1
            return full
