"""GET requests: reports as service requests (the published location and text only, never who reported
them), the listing's query, FixMyStreet's detailed statuses, and mySociety's updates extension
(`extensions=true` adds Chicago-style `extended_attributes`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.open311.catalog import notice
from chalicelib.open311.wire import bad, parse_w3c, w3c
from civic.clock import LOCAL_TZ, iso_utc
from civic.domain import statuses
from civic.domain.categories import all_categories
from civic.domain.moderation import is_public, public_media, public_text
from civic.domain.reports import REPORT_ID, Report, TimelineEvent
from civic.i18n import text

DEFAULT_WINDOW_DAYS = 90
MAX_WINDOW_DAYS = 90
MAX_ROWS = 1000
MAX_IDS = 100  # service_request_id values in one GET requests
# Statuses of our lifecycle that Open311 calls closed (DESIGN.md); the others are open.
CLOSED_STATUSES = statuses.OPEN311_CLOSED
# FixMyStreet's extended statuses for a refusal, by our refusal reason.
REFUSAL_STATUS = {
    "duplicate": "DUPLICATE",
    "not_competent": "NOT_COUNCILS_RESPONSIBILITY",
    "not_public_matter": "NO_FURTHER_ACTION",
    "incomplete": "NO_FURTHER_ACTION",
    "inappropriate": "NO_FURTHER_ACTION",
}
DETAILED_STATUSES = (
    "OPEN", "INVESTIGATING", "ACTION_SCHEDULED", "IN_PROGRESS", "INTERNAL_REFERRAL", "FIXED", "CLOSED",
    "DUPLICATE", "NOT_COUNCILS_RESPONSIBILITY", "NO_FURTHER_ACTION",
)

# ---------------------------------------------------------------- service requests (GET)


def open_or_closed(status: str) -> str:
    return "closed" if status in CLOSED_STATUSES else "open"


def _refusal_code(events: Iterable[TimelineEvent]) -> str | None:
    for event in reversed(list(events)):
        if event.type == "refuse":
            reason = event.data.get("reason")
            return reason.get("code") if isinstance(reason, dict) else None
    return None


def detailed_status(report: Report, events: list[TimelineEvent]) -> str:
    """FixMyStreet's extended status for our lifecycle."""
    status = report.status
    if status == "refused":
        return REFUSAL_STATUS.get(_refusal_code(events) or "", "NO_FURTHER_ACTION")
    if status in ("resolved",):
        return "FIXED"
    if status == "closed":
        return "FIXED" if report.answer else "CLOSED"
    if report.awaiting_info_since:
        return "INVESTIGATING"
    if status == "routed":
        last = next((e for e in reversed(events) if e.status and e.type != "note"), None)
        return "INTERNAL_REFERRAL" if last is not None and last.type == "transfer" else "OPEN"
    if status == "accepted":
        return "ACTION_SCHEDULED"
    if status in ("in_progress", "pending_approval"):
        return "IN_PROGRESS"
    return "OPEN"


def _answer_text(data: Mapping) -> str | None:
    answer = data.get("answer")
    if isinstance(answer, dict):
        answer = answer.get("text")
    return answer if isinstance(answer, str) and answer else None


def note_of(event: TimelineEvent, lang: str, unit_name) -> str | None:
    """The public text of one public timeline event (never who did it; internal notes never)."""
    if not event.public:
        return None
    data = event.data
    kind = event.type
    if kind in ("resolve", "approve"):
        return _answer_text(data)
    if kind == "refuse":
        raw = data.get("reason")
        reason: dict[str, Any] = raw if isinstance(raw, dict) else {}
        label = reason.get("en" if lang == "en" else "vi") or reason.get("code") or ""
        return f"{label}: {reason['text']}" if reason.get("text") else label or None
    if kind in ("routed", "transfer"):
        unit = data.get("to_unit") or data.get("unit_code")
        return text(f"Chuyển đến {unit_name(unit)}", f"Sent to {unit_name(unit)}").get(lang) if unit else None
    if kind == "needs_triage":
        return text("Đang chờ phân loại, chọn đơn vị xử lý", "Awaiting triage to a handling unit").get(lang)
    if kind == "accept":
        return text("Đơn vị đã tiếp nhận", "The unit has taken it on").get(lang)
    if kind == "request_info":
        return text("Đơn vị đề nghị người phản ánh bổ sung thông tin",
                    "The unit asked the reporter for more information").get(lang)
    if kind == "reopen":
        return text("Phản ánh được mở lại để xử lý tiếp", "Reopened for further work").get(lang)
    if kind == "closed":
        return text("Đã đóng", "Closed").get(lang)
    return None


def public_notes(events: list[TimelineEvent], lang: str, unit_name) -> list[dict]:
    notes = []
    for event in events:
        note = note_of(event, lang, unit_name)
        if note:
            notes.append({"datetime": w3c(event.at), "type": event.type, "summary": note})
    return notes


def media_url(report: Report, media_base_url: str) -> str | None:
    """The large JPEG rendition of the first public photo (never an original, never a client's URL)."""
    from civic.domain.reports import EXTENSIONS

    base = media_base_url.rstrip("/")
    for item in report.media:
        if item.role == "report" and public_media(item) and item.kind == "photo" and "large" in item.renditions:
            fmt = "jpeg" if "jpeg" in item.formats else (item.formats[0] if item.formats else "jpeg")
            return f"{base}/{item.renditions['large']}.{EXTENSIONS[fmt]}"
    return None


