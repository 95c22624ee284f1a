"""Open data and exports, pure: the rows, their CSV and GeoJSON, the object keys and the index.

What a public row holds is modelled on NYC 311's open data and Open311 GeoReport v2: what was
reported (category), where (the *published* location: rounded in private categories), who handles
it (the unit), when each step happened, whether deadlines were met, the published answer and the
rating. Never the description or the address (citizens type names, phone numbers and house numbers
into them), never the citizen's id, names, phone, email, assignees or internal notes.

Storage and S3 stay outside: the use cases in `civic.services.exports` pass the reports in.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from civic.clock import LOCAL_TZ, local_day
from civic.domain import statuses
from civic.domain.categories import Category
from civic.domain.reports import Report, TimelineEvent, public_view
from civic.domain.units import UnitTree

# Vietnam has kept UTC+7 without daylight saving since 1975: a fixed offset is exact for every
# report, and needs no tz database in the Lambda image.
PREFIX = "open-data/"
INDEX_KEY = PREFIX + "index.json"
BOM = "\ufeff"  # Excel reads UTF-8 (Vietnamese) correctly only with it
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONTH = re.compile(r"^\d{4}-\d{2}$")
FORMATS = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json", "json": "application/json"}
KINDS = ("daily", "monthly", "units")  # units: each unit's figures for the month so far

# The public columns, in order. lat/lon are the published location (GeoJSON: the Point geometry).
PUBLIC_COLUMNS = (
    "id", "tracking_code", "category", "category_name_vi", "category_name_en", "status", "priority",
    "unit_code", "unit_name_vi", "unit_name_en",
    "created_at", "routed_at", "accepted_at", "resolved_at", "closed_at", "updated_at",
    "accept_due_at", "due_at", "accepted_on_time", "resolved_on_time",
    "lat", "lon", "location_precision", "media_count", "duplicate_of",
    "answer", "refuse_reason", "rating_satisfied", "rating_stars",
)
# Fields that must never reach a public file, whatever else changes (checked by the tests).
PERSONAL_FIELDS = frozenset(
    {"description", "address", "citizen_id", "anonymous", "assignee", "resolved_by", "info_question",
     "awaiting_info_since", "flags", "comment", "email", "phone", "display_name", "name", "actor_id"}
)


# ---------------------------------------------------------------- days and keys


def parse_day(raw: str) -> date:
    """A YYYY-MM-DD day (ValueError otherwise)."""
    if not isinstance(raw, str) or not DAY.match(raw):
        raise ValueError(f"not a YYYY-MM-DD day: {raw!r}")
    return date.fromisoformat(raw)


def previous_day(iso: str) -> str:
    """The local day before the one `iso` falls on: what a run at 00:30 exports."""
    return (date.fromisoformat(local_day(iso)) - timedelta(days=1)).isoformat()


def local_time(iso: str | None) -> str:
    """A UTC ISO time as people in Vietnam read it: 'YYYY-MM-DD HH:MM' in Asia/Ho_Chi_Minh."""
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def daily_key(day: str, fmt: str) -> str:
    y, m, d = day.split("-")
    return f"{PREFIX}daily/{y}/{m}/{d}/reports.{fmt}"


def monthly_key(month: str, fmt: str) -> str:
    return f"{PREFIX}monthly/{month}/reports.{fmt}"


def units_key(month: str, fmt: str) -> str:
    return f"{PREFIX}units/{month}/units.{fmt}"


# Each unit's figures for a month, with the satisfaction index of civic.domain.stats (the API's figure).
UNIT_COLUMNS = (
    "unit", "name_vi", "name_en", "parent", "received", "resolved", "overdue_open", "on_time_rate", "median_hours",
    "p90_hours", "rated", "satisfied_rate", "satisfaction_index",
)


def encode_units(rows: list[dict[str, Any]], month: str) -> dict[str, bytes]:
    """A month's unit figures as CSV (BOM, as the other files) and JSON."""
    ordered = sorted(rows, key=lambda r: r["unit"])
    body = {"name": f"civicbridge-units-{month}", "period": month, "items": ordered}
    return {
        "csv": _csv_text(UNIT_COLUMNS, ([row[c] for c in UNIT_COLUMNS] for row in ordered)).encode("utf-8"),
        "json": json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8"),
    }


def month_days(month: str) -> list[str]:
    first = date.fromisoformat(month + "-01")
    out, day = [], first
    while day.month == first.month:
        out.append(day.isoformat())
        day += timedelta(days=1)
    return out


# ---------------------------------------------------------------- public rows


def closed_at(report: Report, events: Iterable[TimelineEvent]) -> str | None:
    """When the report last became closed (None unless it is closed now)."""
    if report.status != "closed":
        return None
    found = None
    previous = None
    for event in sorted(events, key=lambda e: e.seq):
        if event.status == "closed" and previous != "closed":
            found = event.at
        previous = event.status or previous
    return found


