"""Units as the API shows them: who would handle a report here, a unit with its boundary, nearby
reports, following, and the operators' management of units and rules."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from civic.domain import geo
from civic.domain.categories import all_categories, require_category
from civic.domain.errors import Conflict, Invalid, NotFound, NotReady
from civic.domain.ports import FeedQuery, ReportStore, RoutingIndexMissing, UnitStore
from civic.domain.reports import public_view
from civic.domain.units import RoutingRule, Unit, UnitError, UnitTree, check_references, parse_rule, parse_unit
from civic.i18n import text

if TYPE_CHECKING:
    from civic.services.routing import Locator
    from civic.settings import Settings

MAX_NEARBY_RADIUS_M = 2000.0
DEFAULT_NEARBY_RADIUS_M = 200.0


def _number(params: Mapping[str, str], name: str, low: float, high: float, default: float | None = None) -> float:
    raw = params.get(name)
    if raw is None or raw == "":
        if default is not None:
            return default
        raise Invalid("invalid_request", text("Thiếu tham số", "Missing parameter"), {name: text("Bắt buộc", "Required")})
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        raise Invalid(
            "invalid_request",
            text("Tham số không hợp lệ", "Invalid parameter"),
            {name: text(f"Số từ {low:g} đến {high:g}", f"A number from {low:g} to {high:g}")},
        )
    return value


def _category(params: Mapping[str, str], default: str | None) -> str | None:
    category = params.get("category") or default
    return require_category(category).code if category is not None else None


def _unit_summary(unit: Unit | None) -> dict[str, Any] | None:
    if unit is None:
        return None
    return {"code": unit.code, "name_vi": unit.name_vi, "name_en": unit.name_en, "kind": unit.kind, "contact": unit.contact}


def locate(
    params: Mapping[str, str], locator: Callable[[], Locator], tree: UnitTree, rules: list[RoutingRule]
) -> dict[str, Any]:
    """GET /v1/units/locate: what the route function would decide for a report here, now.

    `locator` is called only once the parameters are valid (it may load the routing index)."""
    from civic.services.routing import locate as route_locate

    lat = _number(params, "lat", -90, 90)
    lon = _number(params, "lon", -180, 180)
    category = _category(params, "other")
    try:
        decision, snapped = route_locate(locator(), tree, rules, lat, lon, category or "other")
    except RoutingIndexMissing:
        raise NotReady(
            "routing_not_ready",
            text("Chưa có dữ liệu ranh giới để xác định đơn vị", "No boundaries have been published yet"),
        ) from None
    return {
        "lat": lat,
        "lon": lon,
        "category": category,
        "status": decision.status,
        "admin_unit": _unit_summary(tree.get(decision.admin_unit)),
        "handler": _unit_summary(tree.get(decision.handler)),
        "rule_id": decision.rule_id,
        "basis": decision.reason,
        "snapped": snapped,
    }


def areas(tree: UnitTree) -> dict[str, Any]:
    """GET /v1/areas: the administrative units (no agencies), for pickers of a home ward and areas to
    follow; from the in-memory tree, ordered by their parent and Vietnamese name."""
    units = [u for u in tree.by_code.values() if not u.is_agency]
    units.sort(key=lambda u: (u.parent_code or "", u.name_vi, u.code))
    return {"items": [{"code": u.code, "name_vi": u.name_vi, "name_en": u.name_en, "kind": u.kind,
                       "parent_code": u.parent_code} for u in units]}


def unit_view(code: str, tree: UnitTree, geometry_of: Callable[[str], Any]) -> dict[str, Any]:
    """GET /v1/units/{code}: the unit, its parent and children, and its boundary as a GeoJSON Feature."""
    unit = tree.get(code)
    if unit is None:
        raise NotFound("Không tìm thấy đơn vị", "Unit not found")
    try:
        geometry = geometry_of(code)
    except RoutingIndexMissing:
        geometry = None
    boundary = None
    if geometry is not None:
        from shapely.geometry import mapping

        boundary = {"type": "Feature", "properties": {"unit_code": code}, "geometry": mapping(geometry)}
    return {
        **unit.public(),
        "ancestors": tree.ancestors(code),
        "children": [c.code for c in tree.children(code)],
        "boundary": boundary,
    }


# ---------------------------------------------------------------- nearby reports


def nearby(
    store: ReportStore, params: Mapping[str, str], settings: Settings, image_format: str = "jpeg"
) -> dict[str, Any]:
    """GET /v1/reports/nearby: open reports around a point, nearest first ("follow this one instead")."""
    from civic.domain.moderation import is_public
    from civic.domain.statuses import OPEN_STATUSES

    lat = _number(params, "lat", -90, 90)
    lon = _number(params, "lon", -180, 180)
    radius = _number(params, "radius", 1, MAX_NEARBY_RADIUS_M, DEFAULT_NEARBY_RADIUS_M)
    category = _category(params, None)
    # Reports exist only inside the service area: search just that part of the circle's box (near the
    # poles the box spans every longitude, thousands of cells).
    box = geo.intersection(geo.bbox_around(lat, lon, radius), settings.service_bbox)
    if box is None:
        return {"items": [], "radius_m": radius}
    found = store.feed(FeedQuery(cells=geo.cells_covering(box), bbox=box, limit=200, category=category))
    cats = all_categories()
    items = []
    for report in found:
        if report.status not in OPEN_STATUSES or not is_public(report, cats.get(report.category)):
            continue
        # Measured to the published location: a small radius cannot pin down a private report.
        distance = geo.distance_m(lat, lon, *report.published_location)
        if distance <= radius:
            view = public_view(report, cats.get(report.category), settings.media_base_url, image_format)
            view["distance_m"] = round(distance)
            items.append(view)
    items.sort(key=lambda v: (v["distance_m"], v["id"]))
    return {"items": items[:50], "radius_m": radius}


# ---------------------------------------------------------------- operators


def _unit_error(exc: UnitError) -> Invalid:
    return Invalid(
        "invalid_unit",
        text("Dữ liệu đơn vị hoặc quy tắc không hợp lệ", "The unit or rule is not valid"),
        {k: text(v, v) for k, v in exc.fields.items()},
    )


def _exists(kind_vi: str, kind_en: str, key: str) -> Conflict:
    return Conflict(
        "already_exists",
        text(f"{kind_vi} {key} đã tồn tại; dùng PUT để sửa", f"{kind_en} {key} already exists; use PUT to change it"),
    )


def put_unit(body: Any, store: UnitStore, code: str | None = None) -> dict[str, Any]:
    """POST (code None) creates a new unit; PUT /{code} replaces that unit."""
    try:
        unit = parse_unit(body, all_categories())
    except UnitError as exc:
        raise _unit_error(exc) from None
    if code is not None and unit.code != code:
        raise Invalid("invalid_unit", text("Mã đơn vị không khớp đường dẫn", "The code does not match the path"),
                          {"code": text(f"Phải là {code}", f"Must be {code}")})
    tree = store.tree()
    if code is None and unit.code in tree:
        raise _exists("Đơn vị", "Unit", unit.code)
    if code is not None and code not in tree:
        raise NotFound("Không tìm thấy đơn vị", "Unit not found")
    units = [u for u in tree.by_code.values() if u.code != unit.code] + [unit]
    problems = {k: v for k, v in check_references(units, []).items() if k.startswith(f"units.{unit.code}.")}
    if problems:
        raise _unit_error(UnitError(problems))
    store.put(unit)
    return unit.public()


def delete_unit(code: str, store: UnitStore) -> None:
    tree = store.tree()
    if code not in tree:
        raise NotFound("Không tìm thấy đơn vị", "Unit not found")
    users = [c.code for c in tree.children(code)] + [r.id for r in store.rules() if code in (r.target, r.where)]
    if users:
        raise Conflict(
            "unit_in_use",
            text("Đơn vị còn đơn vị con hoặc quy tắc tham chiếu", "Child units or rules still refer to this unit"),
            {"refs": text(", ".join(users), ", ".join(users))},
        )
    store.delete(code)


def put_rule(body: Any, store: UnitStore, rule_id: str | None = None) -> dict[str, Any]:
    try:
        rule = parse_rule(body, all_categories())
    except UnitError as exc:
        raise _unit_error(exc) from None
    if rule_id is not None and rule.id != rule_id:
        raise Invalid("invalid_unit", text("Mã quy tắc không khớp đường dẫn", "The id does not match the path"),
                          {"id": text(f"Phải là {rule_id}", f"Must be {rule_id}")})
    tree = store.tree()
    existing = {r.id for r in store.rules()}
    if rule_id is None and rule.id in existing:
        raise _exists("Quy tắc", "Rule", rule.id)
    if rule_id is not None and rule_id not in existing:
        raise NotFound("Không tìm thấy quy tắc", "Rule not found")
    problems = check_references(tree.by_code.values(), [rule])
    target = tree.get(rule.target)
    if rule.scope == "boundary" and target is not None and not target.is_agency:
        problems[f"rules.{rule.id}.target"] = "a boundary rule needs an agency (its own service area is used)"
    if problems:
        raise _unit_error(UnitError(problems))
    store.put_rule(rule)
    return rule.public()


def delete_rule(rule_id: str, store: UnitStore) -> None:
    if not store.delete_rule(rule_id):
        raise NotFound("Không tìm thấy quy tắc", "Rule not found")


# ---------------------------------------------------------------- outlines: the base map without tiles

MAX_OUTLINES = 400  # a view with more units asks to zoom in
_outline_cache: dict[tuple[int, str, int], dict[str, Any]] = {}
_strtree: list[Any] = [None, None]  # [artifact, its STRtree]


def outlines(artifact: Any, tree: UnitTree, params: Mapping[str, str]) -> dict[str, Any]:
    """GET /v1/boundaries?bbox=s,w,n,e: the published administrative boundaries in a box, simplified
    to the box's scale (about 1/1000 of its width), with their names, as GeoJSON. Public (boundaries and
    unit names are public); the local stack draws them as the base map where no tile server exists, so a
    pin is never placed blind. Agencies' service areas overlap the wards and are left out."""
    import shapely
    from shapely.geometry import mapping

    unknown = set(params) - {"bbox"}
    if unknown:
        raise Invalid("unknown_parameter", text("Tham số không được hỗ trợ", "Unknown query parameter"),
                      {n: text("Không hỗ trợ", "Not supported") for n in sorted(unknown)})
    try:
        south, west, north, east = geo.parse_bbox(params.get("bbox") or "")
    except ValueError as exc:
        raise Invalid("invalid_request", text("Vùng bản đồ không hợp lệ", "Invalid map box"),
                      {"bbox": text("south,west,north,east (độ)", str(exc))}) from None
    if artifact is None:  # nothing published yet
        return {"type": "FeatureCollection", "bbox": [south, west, north, east], "features": []}
    # Coarse steps: nearby views share one tolerance, so the in-process cache and browsers reuse answers.
    tolerance = 10 ** math.floor(math.log10(max(east - west, north - south) / 1000))
    key = (id(artifact), f"{south:.3f},{west:.3f},{north:.3f},{east:.3f}", int(math.log10(tolerance)))
    if key in _outline_cache:
        return _outline_cache[key]
    codes, geoms = artifact.admin.shapes()
    if _strtree[0] is not artifact:  # one spatial index per published routing index
        _strtree[:] = [artifact, shapely.STRtree(geoms)]
    box = shapely.box(west, south, east, north)
    hits = _strtree[1].query(box, predicate="intersects").tolist()
    if len(hits) > MAX_OUTLINES:
        raise Invalid("bbox_too_large", text("Vùng quá rộng: hãy phóng to", "Too large an area: zoom in"),
                      {"bbox": text(f"Tối đa {MAX_OUTLINES} đơn vị", f"At most {MAX_OUTLINES} units")})
    features = []
    for i in sorted(hits, key=lambda j: codes[j]):
        code = codes[i]
        unit = tree.get(code)
        shape = shapely.simplify(geoms[i], tolerance, preserve_topology=True)
        point = shape.representative_point()
        features.append({
            "type": "Feature", "id": code,
            "geometry": mapping(shape),
            "properties": {"unit": code, "name_vi": unit.name_vi if unit else code,
                           "name_en": unit.name_en if unit else code, "kind": unit.kind if unit else None,
                           "label_at": [round(point.y, 6), round(point.x, 6)]},
        })
    answer = {"type": "FeatureCollection", "bbox": [south, west, north, east], "features": features}
    if len(_outline_cache) > 256:
        _outline_cache.clear()
    _outline_cache[key] = answer
    return answer