def service_request(
    report: Report, events: list[TimelineEvent], lang: str, media_base_url: str, unit_name, extensions: bool = False
) -> dict:
    """One report as a GeoReport v2 request: the published location only, never who reported it."""
    category = all_categories().get(report.category)
    lat, lon = report.published_location
    notes = public_notes(events, lang, unit_name)
    description, address = public_text(report)
    out = {
        "service_request_id": report.id,
        "status": open_or_closed(report.status),
        "status_notes": notes[-1]["summary"] if notes else None,
        "service_name": category.name.get(lang) if category else report.category,
        "service_code": report.category,
        "description": description,
        "agency_responsible": unit_name(report.unit_code) if report.unit_code else None,
        "service_notice": notice(lang),
        "requested_datetime": w3c(report.created_at),
        "updated_datetime": w3c(report.updated_at),
        "expected_datetime": w3c(report.due_at),
        "address": None if category and category.private_location else address,
        "address_id": None,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": media_url(report, media_base_url),
    }
    if extensions:
        out["extended_attributes"] = {
            "detailed_status": detailed_status(report, events),
            "tracking_code": report.tracking_code,
            "agency_code": report.unit_code,
            "duplicate": report.duplicate_of,
            "notes": notes,
        }
    return out


@dataclass
class RequestQuery:
    ids: list[str]
    service_codes: list[str]
    statuses: list[str]
    start: datetime
    end: datetime
    page: int
    page_size: int
    extensions: bool



def _list(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def _int(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,6}", raw) or not low <= int(raw) <= high:
        raise bad(f"{name}: số nguyên từ {low} đến {high}", f"{name}: an integer from {low} to {high}")
    return int(raw)


def parse_flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() in ("true", "1", "yes")


def parse_request_query(params: Mapping[str, list[str]], now: datetime) -> RequestQuery:
    """GET requests' parameters: lists comma-delimited or repeated; a window of at most 90 days
    (default: the 90 days up to now); page/page_size with at most 1000 rows a page."""
    # Parameters this server does not know are ignored, as clients written for other servers expect.
    def last(name: str) -> str | None:
        values = params.get(name) or []
        return values[-1] if values else None

    ids = _list(params.get("service_request_id") or [])
    if len(ids) > MAX_IDS:
        raise bad(f"Tối đa {MAX_IDS} service_request_id", f"At most {MAX_IDS} service_request_id values")
    codes = _list(params.get("service_code") or [])
    for code in codes:
        if code not in all_categories():
            raise bad(f"service_code không tồn tại: {code[:64]}", f"Unknown service_code: {code[:64]}")
    statuses = [s.lower() for s in _list(params.get("status") or [])]
    if any(s not in ("open", "closed") for s in statuses):
        raise bad("status: open hoặc closed", "status: open or closed")
    end_raw, start_raw = last("end_date"), last("start_date")
    end = parse_w3c(end_raw, "end_date", end_of_day=True) if end_raw else None
    start = parse_w3c(start_raw, "start_date") if start_raw else None
    if end is None:
        end = now if start is None else min(now, start + timedelta(days=MAX_WINDOW_DAYS))
    if start is None:
        start = end - timedelta(days=DEFAULT_WINDOW_DAYS)
    if start > end:
        raise bad("start_date phải trước end_date", "start_date must be before end_date")
    if end - start > timedelta(days=MAX_WINDOW_DAYS, seconds=1):
        raise bad(f"Khoảng thời gian tối đa {MAX_WINDOW_DAYS} ngày", f"The date range may span at most {MAX_WINDOW_DAYS} days")
    return RequestQuery(
        ids=ids,
        service_codes=codes,
        statuses=statuses,
        start=start,
        end=end,
        page=_int(last("page"), "page", 1, 1, 100000),
        page_size=_int(last("page_size"), "page_size", MAX_ROWS, 1, MAX_ROWS),
        extensions=parse_flag(last("extensions")),
    )


def matches(report: Report, query: RequestQuery) -> bool:
    if query.service_codes and report.category not in query.service_codes:
        return False
    if query.statuses and open_or_closed(report.status) not in query.statuses:
        return False
    return True


def published(report: Report | None) -> bool:
    """Whether Open311 may list or show the report (moderation and the category's publish policy)."""
    return report is not None and is_public(report, all_categories().get(report.category))


def valid_request_id(raw: str) -> bool:
    return bool(REPORT_ID.match(raw or ""))


# ---------------------------------------------------------------- updates (mySociety's extension)


def request_updates(
    report: Report, events: list[TimelineEvent], start: datetime, end: datetime, lang: str, unit_name
) -> list[dict]:
    """Public changes of one report within [start, end], as `request_update`s."""
    out = []
    lo, hi = iso_utc(start), iso_utc(end)
    seen: list[TimelineEvent] = []
    for event in events:
        seen.append(event)
        if not event.public or not (lo <= event.at <= hi) or event.status is None:
            continue
        state = replace(report, status=event.status, awaiting_info_since=None)
        out.append({
            "update_id": event.event_id,
            "service_request_id": report.id,
            "status": detailed_status(state, seen) if event.status not in ("resolved", "closed") else
            ("FIXED" if _answer_text(event.data) or report.answer else "CLOSED"),
            "updated_datetime": w3c(event.at),
            "description": note_of(event, lang, unit_name) or "",
            "media_url": None,
            "external_status_code": event.type,
        })
    return out


def local_days(start: datetime, end: datetime) -> list[str]:
    """The Asia/Ho_Chi_Minh days from `end` back to `start`, newest first (the ByDay partitions)."""
    first: date = start.astimezone(LOCAL_TZ).date()
    day: date = end.astimezone(LOCAL_TZ).date()
    out = []
    while day >= first:
        out.append(day.isoformat())
        day -= timedelta(days=1)
    return out


def now_utc() -> datetime:
    return datetime.now(UTC)

