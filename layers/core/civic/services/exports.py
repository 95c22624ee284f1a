"""Open data and exports (issue #7), written against ports:

- `export_day`: one local day's reports as CSV and GeoJSON under open-data/daily/, the month's
  roll-up rebuilt from its daily files, and open-data/index.json, all written only when the bytes
  change (a re-run of the same day with the same data writes nothing);
- `list_exports`: GET /v1/exports, from the index;
- `staff_export`: GET /v1/staff/inbox/export, the filtered inbox as CSV for Excel.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from civic.clock import local_day
from civic.domain import opendata
from civic.domain.categories import all_categories
from civic.domain.errors import Invalid
from civic.domain.moderation import is_public, public_media
from civic.domain.opendata import Published
from civic.domain.ports import ReportStore
from civic.domain.reports import Report, TimelineEvent
from civic.domain.units import UnitTree
from civic.i18n import text

if TYPE_CHECKING:
    from civic.services.staff import StaffMember
    from civic.settings import Settings


class DayReports(Protocol):
    def by_day(self, day: str) -> Iterable[Report]:
        """The reports submitted on this Asia/Ho_Chi_Minh day, oldest first."""

    def timeline(self, report_id: str) -> list[TimelineEvent]: ...

    def get(self, report_id: str) -> Report | None: ...


class UnitCounters(Protocol):
    def days(self, scope: str, start: str, end: str) -> list[tuple[str, dict[str, int]]]:
        """The statistics day items of one scope between two days (civic.adapters.dynamo.stats)."""

    def gauges(self, scope: str) -> dict[str, int]:
        """The series' gauges now (`open`, `overdue_open`)."""


class OpenDataStore(Protocol):
    def read(self, key: str) -> bytes | None: ...

    def sha256(self, key: str) -> str | None:
        """The digest of the object's bytes as written (None: no such object)."""

    def write(self, key: str, data: bytes, content_type: str, sha256: str) -> None: ...


def _read_index(files: OpenDataStore) -> dict[str, Any]:
    raw = files.read(opendata.INDEX_KEY)
    return json.loads(raw) if raw else {"version": 1, "items": []}


def _publish(
    files: OpenDataStore, index: dict[str, Any], kind: str, period: str, fmt: str, key: str, data: bytes, rows: int, now: str,
    written: list[str],
) -> Published:
    """Write the file unless the same bytes are there already; the index entry keeps its first time."""
    sha = opendata.digest(data)
    known = next((i for i in index.get("items", []) if i["key"] == key), None)
    if files.sha256(key) != sha:
        files.write(key, data, opendata.FORMATS[fmt], sha)
        written.append(key)
    created = known["created_at"] if known and known.get("sha256") == sha else now
    return Published(kind, period, fmt, key, len(data), rows, sha, created)


def unit_figures(stats: UnitCounters, tree: UnitTree, month: str, through: str,
                 min_ratings: int | None = None) -> list[dict[str, Any]]:
    """Each unit's figures from the first of the month through `through`, from the statistics
    counters (one query and one gauge read per unit), on the API's definitions (civic.domain.stats.
    unit_row: overdue open reports count against the on-time rate; no index below `min_ratings`)."""
    from civic.domain import stats as figures

    needed = figures.DEFAULT_MIN_RATINGS if min_ratings is None else min_ratings
    rows = []
    for unit in tree.by_code.values():
        scope = figures.scope_unit(unit.code)
        days = stats.days(scope, f"{month}-01", through)
        overdue_open = int(stats.gauges(scope).get(figures.OVERDUE_OPEN, 0))
        row = figures.unit_row(figures.fold(item for _, item in days), overdue_open, needed)
        rows.append({"unit": unit.code, "name_vi": unit.name_vi, "name_en": unit.name_en, "parent": unit.parent_code, **row})
    return rows