def refuse_reason(report: Report, events: Iterable[TimelineEvent]) -> str | None:
    """The standard reason code of the refusal in force (never the officer's free text)."""
    if report.status != "refused":
        return None
    refusals = [e for e in sorted(events, key=lambda e: e.seq) if e.type == "refuse" and e.public]
    reason = refusals[-1].data.get("reason") if refusals else None
    return reason.get("code") if isinstance(reason, dict) else reason if isinstance(reason, str) else None


# Statuses whose row needs the report's timeline (when it was closed; why it was refused).
TIMELINE_STATUSES = ("closed", "refused")


def public_row(
    report: Report, category: Category | None, tree: UnitTree | None, events: Iterable[TimelineEvent] = (),
) -> dict[str, Any]:
    """One report as open data. Built from `public_view`, so it never shows more than the API.
    `events` (the timeline) are needed only for closed and refused reports."""
    events = list(events)
    view = public_view(report, category, media_base_url="")
    unit = tree.get(report.unit_code) if tree is not None and report.unit_code else None
    result = view["result"] or {}
    rating = view["rating"] or {}
    name = view["category_name"] or {}
    return {
        "id": view["id"],
        "tracking_code": view["tracking_code"],
        "category": view["category"],
        "category_name_vi": name.get("vi"),
        "category_name_en": name.get("en"),
        "status": view["status"],
        "priority": view["priority"],
        "unit_code": view["unit_code"],
        "unit_name_vi": unit.name_vi if unit else None,
        "unit_name_en": unit.name_en if unit else None,
        "created_at": view["created_at"],
        "routed_at": report.routed_at,
        "accepted_at": report.accepted_at,
        # Only a published result counts as resolved for the public (not one awaiting approval).
        "resolved_at": result.get("resolved_at"),
        "closed_at": closed_at(report, events),
        "updated_at": view["updated_at"],
        "accept_due_at": view["accept_due_at"],
        "due_at": view["due_at"],
        "accepted_on_time": view["accepted_on_time"],
        "resolved_on_time": view["resolved_on_time"],
        "lat": view["location"]["lat"],
        "lon": view["location"]["lon"],
        "location_precision": view["location"]["precision"],
        "media_count": len(view["media"]),
        "duplicate_of": view["duplicate_of"],
        "answer": result.get("answer"),
        "refuse_reason": refuse_reason(report, events),
        "rating_satisfied": rating.get("satisfied"),
        "rating_stars": rating.get("stars"),
    }


