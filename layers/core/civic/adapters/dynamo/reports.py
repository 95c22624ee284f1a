"""The ReportStore on DynamoDB: every change is one TransactWriteItems of the report row and its
timeline event, guarded by the version the caller read."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from civic.adapters.dynamo.models import (
    FlagModel,
    MediaMap,
    PhotoHashModel,
    ReportModel,
    SentModel,
    TimelineModel,
    TrackingCodeModel,
)
from civic.clock import local_day
from civic.domain.moderation import REVIEW_PENDING
from civic.domain.ports import AlreadyFlagged, ConcurrentChange, FeedQuery, TrackingCodeTaken, check_change
from civic.domain.reports import TRIAGE_QUEUE, MediaItem, Report, TimelineEvent

TRACKING_PREFIX = "tracking#"
FLAG_PREFIX = "flag#"
SENT_PREFIX = "sent#"
# A feed page evaluates at most this many items per cell (matching or not), so a rare filter
# cannot turn one request into a scan of a whole city's history.
_MAX_SCAN_PER_CELL = 1000


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the domain wants int/float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _raw_map(attr: Any) -> dict:
    if attr is None:
        return {}
    if hasattr(attr, "as_dict"):
        return _plain(attr.as_dict())
    return _plain(dict(attr))


def _checkpoint(report: Report) -> dict:
    from civic.domain.sla_watch import checkpoint

    found = checkpoint(report)
    if found is None:
        return {"sla_day": None, "sla_next_at": None, "sla_stage": None}
    stage, at = found
    # Never in the past: a checkpoint that passed while the report sat still (a reopened report's
    # old deadline) lands in today's partition, where the next run reads it.
    at = max(at, report.updated_at)
    return {"sla_day": at[:10], "sla_next_at": at, "sla_stage": stage}


def report_to_model(report: Report) -> ReportModel:
    pub_lat, pub_lon = report.published_location
    return ReportModel(
        id=report.id,
        tracking_code=report.tracking_code,
        status=report.status,
        category=report.category,
        description=report.description,
        lat=report.lat,
        lon=report.lon,
        address=report.address,
        anonymous=report.anonymous,
        citizen_id=report.citizen_id,
        priority=report.priority,
        unit_code=report.unit_code,
        due_at=report.due_at,
        accept_due_at=report.accept_due_at,
        duplicate_of=report.duplicate_of,
        routed_at=report.routed_at,
        accepted_at=report.accepted_at,
        resolved_at=report.resolved_at,
        assignee=report.assignee,
        answer=report.answer,
        evidence=report.evidence or None,
        awaiting_info_since=report.awaiting_info_since,
        info_question=report.info_question,
        resolved_by=report.resolved_by,
        rating=report.rating,
        created_at=report.created_at,
        updated_at=report.updated_at,
        version=report.version,
        media=[
            MediaMap(
                media_id=m.media_id,
                kind=m.kind,
                content_type=m.content_type,
                declared_size=m.declared_size,
                status=m.status,
                reason=m.reason,
                renditions=m.renditions or None,
                formats=m.formats or None,
                gps_distance_m=m.gps_distance_m,
                taken_at=m.taken_at,
                sha256=m.sha256,
                reused_from=m.reused_from,
                role=m.role,
                uploader=m.uploader,
                hidden=m.hidden or None,
                pages=m.pages,
                declared_lat=m.declared_lat,
                declared_lon=m.declared_lon,
            )
            for m in report.media
        ],
        flags=list(report.flags),
        hidden=report.hidden,
        redacted=report.redacted,
        flag_count=report.flag_count or None,
        review=report.review,
        transferred_from=list(report.transferred_from) or None,
        pub_lat=pub_lat,
        pub_lon=pub_lon,
        cell=report.cell,
        created_key=report.created_key,
        queue=report.unit_code or TRIAGE_QUEUE,
        status_created=f"{report.status}#{report.created_key}",
        created_day=local_day(report.created_at),
        **_checkpoint(report),
    )


def model_to_report(model: ReportModel) -> Report:
    return Report(
        id=model.id,
        tracking_code=model.tracking_code,
        status=model.status,
        category=model.category,
        description=model.description,
        lat=float(model.lat),
        lon=float(model.lon),
        address=model.address,
        anonymous=bool(model.anonymous),
        citizen_id=model.citizen_id,
        priority=model.priority,
        unit_code=model.unit_code,
        due_at=model.due_at,
        accept_due_at=model.accept_due_at,
        duplicate_of=model.duplicate_of,
        routed_at=model.routed_at,
        accepted_at=model.accepted_at,
        resolved_at=model.resolved_at,
        assignee=model.assignee,
        answer=model.answer,
        evidence=list(model.evidence or []),
        awaiting_info_since=model.awaiting_info_since,
        info_question=model.info_question,
        resolved_by=model.resolved_by,
        rating=_raw_map(model.rating) or None,
        created_at=model.created_at,
        updated_at=model.updated_at,
        version=int(model.version),
        media=[
            MediaItem(
                media_id=m.media_id,
                kind=m.kind,
                content_type=m.content_type,
                declared_size=int(m.declared_size),
                status=m.status,
                reason=_raw_map(m.reason) or None,
                renditions=_raw_map(m.renditions),
                formats=list(m.formats or []),
                gps_distance_m=int(m.gps_distance_m) if m.gps_distance_m is not None else None,
                taken_at=m.taken_at,
                sha256=m.sha256,
                reused_from=m.reused_from,
                role=m.role or "report",
                uploader=m.uploader,
                hidden=bool(m.hidden),
                pages=int(m.pages) if m.pages is not None else None,
                declared_lat=float(m.declared_lat) if m.declared_lat is not None else None,
                declared_lon=float(m.declared_lon) if m.declared_lon is not None else None,
            )
            for m in (model.media or [])
        ],
        flags=list(model.flags or []),
        hidden=model.hidden,
        redacted=_raw_map(model.redacted) or None,
        flag_count=int(model.flag_count or 0),
        review=model.review,
        transferred_from=list(model.transferred_from or []),
    )


def event_to_model(event: TimelineEvent) -> TimelineModel:
    return TimelineModel(
        report_id=event.report_id,
        seq=event.seq,
        type=event.type,
        at=event.at,
        actor_role=event.actor_role,
        actor_id=event.actor_id,
        public=event.public,
        status=event.status,
        data=event.data,
    )


def model_to_event(model: TimelineModel) -> TimelineEvent:
    return TimelineEvent(
        report_id=model.report_id,
        seq=int(model.seq),
        type=model.type,
        at=model.at,
        actor_role=model.actor_role,
        actor_id=model.actor_id,
        public=bool(model.public),
        status=model.status,
        data=_raw_map(model.data),
    )


def event_from_image(image: dict[str, Any]) -> TimelineEvent:
    """A Timeline stream NEW_IMAGE (already deserialised by Powertools) as a TimelineEvent."""
    image = _plain(image)
    return TimelineEvent(
        report_id=image["report_id"], seq=int(image["seq"]), type=image["type"], at=image["at"],
        actor_role=image.get("actor_role", "system"), actor_id=image.get("actor_id"),
        public=bool(image.get("public", True)), status=image.get("status"), data=image.get("data") or {},
    )


def _sent_row(event: TimelineEvent) -> SentModel | None:
    sender = event.data.get("from_unit") if event.type == "transfer" else None
    if not isinstance(sender, str) or not sender:
        return None
    return SentModel(id=f"{SENT_PREFIX}{sender}#{event.report_id}", report_id=event.report_id,
                     queue=f"{SENT_PREFIX}{sender}", status_created=f"{event.at}#{event.report_id}")


def _reasons(exc: TransactWriteError) -> list[str | None]:
    return [getattr(r, "code", None) if r else None for r in (exc.cancellation_reasons or [])]


class DynamoReportStore:
    def __init__(self, connection: Connection | None = None) -> None:
        self._connection = connection or ReportModel._get_connection().connection

    def _transact(self, report: Report, report_condition: Any, event: TimelineEvent,
                  guard: TrackingCodeModel | FlagModel | None = None, guard_taken: Exception | None = None) -> None:
        """One change as one transaction: a guard row if any (written only if absent), the report row
        under its condition, and its event. A guard already there raises `guard_taken`; any other
        failed condition or conflict is a concurrent change."""
        try:
            with TransactWrite(connection=self._connection) as tx:
                if guard is not None:
                    tx.save(guard, condition=type(guard).id.does_not_exist())
                tx.save(report_to_model(report), condition=report_condition)
                tx.save(event_to_model(event), condition=TimelineModel.seq.does_not_exist())
                sent = _sent_row(event)
                if sent is not None:  # the sender's "transferred by us" index row, in the same change
                    tx.save(sent)
        except TransactWriteError as exc:
            reasons = _reasons(exc)
            if guard_taken is not None and reasons and reasons[0] == "ConditionalCheckFailed":
                raise guard_taken from exc
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                raise ConcurrentChange(report.id) from exc
            raise

    def create(self, report: Report, event: TimelineEvent) -> None:
        guard = TrackingCodeModel(id=TRACKING_PREFIX + report.tracking_code, report_id=report.id)
        self._transact(report, ReportModel.id.does_not_exist(), event, guard, TrackingCodeTaken(report.tracking_code))

    def save(self, report: Report, expected_version: int, event: TimelineEvent) -> None:
        check_change(report, expected_version, event)
        self._transact(report, ReportModel.version == expected_version, event)

    def flag(self, report: Report, expected_version: int, event: TimelineEvent, flagger_id: str, reason: str) -> None:
        check_change(report, expected_version, event)
        guard = FlagModel(id=f"{FLAG_PREFIX}{report.id}#{flagger_id}", reason=reason, at=event.at)
        self._transact(report, ReportModel.version == expected_version, event, guard, AlreadyFlagged(report.id))

    def review_queue(self, limit: int) -> list[Report]:
        rows = ReportModel.by_review.query(REVIEW_PENDING, scan_index_forward=False, limit=limit)
        return [model_to_report(m) for m in rows]

    def transferred_by(self, units: list[str]) -> list[Report]:
        """The reports these units transferred away (their SentModel rows in ByUnitStatus), read afresh."""
        ids = list(dict.fromkeys(row.report_id for unit in units
                                 for row in SentModel.by_sender.query(f"{SENT_PREFIX}{unit}")))
        return [model_to_report(m) for m in ReportModel.batch_get(ids)] if ids else []

    def get(self, report_id: str) -> Report | None:
        if report_id.startswith((TRACKING_PREFIX, FLAG_PREFIX, SENT_PREFIX)):
            return None
        try:
            return model_to_report(ReportModel.get(report_id, consistent_read=True))
        except DoesNotExist:
            return None

    def get_by_tracking(self, code: str) -> Report | None:
        try:
            guard = TrackingCodeModel.get(TRACKING_PREFIX + code, consistent_read=True)
        except DoesNotExist:
            return None
        return self.get(guard.report_id)

    def timeline(self, report_id: str) -> list[TimelineEvent]:
        return [
            model_to_event(m)
            for m in TimelineModel.query(report_id, consistent_read=True, scan_index_forward=True)
        ]

    def by_citizen(self, citizen_id: str, limit: int, before_key: str | None) -> list[Report]:
        condition = ReportModel.created_key < before_key if before_key else None
        rows = ReportModel.by_citizen.query(
            citizen_id, condition, scan_index_forward=False, limit=limit
        )
        return [model_to_report(m) for m in rows]

    def due(self, now: str, days_back: int = 30) -> list[Report]:
        """Reports whose SLA checkpoint has passed: one small query per day partition (ByDue)."""
        from datetime import datetime, timedelta

        today = datetime.fromisoformat(now.replace("Z", "+00:00")).date()
        out = []
        for back in range(days_back, -1, -1):
            day = (today - timedelta(days=back)).isoformat()
            rows = ReportModel.by_due.query(day, ReportModel.sla_next_at <= now)
            out.extend(model_to_report(m) for m in rows)
        return out

    def by_units(self, units: list[str], statuses: list[str]) -> list[Report]:
        """Reports in these units' queues with these statuses (ByUnitStatus: one query per pair)."""
        out = []
        for unit in units:
            for status in statuses:
                rows = ReportModel.by_unit_status.query(unit, ReportModel.status_created.startswith(f"{status}#"))
                out.extend(model_to_report(m) for m in rows)
        return out

    def by_day(self, day: str, page_size: int | None = None) -> Iterator[Report]:
        """The reports submitted on this local day (ByDay), oldest first, read page by page (1 MB
        pages unless `page_size` says fewer items)."""
        for model in ReportModel.by_day.query(day, scan_index_forward=True, page_size=page_size):
            yield model_to_report(model)

    def feed(self, query: FeedQuery) -> list[Report]:
        streams = [self._cell_stream(cell, query) for cell in query.cells]
        merged = heapq.merge(*streams, key=lambda r: r.created_key, reverse=True)
        out: list[Report] = []
        for report in merged:
            out.append(report)
            if len(out) >= query.limit:
                break
        return out

    def _cell_stream(self, cell: str, query: FeedQuery) -> Iterator[Report]:
        """Newest-first reports of one cell that pass the filters; lazily paged."""
        south, west, north, east = query.bbox
        condition = ReportModel.created_key < query.before_key if query.before_key else None
        filters = ReportModel.pub_lat.between(south, north) & ReportModel.pub_lon.between(west, east)
        if query.category:
            filters &= ReportModel.category == query.category
        if query.status:
            filters &= ReportModel.status == query.status
        pages = ReportModel.by_cell.query(
            cell,
            condition,
            filter_condition=filters,
            scan_index_forward=False,
            page_size=min(max(query.limit, 25), 100),
        ).page_iter
        for page in pages:  # raw pages, so items evaluated by the filter count too
            for item in page.get("Items", []):
                yield model_to_report(ReportModel.from_raw_data(item))
            if pages.total_scanned_count >= _MAX_SCAN_PER_CELL:
                return


def condition_failed(exc: Exception) -> bool:
    """A conditional write lost (the expected case), as opposed to throttling or an outage."""
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class DynamoPhotoRegistry:
    """Photo hashes as guard rows in the Reports table; a conditional put makes the first one win."""

    def claim(self, sha256: str, report_id: str) -> str | None:
        key = f"photo#{sha256}"
        try:
            PhotoHashModel(id=key, report_id=report_id).save(condition=PhotoHashModel.id.does_not_exist())
            return None
        except PutError as exc:
            if not condition_failed(exc):
                raise
            first = PhotoHashModel.get(key, consistent_read=True).report_id
            return first if first != report_id else None