def export_day(store: DayReports, files: OpenDataStore, day: str, tree: UnitTree | None, now: str,
               stats: UnitCounters | None = None, min_ratings: int | None = None) -> dict[str, Any]:
    """Export one day and rebuild its month (and, given the counters, the units' figures of the
    month so far). Safe to repeat: same data → no write at all."""
    opendata.parse_day(day)
    if day > local_day(now):
        raise ValueError(f"{day} has not begun yet in Asia/Ho_Chi_Minh")
    categories = all_categories()
    rows = []
    for report in store.by_day(day):
        if not is_public(report, categories.get(report.category)):  # hidden or not yet published
            continue
        events = store.timeline(report.id) if report.status in opendata.TIMELINE_STATUSES else ()
        rows.append(opendata.public_row(report, categories.get(report.category), tree, events))
    index = _read_index(files)
    written: list[str] = []
    entries = [
        _publish(files, index, "daily", day, fmt, opendata.daily_key(day, fmt), data, len(rows), now, written)
        for fmt, data in opendata.encode(rows, day).items()
    ]
    index = opendata.merge_index(index, entries)

    # The month's roll-up: every exported day of the month, read back from its daily GeoJSON.
    month = day[:7]
    listed = {item["key"] for item in index["items"]}
    month_rows: list[dict[str, Any]] = []
    days_in_month = 0
    for other in opendata.month_days(month):
        if other == day:
            month_rows += rows
            days_in_month += 1
            continue
        key = opendata.daily_key(other, "geojson")
        data = files.read(key) if key in listed else None
        if data is not None:
            month_rows += opendata.rows_from_geojson(data)
            days_in_month += 1
    monthly = [
        _publish(files, index, "monthly", month, fmt, opendata.monthly_key(month, fmt), data, len(month_rows), now, written)
        for fmt, data in opendata.encode(month_rows, month).items()
    ]
    index = opendata.merge_index(index, monthly)
    if stats is not None and tree is not None:
        units = unit_figures(stats, tree, month, day, min_ratings)
        index = opendata.merge_index(index, [
            _publish(files, index, "units", month, fmt, opendata.units_key(month, fmt), data, len(units), now, written)
            for fmt, data in opendata.encode_units(units, month).items()
        ])
    data = json.dumps(index, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    sha = opendata.digest(data)
    if files.sha256(opendata.INDEX_KEY) != sha:
        files.write(opendata.INDEX_KEY, data, "application/json", sha)
        written.append(opendata.INDEX_KEY)
    return {"day": day, "rows": len(rows), "month": month, "month_rows": len(month_rows),
            "month_days": days_in_month, "written": written}


def reexport_moderated(store: DayReports, files: OpenDataStore, report_ids: list[str], tree: UnitTree | None,
                       now: str, stats: UnitCounters | None = None, min_ratings: int | None = None) -> list[str]:
    """After reports were hidden or redacted: rewrite the days already exported that held them (their
    files and the month's), so a take-down reaches the open data too. The days rewritten."""
    index = _read_index(files)
    exported = {item["key"] for item in index.get("items", [])}
    days = set()
    for report_id in report_ids:
        report = store.get(report_id)
        if report is not None:
            day = local_day(report.created_at)
            if opendata.daily_key(day, "csv") in exported:
                days.add(day)
    for day in sorted(days):
        export_day(store, files, day, tree, now, stats=stats, min_ratings=min_ratings)
    return sorted(days)


class MediaFiles(Protocol):
    """The media bucket's rendition files (S3 in the cloud)."""

    def move(self, source: str, target: str) -> bool:
        """Move one object; False when the source does not exist (already moved)."""

    def invalidate(self, paths: list[str]) -> None:
        """Ask the CDN to forget these paths (nothing without a CDN)."""


WITHHELD_PREFIX = "withheld/"  # hidden photos' files: kept for operators, served by nothing


def withhold_media(store: DayReports, files: MediaFiles, report_ids: list[str]) -> int:
    """After a take-down (or its reversal): the files of the photos the public may not see move out of the
    CDN's reach (`withheld/…`), and back when they may be seen again; the CDN forgets the paths. The
    files moved."""
    from civic.domain.reports import EXTENSIONS

    moved, paths = 0, []
    for report_id in report_ids:
        report = store.get(report_id)
        if report is None:
            continue
        shown = is_public(report, all_categories().get(report.category))
        for item in report.media:
            visible = shown and public_media(item)
            for stem in item.renditions.values():
                for fmt in item.formats:
                    key = f"{stem}.{EXTENSIONS[fmt]}" if fmt in EXTENSIONS else stem
                    source, target = (WITHHELD_PREFIX + key, key) if visible else (key, WITHHELD_PREFIX + key)
                    if files.move(source, target):
                        moved += 1
                        if not visible:
                            paths.append("/" + key)
    if paths:
        files.invalidate(paths)
    return moved


_LIST_PARAMS = {"kind", "format"}


def list_exports(files: OpenDataStore, params: Mapping[str, str], base_url: str) -> dict[str, Any]:
    """GET /v1/exports: the open-data files, newest period first, with absolute URLs."""
    unknown = set(params) - _LIST_PARAMS
    if unknown:
        raise Invalid("unknown_parameter", text("Tham số không được hỗ trợ", "Unknown query parameter"),
                          {n: text("Không hỗ trợ", "Not supported") for n in sorted(unknown)})
    kind, fmt = params.get("kind") or None, params.get("format") or None
    if kind and kind not in opendata.KINDS:
        raise Invalid("invalid_request", text("Tham số không hợp lệ", "Invalid parameter"),
                          {"kind": text("daily, monthly hoặc units", "daily, monthly or units")})
    if fmt and fmt not in opendata.FORMATS:
        raise Invalid("invalid_request", text("Tham số không hợp lệ", "Invalid parameter"),
                          {"format": text("csv, geojson hoặc json", "csv, geojson or json")})
    return opendata.listing(_read_index(files), base_url, kind, fmt)


def staff_export(
    store: ReportStore, member: StaffMember, params: Mapping[str, str], tree: UnitTree, settings: Settings,
    due_state: Callable[[str | None], str],
) -> tuple[str, int, int]:
    """The inbox with these filters as CSV text: (text, rows written, rows matching). `limit` and
    `cursor` are accepted (the portal passes its query string) but the file holds every match up to
    `staff_export_max_rows`, in the inbox's order."""
    from civic.services.staff import inbox_matches

    matches = inbox_matches(store, member, params, tree, due_state)
    cap = settings.staff_export_max_rows
    categories = all_categories()
    rows = [opendata.staff_row(r, state, categories.get(r.category), tree) for r, state in matches[:cap]]
    return opendata.staff_csv(rows, len(matches), cap), len(rows), len(matches)
