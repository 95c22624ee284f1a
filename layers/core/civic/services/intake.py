"""Citizen intake use cases: submit a report, read it, track it, list mine, the public feed.

Pure over its ports (ReportStore, UploadSigner): the Chalice routes only parse, call and shape.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any

from civic.clock import now_iso
from civic.domain import geo
from civic.domain.categories import all_categories, require_category
from civic.domain.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge
from civic.domain.moderation import FLAG_REASONS_DATA, REVIEW_PENDING, hide_reason, is_public
from civic.domain.ports import (
    AlreadyFlagged,
    ConcurrentChange,
    FeedQuery,
    FollowStore,
    ReportStore,
    TrackingCodeTaken,
    UploadSigner,
)
from civic.domain.questions import check_answers
from civic.domain.reports import (
    REPORT_ID,
    MediaItem,
    Report,
    TimelineEvent,
    change,
    new_report,
    new_tracking_code,
    normalise_tracking_code,
    owner_view,
    public_event,
    public_view,
    upload_key,
)
from civic.domain.sla_watch import overdue_cleared
from civic.domain.statuses import OPEN_STATUSES, STATUSES, WAITING_STATUSES
from civic.i18n import text

if TYPE_CHECKING:
    from civic.domain.inputs import FlagInput, RatingInput, Reply
    from civic.domain.submission import ReportSubmission
    from civic.domain.units import UnitTree
    from civic.settings import Settings

DEFAULT_PAGE = 20
MAX_PAGE = 100
_TRACKING_ATTEMPTS = 8


def parse_submission(body: Any, settings: Settings) -> ReportSubmission:
    """Validate a submission completely before anything is written."""
    from pydantic import ValidationError

    from civic.domain.submission import ReportSubmission, validation_error

    if not isinstance(body, dict):
        raise Invalid(
            "invalid_request",
            text("Nội dung phải là một đối tượng JSON", "The body must be a JSON object"),
        )
    try:
        submission = ReportSubmission.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from None
    category = require_category(submission.category)
    if submission.answers or category.questions:  # required questions must be answered, even when none are
        submission = submission.model_copy(update={"answers": check_answers(category.questions, submission.answers)})
    if not geo.inside(settings.service_bbox, submission.lat, submission.lon):
        outside = text("Vị trí nằm ngoài khu vực phục vụ", "The location is outside the service area")
        raise Invalid("outside_service_area", outside, {"lat": outside, "lon": outside})
    for index, item in enumerate(submission.media):
        limit = (
            settings.max_upload_bytes_video
            if item.content_type.startswith("video/")
            else settings.max_upload_bytes_photo
        )
        if item.size > limit:
            raise TooLarge(
                "media_too_large",
                text(
                    f"Tệp quá lớn (tối đa {limit // (1024 * 1024)} MB)",
                    f"File too large (at most {limit // (1024 * 1024)} MB)",
                ),
                {f"media.{index}.size": text("Quá dung lượng cho phép", "Over the size limit")},
            )
    return submission


def create_report(
    submission: ReportSubmission, *, citizen_id: str, store: ReportStore, settings: Settings, now: str | None = None,
    event_data: dict[str, Any] | None = None,
) -> Report:
    """Write a validated submission as a new report in `submitted`, with a fresh tracking code.

    `event_data` adds internal details to the `submitted` event (e.g. the Open311 client); keys outside
    PUBLIC_EVENT_DATA never reach the public timeline."""
    at = now or now_iso()
    for _ in range(_TRACKING_ATTEMPTS):
        report, event = new_report(
            submission, citizen_id=citizen_id, tracking_code=new_tracking_code(settings.tracking_prefix), now=at
        )
        if event_data:
            event.data.update({k: v for k, v in event_data.items() if k not in event.data})
        try:
            store.create(report, event)
            return report
        except TrackingCodeTaken:
            continue
    # 8 collisions in a row means the code space is nearly full: an operator must act.
    raise RuntimeError("could not draw a free tracking code")


def created(report: Report) -> dict[str, Any]:
    return {
        "id": report.id,
        "tracking_code": report.tracking_code,
        "status": report.status,
        "created_at": report.created_at,
    }


def upload_slots(
    report: Report, signer: UploadSigner, settings: Settings, role: str = "report"
) -> list[dict[str, Any]]:
    """A fresh presigned POST for each media item still waiting for its file.

    Signed on every answer, also when a retried submission replays the first one, so a client
    that retries after the URLs expired still gets URLs that work."""
    return [_slot(report, item, signer, settings) for item in report.media if item.status == "pending" and item.role == role]


def _slot(report: Report, item: MediaItem, signer: UploadSigner, settings: Settings) -> dict[str, Any]:
    limit = settings.max_upload_bytes(item.kind)
    # The declared size is what the citizen promised; allow it exactly, never more than the limit.
    post = signer.presign_post(
        upload_key(report.id, item.media_id), item.content_type, min(item.declared_size, limit),
        item.uploader or report.citizen_id,
    )
    return {"media_id": item.media_id, "url": post["url"], "fields": post["fields"]}


def upload_again(
    store: ReportStore, signer: UploadSigner, settings: Settings, report_id: str, media_id: str, citizen_id: str,
) -> dict[str, Any]:
    """A new presigned POST for one of the author's photos that has not arrived (the first upload was
    cut, or its form expired). Only the author, only while the item is still waiting for its file."""
    report = _load(store, report_id)
    if report.citizen_id != citizen_id:
        raise Forbidden(text("Chỉ người gửi phản ánh mới tải ảnh lên được", "Only the report's author can upload its photos"))
    item = next((m for m in report.media if m.media_id == media_id and m.role == "report"), None)
    if item is None:
        raise NotFound("Không tìm thấy tệp này trong phản ánh", "This file is not part of the report", code="media_not_found")
    if item.status != "pending":
        raise Conflict(
            "media_not_pending",
            text("Tệp này đã được nhận, không cần tải lên lại", "This file has already arrived; no need to upload it again")
            if item.status == "ready"
            else text("Tệp này đã bị từ chối; hãy gửi phản ánh mới với ảnh khác",
                      "This file was refused; send a new report with another photo"),
        )
    return _slot(report, item, signer, settings)


def submit(
    body: Any,
    *,
    citizen_id: str,
    store: ReportStore,
    signer: UploadSigner,
    settings: Settings,
    now: str | None = None,
) -> dict[str, Any]:
    """Validate, create, and answer with one presigned upload per declared media item."""
    report = create_report(parse_submission(body, settings), citizen_id=citizen_id, store=store, settings=settings, now=now)
    return {**created(report), "uploads": upload_slots(report, signer, settings)}


def _load(store: ReportStore, report_id: str) -> Report:
    report = store.get(report_id) if REPORT_ID.match(report_id or "") else None
    if report is None:
        raise NotFound("Không tìm thấy phản ánh", "Report not found")
    return report


# A unit's name in both languages ({"vi", "en"}), or None for an unknown code: public answers name units.
UnitNames = Callable[[str], "dict[str, str] | None"]


def unit_names(tree: UnitTree) -> UnitNames:
    """Names from the unit tree (cached per container), for the public views and timelines."""
    def name(code: str) -> dict[str, str] | None:
        unit = tree.get(code) if code else None
        return {"vi": unit.name_vi, "en": unit.name_en} if unit else None
    return name


# Event data holding a unit's code, and the key its name is added under.
_NAMED_UNITS = {"unit_code": "unit_name", "to_unit": "to_unit_name", "from_unit": "from_unit_name"}
# Raise when the views change shape, so clients holding an old tag get the new answer.
_VIEW_REVISION = "1"


@dataclass(frozen=True)
class Tagged:
    """An answer and its entity tag; `view` is None when the caller's tag is still current."""

    tag: str
    view: dict[str, Any] | None