def sort_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """A stable order (creation time, then id), so the same data always makes the same bytes."""
    return sorted(rows, key=lambda r: (r["created_at"], r["id"]))


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _csv_text(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180 line ends, as Excel writes them
    writer.writerow(list(header))
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return BOM + buffer.getvalue()


def rows_csv(rows: list[dict[str, Any]]) -> bytes:
    """The public CSV: UTF-8 with a BOM, one header row of the column names."""
    return _csv_text(PUBLIC_COLUMNS, ([row[c] for c in PUBLIC_COLUMNS] for row in rows)).encode("utf-8")


def rows_geojson(rows: list[dict[str, Any]], period: str) -> bytes:
    """A FeatureCollection of Points ([lon, lat], the published location); properties: the other columns."""
    collection = {
        "type": "FeatureCollection",
        "name": f"civicbridge-reports-{period}",
        "features": [
            {
                "type": "Feature",
                "id": row["id"],
                "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
                "properties": {k: row[k] for k in PUBLIC_COLUMNS if k not in ("lat", "lon")},
            }
            for row in rows
        ],
    }
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def rows_from_geojson(data: bytes) -> list[dict[str, Any]]:
    """The rows back from a file written by `rows_geojson` (the monthly roll-up reads the daily files)."""
    out = []
    for feature in json.loads(data)["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        out.append({**{k: feature["properties"].get(k) for k in PUBLIC_COLUMNS}, "lat": lat, "lon": lon})
    return out


def encode(rows: list[dict[str, Any]], period: str) -> dict[str, bytes]:
    """Both formats of one period's rows."""
    ordered = sort_rows(rows)
    return {"csv": rows_csv(ordered), "geojson": rows_geojson(ordered, period)}


# ---------------------------------------------------------------- the index


@dataclass(frozen=True)
class Published:
    """One file of open data, as the index lists it."""

    kind: str  # daily | monthly
    period: str  # YYYY-MM-DD | YYYY-MM
    format: str  # csv | geojson
    key: str
    size: int
    rows: int
    sha256: str
    created_at: str  # when these bytes were first written (a re-run with the same bytes keeps it)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def merge_index(index: Mapping[str, Any] | None, entries: Iterable[Published]) -> dict[str, Any]:
    """The index with these entries in place of those of the same key; newest period first."""
    items = {item["key"]: item for item in (index or {}).get("items", [])}
    for entry in entries:
        items[entry.key] = entry.as_dict()
    ordered = sorted(items.values(), key=lambda i: (i["kind"], i["format"]))
    ordered.sort(key=lambda i: i["period"], reverse=True)
    return {"version": 1, "items": ordered}


def listing(index: Mapping[str, Any] | None, base_url: str, kind: str | None = None, fmt: str | None = None) -> dict[str, Any]:
    """GET /v1/exports: the files, newest first, with absolute URLs."""
    base = base_url.rstrip("/")
    items = []
    for item in (index or {}).get("items", []):
        if (kind and item["kind"] != kind) or (fmt and item["format"] != fmt):
            continue
        items.append({
            "kind": item["kind"], "period": item["period"], "format": item["format"],
            "url": f"{base}/{item['key']}", "size": item["size"], "rows": item["rows"],
            "created_at": item["created_at"], "sha256": item["sha256"],
        })
    return {"items": items}


# ---------------------------------------------------------------- the staff inbox as CSV

# (column, Vietnamese / English header). Dates for people: Asia/Ho_Chi_Minh.
STAFF_COLUMNS = (
    ("tracking_code", "Mã theo dõi / Tracking code"),
    ("status", "Trạng thái / Status"),
    ("priority", "Mức độ / Priority"),
    ("category", "Lĩnh vực / Category"),
    ("category_name", "Tên lĩnh vực / Category name"),
    ("unit_code", "Mã đơn vị / Unit code"),
    ("unit_name", "Đơn vị / Unit"),
    ("created", "Ngày gửi (giờ VN) / Submitted (Vietnam time)"),
    ("accept_due", "Hạn tiếp nhận / Acceptance due"),
    ("due", "Hạn xử lý / Resolution due"),
    ("due_state", "Tình trạng hạn / Deadline state"),
    ("media_count", "Số tệp / Media"),
    ("flags", "Đánh dấu / Flags"),
    ("id", "Mã phản ánh / Report id"),
)
STATUS_NAMES = {s.code: f"{s.label.vi} / {s.label.en}" for s in statuses.TABLE}
PRIORITY_NAMES = {"normal": "Thường / Normal", "urgent": "Khẩn / Urgent", "complex": "Phức tạp / Complex"}
DUE_STATE_NAMES = {
    "on_time": "Trong hạn / On time",
    "due_soon": "Sắp đến hạn / Due soon",
    "overdue": "Quá hạn / Overdue",
    "none": "",
}


def staff_row(report: Report, due_state: str, category: Category | None, tree: UnitTree | None) -> dict[str, Any]:
    """One inbox line for staff. Like the public files it leaves out the description and address:
    an exported file travels by email and stays on laptops; the tracking code opens the report."""
    unit = tree.get(report.unit_code) if tree is not None and report.unit_code else None
    return {
        "tracking_code": report.tracking_code,
        "status": STATUS_NAMES.get(report.status, report.status),
        "priority": PRIORITY_NAMES.get(report.priority, report.priority),
        "category": report.category,
        "category_name": category.name.vi if category else "",
        "unit_code": report.unit_code or "",
        "unit_name": unit.name_vi if unit else "",
        "created": local_time(report.created_at),
        "accept_due": local_time(report.accept_due_at),
        "due": local_time(report.due_at),
        "due_state": DUE_STATE_NAMES.get(due_state, due_state),
        "media_count": sum(1 for m in report.media if m.status == "ready" and m.role == "report"),
        "flags": " ".join(f for f in report.flags if f in STAFF_FLAGS),
        "id": report.id,
    }


# Flags worth a column in a spreadsheet (the others are internal bookkeeping of the SLA schedule).
STAFF_FLAGS = ("probable_duplicate", "reused_photo", "photo_far_from_location", "overdue", "escalated", "unsatisfied")


def staff_csv(rows: list[dict[str, Any]], total: int, cap: int) -> str:
    """The inbox as CSV text (UTF-8 BOM first). When the cap cut it short, a last line says so."""
    body = _csv_text((h for _, h in STAFF_COLUMNS), ([row[c] for c, _ in STAFF_COLUMNS] for row in rows))
    if total > len(rows):
        note = (f"# Chỉ xuất {len(rows)}/{total} phản ánh đầu tiên (giới hạn {cap}); hãy lọc thêm. / "
                f"Only the first {len(rows)} of {total} reports were exported (limit {cap}); filter further.")
        body += _csv_text([note], [])[len(BOM):]
    return body
