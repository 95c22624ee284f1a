"""Statistics use cases: the dashboard queries of GET /v1/stats/*, and counting one timeline event.

Every answer is folded from day items of a few series (civic.domain.stats), never from reports:
a query reads O(days × series) items. Who may see what:
  - without `unit`: summary, categories, timeseries and heatmap are public totals;
  - with `unit`, and always for `units` and `map`: staff (officer, leader, coordinator) of that unit
    or of a unit above it, or an admin; anyone else gets 403 (401 without a valid token).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from civic.domain import stats as core
from civic.domain.categories import all_categories, require_category
from civic.domain.errors import Forbidden, Invalid, NotFound, Unauthenticated
from civic.domain.ports import ReportStore, StatsCounters
from civic.domain.reports import TimelineEvent
from civic.domain.units import Unit, UnitTree
from civic.i18n import text

DEFAULT_DAYS = 30
MAX_DAYS = 366
MIN_YEAR, MAX_YEAR = 2000, 2100  # far from date's limits, so interval arithmetic never overflows
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class StatsReader(Protocol):
    def days(self, scope: str, start: str, end: str) -> list[tuple[str, dict[str, int]]]: ...

    def gauges(self, scope: str) -> dict[str, int]:
        """The series' gauge item now: `open`, `overdue_open` (missing: 0)."""


@dataclass(frozen=True)
class Viewer:
    """Who asks: nobody (public), an admin, or staff with their units."""

    user_id: str | None = None
    role: str | None = None  # officer | leader | coordinator | admin
    units: tuple[str, ...] = ()


# ---------------------------------------------------------------- parameters


def _day(params: Mapping[str, str], name: str, default: date) -> date:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        if not _DAY.match(raw) or not MIN_YEAR <= int(raw[:4]) <= MAX_YEAR:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid("invalid_request", text("Ngày không hợp lệ", "Invalid date"),
                          {name: text(f"Dạng YYYY-MM-DD, năm {MIN_YEAR}–{MAX_YEAR}",
                                      f"YYYY-MM-DD, years {MIN_YEAR}–{MAX_YEAR}")}) from None


def _unknown(params: Mapping[str, str], allowed: set[str]) -> None:
    unknown = set(params) - allowed
    if unknown:
        raise Invalid("unknown_parameter", text("Tham số không được hỗ trợ", "Unknown query parameter"),
                          {name: text("Không hỗ trợ", "Not supported") for name in sorted(unknown)})