def version_tag(report: Report, viewer: str, image_format: str, settings: Settings, names: UnitNames | None) -> str:
    """What the answer depends on, as a weak tag: the report's version (every change, moderation included,
    is a new version), who is looking (public or owner), the rendition format, and what shapes the view
    without being part of the report (its unit's current name, the category's privacy, the media host).
    Cheap: no read beyond the report itself."""
    import hashlib

    category = all_categories().get(report.category)
    parts = (
        _VIEW_REVISION, report.id, report.version, viewer, image_format, report.hidden, report.review,
        sorted((report.redacted or {}).items()), names(report.unit_code) if names and report.unit_code else None,
        bool(category and category.private_location), category.name.as_dict() if category else None,
        settings.media_base_url,
    )
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
    return f'W/"{report.version}-{digest}"'


def named(view: dict[str, Any], report: Report, names: UnitNames | None) -> dict[str, Any]:
    view["unit_name"] = names(report.unit_code) if names and report.unit_code else None
    return view


def named_event(event: dict[str, Any], names: UnitNames | None) -> dict[str, Any]:
    if names:
        data = event["data"]
        for key, name_key in _NAMED_UNITS.items():
            if isinstance(data.get(key), str) and (name := names(data[key])):
                data[name_key] = name
    return event


def view_report(
    store: ReportStore, report_id: str, viewer_id: str | None, settings: Settings, follows: FollowStore | None = None,
    image_format: str = "jpeg", names: UnitNames | None = None,
) -> dict[str, Any]:
    view = view_report_tagged(store, report_id, viewer_id, settings, follows, image_format, names).view
    assert view is not None  # no tag was given
    return view


def view_report_tagged(
    store: ReportStore, report_id: str, viewer_id: str | None, settings: Settings, follows: FollowStore | None = None,
    image_format: str = "jpeg", names: UnitNames | None = None, seen: Iterable[str] = (),
) -> Tagged:
    """The report as this viewer may see it, with its tag; no view (and no further read) when the tag is
    among `seen`. The follower count and the viewer's following are not in the tag."""
    report = _load(store, report_id)
    category = all_categories().get(report.category)
    owner = bool(viewer_id and viewer_id == report.citizen_id)
    if not owner and not is_public(report, category):  # hidden, or not yet published: as if it did not exist
        raise NotFound("Không tìm thấy phản ánh", "Report not found")
    tag = version_tag(report, "owner" if owner else "public", image_format, settings, names)
    if tag in seen:
        return Tagged(tag, None)
    if owner:
        view = owner_view(report, category, settings.media_base_url, image_format)
    else:
        view = public_view(report, category, settings.media_base_url, image_format)
    named(view, report, names)
    if follows is not None:
        view["followers"] = follows.count(report.id)
        if viewer_id and viewer_id != report.citizen_id:
            view["following"] = follows.is_following(report.id, viewer_id)
    return Tagged(tag, view)


def set_following(store: ReportStore, follows: FollowStore, report_id: str, user_id: str, on: bool) -> dict[str, Any]:
    """Follow (or stop following) someone else's report, to be notified like its author."""
    report = _load(store, report_id)
    if report.citizen_id == user_id:
        raise Conflict("own_report", text("Bạn là người gửi phản ánh này", "You are the author of this report"))
    if on and not is_public(report, all_categories().get(report.category)):
        raise NotFound("Không tìm thấy phản ánh", "Report not found")  # hidden, or not yet published
    if on:
        follows.follow(report.id, user_id, now_iso())
    else:
        follows.unfollow(report.id, user_id)
    return {"report_id": report.id, "following": on, "followers": follows.count(report.id)}


def track(store: ReportStore, code: str, settings: Settings, image_format: str = "jpeg",
          names: UnitNames | None = None) -> dict[str, Any]:
    view = track_tagged(store, code, settings, image_format, names).view
    assert view is not None  # no tag was given
    return view


def track_tagged(store: ReportStore, code: str, settings: Settings, image_format: str = "jpeg",
                 names: UnitNames | None = None, seen: Iterable[str] = ()) -> Tagged:
    """The public view and its public timeline by tracking code, with its tag; when the tag is among
    `seen` nothing more is read (the timeline included) and no view is built."""
    report = store.get_by_tracking(normalise_tracking_code(code or ""))
    if report is None:
        raise NotFound("Không tìm thấy mã theo dõi", "Tracking code not found")
    category = all_categories().get(report.category)
    if not is_public(report, category):
        raise NotFound("Phản ánh này chưa được công khai hoặc đã bị ẩn; người gửi xem được trong mục Phản ánh của tôi",
                       "This report is not public (not yet, or hidden); its author sees it under My reports",
                       code="not_public")
    tag = version_tag(report, "public", image_format, settings, names)
    if tag in seen:
        return Tagged(tag, None)
    view = named(public_view(report, category, settings.media_base_url, image_format), report, names)
    view["timeline"] = [named_event(public_event(e), names) for e in store.timeline(report.id) if e.public]
    return Tagged(tag, view)