def period(params: Mapping[str, str], today: date) -> tuple[date, date]:
    end = _day(params, "to", today)
    start = _day(params, "from", end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise Invalid("invalid_request", text("Ngày bắt đầu sau ngày kết thúc", "`from` is after `to`"),
                          {"from": text("Không sau `to`", "Not after `to`")})
    if (end - start).days + 1 > MAX_DAYS:
        raise Invalid("invalid_request", text(f"Tối đa {MAX_DAYS} ngày", f"At most {MAX_DAYS} days"),
                          {"from": text(f"Khoảng tối đa {MAX_DAYS} ngày", f"A range of at most {MAX_DAYS} days")})
    return start, end


def _category(params: Mapping[str, str]) -> str | None:
    raw = params.get("category") or None
    return require_category(raw).code if raw else None


def _unit(params: Mapping[str, str], tree: UnitTree) -> str | None:
    raw = params.get("unit") or None
    if raw is not None and raw not in tree:
        raise NotFound("Không tìm thấy đơn vị", "Unit not found")
    return raw


def top_unit(tree: UnitTree) -> str | None:
    roots = sorted(code for code, u in tree.by_code.items() if not u.parent_code or u.parent_code not in tree)
    return roots[0] if roots else None


def may_see_unit(viewer: Viewer, unit: str, tree: UnitTree) -> bool:
    if viewer.role == "admin":
        return True
    if viewer.role not in ("officer", "leader", "coordinator"):
        return False
    above = {unit, *tree.ancestors(unit)}
    return any(u in above for u in viewer.units)


def require_unit_access(viewer: Viewer, unit: str, tree: UnitTree) -> None:
    if viewer.user_id is None:
        raise Unauthenticated("unauthorized", text("Cần đăng nhập để xem số liệu của đơn vị",
                                                 "Sign-in required for a unit's figures"))
    if not may_see_unit(viewer, unit, tree):
        raise Forbidden(text("Chỉ cán bộ của đơn vị này hoặc đơn vị cấp trên được xem",
                                              "Only staff of this unit or of a unit above it may see this"))


def _scope(
    params: Mapping[str, str], tree: UnitTree, viewer: Viewer, today: date, allowed: set[str],
    with_category: bool = True,
) -> tuple[str | None, str | None, date, date]:
    """The unit, category and period asked for, once the viewer may see that unit."""
    _unknown(params, allowed)
    start, end = period(params, today)
    category = _category(params) if with_category else None
    unit = _unit(params, tree)
    if unit:
        require_unit_access(viewer, unit, tree)
    return unit, category, start, end


def _scope_dict(unit: str | None, category: str | None, start: date, end: date) -> dict[str, Any]:
    return {"unit": unit, "category": category, "from": start.isoformat(), "to": end.isoformat()}


# ---------------------------------------------------------------- answers


def summary(
    reader: StatsReader, params: Mapping[str, str], tree: UnitTree, viewer: Viewer, today: date,
    min_ratings: int = core.DEFAULT_MIN_RATINGS,
) -> dict[str, Any]:
    unit, category, start, end = _scope(params, tree, viewer, today, {"unit", "category", "from", "to"})
    scope = core.scope_of(unit, category)
    totals = core.fold(item for _, item in reader.days(scope, start.isoformat(), end.isoformat()))
    return core.summary_answer(totals, _scope_dict(unit, category, start, end), reader.gauges(scope), min_ratings)


def _unit_row(reader: StatsReader, code: str, start: date, end: date, min_ratings: int) -> dict[str, Any]:
    """One unit's figures (civic.domain.stats.unit_row) and its gauges: the ranking, the map, open data."""
    scope = core.scope_unit(code)
    totals = core.fold(item for _, item in reader.days(scope, start.isoformat(), end.isoformat()))
    gauges = reader.gauges(scope)
    return {**core.unit_row(totals, int(gauges.get(core.OVERDUE_OPEN, 0)), min_ratings),
            "open": max(int(gauges.get(core.OPEN, 0)), 0)}


def units(
    reader: StatsReader, params: Mapping[str, str], tree: UnitTree, viewer: Viewer, today: date,
    min_ratings: int = core.DEFAULT_MIN_RATINGS,
) -> dict[str, Any]:
    parent, start, end, children = _children(reader, params, tree, viewer, today)
    items = []
    for child in children:
        row = _unit_row(reader, child.code, start, end, min_ratings)
        items.append({"unit": child.code, "name": {"vi": child.name_vi, "en": child.name_en}, **row})
    return {"unit": parent, "from": start.isoformat(), "to": end.isoformat(), "min_ratings": min_ratings,
            "items": sorted(items, key=core.rank_key)}


def _children(
    reader: StatsReader, params: Mapping[str, str], tree: UnitTree, viewer: Viewer, today: date
) -> tuple[str, date, date, list[Unit]]:
    """The parent unit asked for (else the top one), the period, and the parent's children."""
    _unknown(params, {"unit", "from", "to"})
    start, end = period(params, today)
    parent = _unit(params, tree) or top_unit(tree)
    if parent is None:
        raise NotFound("Chưa có đơn vị nào", "No units yet")
    require_unit_access(viewer, parent, tree)
    return parent, start, end, tree.children(parent)


def categories(
    reader: StatsReader, params: Mapping[str, str], tree: UnitTree, viewer: Viewer, today: date
) -> dict[str, Any]:
    unit, _, start, end = _scope(params, tree, viewer, today, {"unit", "from", "to"}, with_category=False)
    counts = {}
    for code in all_categories():
        scope = core.scope_unit_category(unit, code) if unit else core.scope_category(code)
        counts[code] = sum(item.get("received", 0) for _, item in reader.days(scope, start.isoformat(), end.isoformat()))
    total = sum(counts.values())
    cats = all_categories()
    items: list[dict[str, Any]] = [
        {"category": code, "name": cats[code].name.as_dict(), "count": n, "share": round(n / total, 4) if total else 0.0}
        for code, n in counts.items()
    ]
    items.sort(key=lambda i: (-i["count"], i["category"]))
    return {"scope": _scope_dict(unit, None, start, end), "total": total, "items": items}


def timeseries(
    reader: StatsReader, params: Mapping[str, str], tree: UnitTree, viewer: Viewer, today: date
) -> dict[str, Any]:
    metric = params.get("metric") or "received"
    interval = params.get("interval") or "day"
    if metric not in core.METRICS:
        raise Invalid("invalid_request", text("Chỉ số không hợp lệ", "Invalid metric"),
                          {"metric": text(", ".join(core.METRICS), ", ".join(core.METRICS))})
    if interval not in core.INTERVALS:
        raise Invalid("invalid_request", text("Chu kỳ không hợp lệ", "Invalid interval"),
                          {"interval": text(", ".join(core.INTERVALS), ", ".join(core.INTERVALS))})
    unit, category, start, end = _scope(params, tree, viewer, today,
                                        {"metric", "interval", "unit", "category", "from", "to"})
    days = reader.days(core.scope_of(unit, category), start.isoformat(), end.isoformat())
    return {"metric": metric, "interval": interval, "scope": _scope_dict(unit, category, start, end),
            "points": core.timeseries_points(days, metric, interval, start, end)}


def heatmap(
    reader: StatsReader, params: Mapping[str, str], tree: UnitTree, viewer: Viewer, today: date
) -> dict[str, Any]:
    unit, category, start, end = _scope(params, tree, viewer, today, {"unit", "category", "from", "to"})
    days = reader.days(core.scope_of(unit, category), start.isoformat(), end.isoformat())
    return {"timezone": "Asia/Ho_Chi_Minh", "weekday_start": "monday",
            "scope": _scope_dict(unit, category, start, end), "cells": core.heatmap_cells(days)}


def choropleth(reader: StatsReader, params: Mapping[str, str], tree: UnitTree, viewer: Viewer, today: date,
               geometry_of: Callable[[str], Any], min_ratings: int = core.DEFAULT_MIN_RATINGS) -> dict[str, Any]:
    """GeoJSON of the child units with their figures and a status colour (by satisfaction index), and
    `outline`: the unit's own boundary (a ward without child units is drawn as itself)."""
    parent, start, end, children = _children(reader, params, tree, viewer, today)
    own = tree.get(parent)
    outline = None if own is None or own.is_agency else _geometry(geometry_of, parent)
    features = []
    for child in children:
        row = _unit_row(reader, child.code, start, end, min_ratings)
        shade = core.colour(row["satisfaction_index"])
        # Agencies' service areas overlap the wards they serve: they keep their figures here, but only
        # administrative areas are drawn, so the map is a partition a colour can be read from.
        geometry = None if child.is_agency else _geometry(geometry_of, child.code)
        features.append({
            "type": "Feature",
            "id": child.code,
            "geometry": geometry,
            "properties": {
                "unit": child.code, "name_vi": child.name_vi, "name_en": child.name_en,
                "received": row["received"], "resolved": row["resolved"], "open": row["open"],
                "overdue_open": row["overdue_open"], "rated": row["rated"],
                "on_time_rate": row["on_time_rate"], "satisfied_rate": row["satisfied_rate"],
                "satisfaction_index": row["satisfaction_index"], "colour": shade,
                "status_vi": core.COLOUR_TEXT[shade][0], "status_en": core.COLOUR_TEXT[shade][1],
            },
        })
    return {"type": "FeatureCollection", "unit": parent, "from": start.isoformat(), "to": end.isoformat(),
            "min_ratings": min_ratings, "features": features,
            "outline": None if outline is None else {
                "type": "Feature", "id": parent, "geometry": outline,
                "properties": {"unit": parent, "name_vi": own.name_vi if own else "", "name_en": own.name_en if own else ""}}}


def _geometry(geometry_of: Callable[[str], Any], code: str) -> dict[str, Any] | None:
    """The unit's boundary as a GeoJSON geometry; None without one (or before any is published)."""
    from civic.domain.ports import RoutingIndexMissing

    try:
        shape = geometry_of(code)
    except RoutingIndexMissing:
        return None
    if shape is None:
        return None
    from shapely.geometry import mapping

    geometry: dict[str, Any] = mapping(shape)  # shapely is untyped
    return geometry


# ---------------------------------------------------------------- counting (the stats function)


def chain_of(tree: UnitTree) -> Callable[[str | None], list[str]]:
    """The unit and its ancestors, for the unit-tree series of an event."""
    return lambda unit: [unit, *tree.ancestors(unit)] if unit else []


def count_event(
    event: TimelineEvent, store: StatsCounters, tree: UnitTree,
    report_facts: Callable[[str], dict[str, Any]] | None = None,
) -> bool:
    """Count one timeline event exactly once. Old events written before the core put `category`
    and `submitted_at` into them get those immutable facts from the report (`report_facts`)."""
    if not core.counted(event.type, event.data):
        return False
    data = dict(event.data)
    if report_facts and (not data.get("category") or ("submitted_at" not in data and event.type in ("resolve", "approve"))):
        facts = report_facts(event.report_id)
        data["category"] = data.get("category") or facts.get("category")
        data.setdefault("submitted_at", facts.get("created_at"))
    deltas = core.event_deltas(event.type, event.at, event.status, data, chain_of(tree))
    if not deltas:  # e.g. a result waiting for approval: nothing to count, no guard needed
        return False
    return store.apply(event.event_id, deltas)


def rebuild(
    events: Iterable[TimelineEvent], store: StatsCounters, tree: UnitTree,
    report_facts: Callable[[str], dict[str, Any]] | None = None,
) -> dict[str, int]:
    """Recompute every counter from the whole Timeline (`civic stats rebuild`), after a bug or a data fix.

    Idempotent: the same events always give the same items, which replace what is stored (items no
    event produces any more are deleted), and every folded event gets its guard, so a later stream
    replay adds nothing. Run it while the stream is quiet: an event the stats function counts while
    the rebuild runs may be overwritten by the rebuild's item (run it again to include it)."""
    items: dict[tuple[str, str], dict[str, int]] = {}
    counted: list[str] = []
    facts_cache: dict[str, dict[str, Any]] = {}
    chain = chain_of(tree)
    for event in events:
        if not core.counted(event.type, event.data):
            continue
        data = dict(event.data)
        if report_facts and (not data.get("category") or ("submitted_at" not in data and event.type in ("resolve", "approve"))):
            facts = facts_cache.setdefault(event.report_id, report_facts(event.report_id))
            data["category"] = data.get("category") or facts.get("category")
            data.setdefault("submitted_at", facts.get("created_at"))
        deltas = core.event_deltas(event.type, event.at, event.status, data, chain)
        if deltas:
            core.accumulate(deltas, items)
            counted.append(event.event_id)
    stale = [key for key in store.counter_keys() if key not in items]
    store.delete_items(stale)
    written = store.put_items(items)
    store.put_guards(counted)
    return {"events": len(counted), "items": written, "deleted": len(stale)}


# ---------------------------------------------------------------- the unit picker and the report points

MAX_POINTS = 2000  # the dashboard map's report points; more are cut (and the answer says so)


def _viewable_roots(viewer: Viewer, tree: UnitTree) -> list[str]:
    if viewer.user_id is None:
        raise Unauthenticated("unauthorized", text("Cần đăng nhập để xem số liệu của đơn vị",
                                                 "Sign-in required for a unit's figures"))
    if viewer.role == "admin":
        return sorted(code for code, u in tree.by_code.items() if not u.parent_code or u.parent_code not in tree)
    if viewer.role not in ("officer", "leader", "coordinator"):
        raise Forbidden(text("Chỉ cán bộ và quản trị viên xem số liệu theo đơn vị",
                             "Only staff and admins see figures by unit"))
    mine = [u for u in viewer.units if u in tree]
    # A unit below another of mine is listed under it, not twice.
    return sorted(u for u in mine if not any(a in mine for a in tree.ancestors(u)))


def unit_choices(params: Mapping[str, str], tree: UnitTree, viewer: Viewer) -> dict[str, Any]:
    """GET /v1/stats/tree: the units whose figures the viewer may see (their own units and every unit
    below them; every unit for an admin), depth first, for the dashboard's unit picker."""
    _unknown(params, set())
    items: list[dict[str, Any]] = []

    def walk(code: str, depth: int) -> None:
        unit = tree.by_code[code]
        kids = tree.children(code)
        items.append({"unit": code, "name": {"vi": unit.name_vi, "en": unit.name_en}, "parent": unit.parent_code,
                      "kind": unit.kind, "depth": depth, "has_children": bool(kids)})
        for kid in kids:
            walk(kid.code, depth + 1)

    for root in _viewable_roots(viewer, tree):
        walk(root, 0)
    return {"items": items}


def report_points(
    store: ReportStore, params: Mapping[str, str], tree: UnitTree, viewer: Viewer, today: date,
) -> dict[str, Any]:
    """GET /v1/stats/points: the reports of a unit and the units below it submitted in the period, as
    GeoJSON points with their status (the map colours them from the statuses table). The place is the
    published one (rounded in private categories); nothing about the people."""
    from civic.clock import local_day

    _unknown(params, {"unit", "from", "to"})
    start, end = period(params, today)
    unit = _unit(params, tree)
    if unit is None:
        raise Invalid("invalid_request", text("Cần chọn đơn vị", "A unit is required"),
                      {"unit": text("Bắt buộc", "Required")})
    require_unit_access(viewer, unit, tree)
    from civic.domain.statuses import STATUSES

    units = [unit, *(code for code in tree.by_code if unit in tree.ancestors(code))]
    found = [r for r in store.by_units(units, list(STATUSES))
             if start.isoformat() <= local_day(r.created_at) <= end.isoformat()]
    found.sort(key=lambda r: r.created_at, reverse=True)
    features = []
    for report in found[:MAX_POINTS]:
        lat, lon = report.published_location
        features.append({
            "type": "Feature", "id": report.id,
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"id": report.id, "tracking_code": report.tracking_code, "status": report.status,
                           "category": report.category, "unit": report.unit_code, "created_at": report.created_at,
                           "overdue": "overdue" in report.flags},
        })
    return {"type": "FeatureCollection", "unit": unit, "from": start.isoformat(), "to": end.isoformat(),
            "total": len(found), "truncated": len(found) > MAX_POINTS, "features": features}