# ---------------------------------------------------------------- listings


def encode_cursor(created_key: str) -> str:
    return base64.urlsafe_b64encode(created_key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    if len(cursor) > 256:  # a created_key is ~70 bytes; DynamoDB refuses sort keys over 1 KB
        cursor = ""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    if "#" not in raw:
        raise Invalid(
            "invalid_cursor",
            text("Con trỏ phân trang không hợp lệ", "Invalid paging cursor"),
            {"cursor": text("Dùng giá trị next_cursor của trang trước", "Use the previous page's next_cursor")},
        )
    return raw


def _limit(params: Mapping[str, str]) -> int:
    raw = params.get("limit")
    if raw is None:
        return DEFAULT_PAGE
    if not re.fullmatch(r"[0-9]{1,3}", raw) or not 1 <= int(raw) <= MAX_PAGE:
        raise Invalid(
            "invalid_limit",
            text("Giới hạn không hợp lệ", "Invalid limit"),
            {"limit": text(f"Số nguyên từ 1 đến {MAX_PAGE}", f"An integer from 1 to {MAX_PAGE}")},
        )
    return int(raw)


def _page(
    reports: list[Report], limit: int, view: Callable[[Report], dict[str, Any]],
    shown: Callable[[Report], bool] | None = None,
) -> dict[str, Any]:
    """A page of `limit` reports read; those `shown` rejects (hidden ones) leave a shorter page."""
    return {
        "items": [view(r) for r in reports if shown is None or shown(r)],
        "next_cursor": encode_cursor(reports[-1].created_key) if len(reports) == limit else None,
    }


def my_reports(
    store: ReportStore, citizen_id: str, params: Mapping[str, str], settings: Settings, image_format: str = "jpeg"
) -> dict[str, Any]:
    limit = _limit(params)
    reports = store.by_citizen(citizen_id, limit, decode_cursor(params.get("cursor")))
    cats = all_categories()
    return _page(reports, limit, lambda r: owner_view(r, cats.get(r.category), settings.media_base_url, image_format))


_FEED_PARAMS = {"bbox", "category", "status", "limit", "cursor"}


def feed(store: ReportStore, params: Mapping[str, str], settings: Settings, image_format: str = "jpeg") -> dict[str, Any]:
    unknown = set(params) - _FEED_PARAMS
    if unknown:
        raise Invalid(
            "unknown_parameter",
            text("Tham số không được hỗ trợ", "Unknown query parameter"),
            {name: text("Không hỗ trợ", "Not supported") for name in sorted(unknown)},
        )
    limit = _limit(params)
    if params.get("bbox"):
        try:
            bbox = geo.parse_bbox(params["bbox"])
        except ValueError as exc:
            raise Invalid(
                "invalid_bbox",
                text("Vùng bản đồ không hợp lệ", "Invalid bbox"),
                {"bbox": text("Dạng nam,tây,bắc,đông (độ)", str(exc))},
            ) from None
    else:
        bbox = settings.feed_default_bbox or settings.service_bbox
    if geo.cell_count(bbox) > geo.MAX_FEED_CELLS:
        raise Invalid(
            "bbox_too_large",
            text("Vùng bản đồ quá lớn, hãy phóng to", "The bbox is too large; zoom in"),
            {"bbox": text("Thu nhỏ vùng tìm kiếm", f"At most {geo.MAX_FEED_CELLS} cells of 0.25°")},
        )
    cells = geo.cells_covering(bbox)
    category = params.get("category") or None
    if category:
        require_category(category)
    status = params.get("status") or None
    if status and status not in STATUSES:
        raise Invalid(
            "unknown_status",
            text("Trạng thái không tồn tại", "Unknown status"),
            {"status": text(", ".join(STATUSES), ", ".join(STATUSES))},
        )
    query = FeedQuery(
        cells=cells,
        bbox=bbox,
        limit=limit,
        before_key=decode_cursor(params.get("cursor")),
        category=category,
        status=status,
    )
    cats = all_categories()
    return _page(
        store.feed(query), limit,
        lambda r: public_view(r, cats.get(r.category), settings.media_base_url, image_format),
        lambda r: is_public(r, cats.get(r.category)),
    )


def categories(lang: str) -> dict[str, Any]:
    return {"items": [c.public(lang) for c in all_categories().values()]}


def reply(
    store: ReportStore, report_id: str, citizen_id: str, body: Reply, now: str,
    extend: Callable[[str, str, str], str] | None = None,
) -> dict[str, Any]:
    """The author answers the unit's request for information; the deadline clock runs again,
    pushed back by the time it waited (`extend(due, paused_from, resumed)`)."""
    report = _load(store, report_id)
    if report.citizen_id != citizen_id:
        raise NotFound("Không tìm thấy phản ánh", "Report not found")
    if not report.awaiting_info_since or report.status not in OPEN_STATUSES:
        raise Conflict("no_question", text("Đơn vị không yêu cầu bổ sung thông tin", "The unit asked nothing"))
    answer = body.text
    # The clock was paused: push back the deadline in effect (acceptance while waiting to be
    # accepted, resolution afterwards); its warnings start over.
    field = "accept_due_at" if report.status in WAITING_STATUSES else "due_at"
    updates: dict[str, Any] = {"awaiting_info_since": None, "info_question": None,
                     "flags": [f for f in report.flags if f not in ("due_soon", "overdue", "escalated")]}
    if extend and getattr(report, field):
        updates[field] = extend(getattr(report, field), report.awaiting_info_since, now)
    updated = change(report, at=now, **updates)
    # The reply may carry personal details: staff see it, the public timeline does not.
    event = TimelineEvent(report.id, updated.version, "citizen_reply", updated.updated_at, "citizen", citizen_id,
                          public=False, status=updated.status,
                          data={"text": answer, field: getattr(updated, field), **overdue_cleared(report, updated)})
    try:
        store.save(updated, report.version, event)
    except ConcurrentChange:
        raise Conflict("version_conflict", text("Phản ánh vừa thay đổi; hãy thử lại", "The report changed; retry")) from None
    return {"id": report.id, "status": updated.status, "accept_due_at": updated.accept_due_at, "due_at": updated.due_at}


def partner_update(store: ReportStore, report_id: str, client_id: str, update_id: str, text_: str, now: str,
                   media_url: str | None = None) -> str:
    """A partner system's comment on a report (Open311 POST servicerequestupdates): an internal timeline
    event the unit's staff see and are told of; the same client's update_id again is the same update.
    Returns the update's id on our side (the event's id)."""
    for _ in range(_FLAG_ATTEMPTS):
        report = _load(store, report_id)
        for event in store.timeline(report.id):
            if event.type == "partner_update" and event.data.get("open311_client") == client_id \
                    and event.data.get("update_id") == update_id:
                return event.event_id
        updated = change(report, at=now)
        data: dict[str, Any] = {"text": text_, "open311_client": client_id, "update_id": update_id,
                                "unit_code": report.unit_code, "category": report.category}
        if media_url:
            data["media_url"] = media_url  # kept for staff, never fetched
        event = TimelineEvent(report.id, updated.version, "partner_update", updated.updated_at, "partner", None,
                              public=False, status=updated.status, data=data)
        try:
            store.save(updated, report.version, event)
        except ConcurrentChange:
            continue  # changed meanwhile (or the same update twice at once): look again
        return event.event_id
    raise Conflict("version_conflict", text("Phản ánh vừa thay đổi; hãy thử lại", "The report changed; retry"))


_FLAG_ATTEMPTS = 5


def flag(store: ReportStore, report_id: str, citizen_id: str, body: FlagInput, now: str, threshold: int) -> dict[str, Any]:
    """A citizen flags a public report as abusive (one flag per account). The first flag puts it in the
    moderation queue; flags from `threshold` distinct accounts hide it until a moderator decides."""
    reason, note = body.reason, body.text
    for _ in range(_FLAG_ATTEMPTS):
        report = _load(store, report_id)
        if not is_public(report, all_categories().get(report.category)):
            raise NotFound("Không tìm thấy phản ánh", "Report not found")
        if report.citizen_id == citizen_id:
            raise Conflict("own_report", text("Bạn là người gửi phản ánh này", "You are the author of this report"))
        count = report.flag_count + 1
        hide = count >= threshold
        updated = change(report, at=now, flag_count=count, review=REVIEW_PENDING,
                         **({"hidden": "flags"} if hide else {}))
        data: dict[str, Any] = {"reason": FLAG_REASONS_DATA[reason], "flag_count": count,
                                "unit_code": report.unit_code, "category": report.category}
        if note:
            data["note"] = note.strip()
        if hide:  # the author is told why (data.reason is what the template reads)
            data.update(flag_reason=data["reason"], reason=hide_reason("flags"), hidden="flags")
        # Internal: who flagged stays with the moderators, never on the public timeline.
        event = TimelineEvent(report.id, updated.version, "flag_hidden" if hide else "flag", updated.updated_at,
                              "citizen", citizen_id, public=False, status=updated.status, data=data)
        try:
            store.flag(updated, report.version, event, citizen_id, reason)
        except AlreadyFlagged:
            raise Conflict("already_flagged", text("Bạn đã báo cáo phản ánh này", "You already flagged this report")) from None
        except ConcurrentChange:
            continue  # someone else changed or flagged it meanwhile: count again on the new version
        return {"report_id": report.id, "flagged": True, "reason": reason}
    raise Conflict("version_conflict", text("Phản ánh vừa thay đổi; hãy thử lại", "The report changed; retry"))


RATING_WINDOW_DAYS = 7


def rate(store: ReportStore, report_id: str, citizen_id: str, body: RatingInput, now: str) -> dict[str, Any]:
    """The author rates the published result: satisfied or not, 1–5 stars, an optional comment.

    Rating closes the report; it can be changed while the rating window (7 days from the result)
    is open. An unsatisfied rating flags the report for the unit leader, who may reopen it."""
    report = _load(store, report_id)
    if report.citizen_id != citizen_id:
        raise NotFound("Không tìm thấy phản ánh", "Report not found")
    satisfied, stars, comment = body.satisfied, body.stars, body.comment
    window_open = report.resolved_at is not None and now <= _plus_days(report.resolved_at, RATING_WINDOW_DAYS)
    if not (report.status == "resolved" or (report.status == "closed" and report.rating and window_open)):
        raise Conflict("not_ratable", text("Chỉ đánh giá kết quả đã công bố, trong 7 ngày",
                                                "Only a published result can be rated, within 7 days"))
    rating = {"satisfied": satisfied, "stars": stars, "at": now}
    flags = set(report.flags) - {"unsatisfied"} | (set() if satisfied else {"unsatisfied"})
    updated = change(report, at=now, status="closed", rating=rating, flags=sorted(flags))
    event = TimelineEvent(report.id, updated.version, "rating_changed" if report.rating else "rated", updated.updated_at,
                          "citizen", citizen_id, public=True, status="closed",
                          data={"satisfied": satisfied, "stars": stars, **({"comment": comment} if comment else {}),
                                # for statistics: where it counts, and the rating it replaces (taken back)
                                "unit_code": report.unit_code, "category": report.category,
                                **({"previous": dict(report.rating)} if report.rating else {})})
    try:
        store.save(updated, report.version, event)
    except ConcurrentChange:
        raise Conflict("version_conflict", text("Phản ánh vừa thay đổi; hãy thử lại", "The report changed; retry")) from None
    return {"id": report.id, "status": "closed", "rating": {"satisfied": satisfied, "stars": stars}}


def _plus_days(iso: str, days: int) -> str:
    from datetime import datetime, timedelta

    from civic.clock import iso_utc

    return iso_utc(datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC) + timedelta(days=days))
