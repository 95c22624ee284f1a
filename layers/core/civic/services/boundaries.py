"""Administrative boundaries: validate an operator's GeoJSON, build the routing artifact, publish it.

The operator uploads a GeoJSON FeatureCollection of Polygon/MultiPolygon features, each naming its unit
in `properties.unit_code`. `validate` checks every feature and reports each problem by feature index
and unit code (nothing is silently fixed). Only a clean upload is turned into a `RoutingArtifact` —
two `GeoIndex`es, one for the administrative units (wards/communes… which must not overlap) and one
for the agencies' service areas (which may overlap anything) — and published; a refused upload never
replaces the index in use. `process_upload` is that whole job for one uploaded object; the S3 side
lives behind `BoundaryStore` (`civic.adapters.s3.routing_index.S3BoundaryStore`).

An upload is merged by default: its features replace the published set's features of the same unit
codes and the others stay, so a file with one district's wards never drops the rest of the province.
An upload marked `replace` is the whole new set. Every publication keeps its full FeatureCollection
beside its artifact, so any version can be exported again or made active again (rollback).

Artifact layout (no pickle): b"CBRIDX1\\n", a 4-byte big-endian header length, the JSON header
(`format`, `version`, `built_at`, `source_sha256`, `counts`, `sections`), then the payload: the
admin GeoIndex bytes followed by the agency GeoIndex bytes. `version` is the sha256 of the payload,
so the same boundaries always give the same version, and `from_bytes` detects a corrupted file.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from civic.domain.units import ADMIN_KINDS, AGENCY_KINDS, UnitTree

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from civic.geo.index import GeoIndex

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
# Two administrative units may share slivers from coordinate rounding; more than this fraction of the
# smaller one's area is a real overlap.
OVERLAP_TOLERANCE = 0.001
# Administrative kinds that must each have a boundary (others — district, city… — may have one).
LEAF_KINDS = ("ward", "commune")
# At most this many errors / warnings are listed; `counts` always has the totals.
MAX_LISTED = 1000

# How an upload combines with the published set (the upload's `mode` metadata; merge when absent).
MODES = ("merge", "replace")

MAGIC = b"CBRIDX1\n"
FORMAT = 1

# problem code → (Vietnamese, English); `{…}` are filled from the details.
MESSAGES: dict[str, tuple[str, str]] = {
    "not_json": ("Tệp không phải JSON (cần GeoJSON): {detail}", "The file is not JSON (GeoJSON expected): {detail}"),
    "too_large": (
        "Tệp quá lớn: {size} byte, tối đa {limit} byte",
        "The file is too large: {size} bytes, at most {limit} bytes",
    ),
    "not_found": ("Không đọc được tệp đã tải lên: {detail}", "The uploaded file cannot be read: {detail}"),
    "not_feature_collection": (
        "Tệp phải là một GeoJSON FeatureCollection có mảng \"features\"",
        'The file must be a GeoJSON FeatureCollection with a "features" array',
    ),
    "empty": ("FeatureCollection không có feature nào", "The FeatureCollection has no features"),
    "not_feature": ('Phần tử không phải GeoJSON Feature (cần "type": "Feature")', 'Not a GeoJSON Feature ("type": "Feature" expected)'),
    "missing_unit_code": (
        "Thiếu properties.unit_code (mã đơn vị dạng chuỗi)",
        "properties.unit_code (the unit's code, a string) is missing",
    ),
    "bad_unit_code": ("properties.unit_code phải là chuỗi, nhận được {got}", "properties.unit_code must be a string, got {got}"),
    "unknown_unit": (
        "Mã đơn vị {code} không có trong danh mục đơn vị",
        "Unit code {code} is not in the units list",
    ),
    "duplicate_unit": (
        "Mã đơn vị {code} trùng với feature #{first}; gộp thành một MultiPolygon",
        "Unit code {code} repeats feature #{first}; merge them into one MultiPolygon",
    ),
    "bad_geometry_type": (
        "Hình học phải là Polygon hoặc MultiPolygon, nhận được {got}",
        "The geometry must be a Polygon or MultiPolygon, got {got}",
    ),
    "bad_coordinates": ("Tọa độ không hợp lệ: {detail}", "Invalid coordinates: {detail}"),
    "unclosed_ring": (
        "Vòng {ring} chưa khép kín: điểm cuối {last} khác điểm đầu {first}",
        "Ring {ring} is not closed: its last position {last} differs from its first {first}",
    ),
    "ring_too_short": (
        "Vòng {ring} chỉ có {n} điểm; một vòng khép kín cần ít nhất 4",
        "Ring {ring} has only {n} positions; a closed ring needs at least 4",
    ),
    "out_of_range": (
        "Tọa độ ngoài phạm vi kinh độ [-180, 180] / vĩ độ [-90, 90]: {position}{hint_vi}",
        "Coordinates outside longitude [-180, 180] / latitude [-90, 90]: {position}{hint_en}",
    ),
    "invalid_geometry": ("Hình học không hợp lệ: {reason_vi} tại {at}", "Invalid geometry: {reason} at {at}"),
    "empty_geometry": ("Hình học rỗng hoặc có diện tích bằng 0", "The geometry is empty or has zero area"),
    "overlap": (
        "Chồng lấn với {other} (feature #{other_feature}): {pct}% diện tích của đơn vị nhỏ hơn{hint_vi}",
        "Overlaps {other} (feature #{other_feature}): {pct}% of the smaller unit's area{hint_en}",
    ),
    "no_admin": (
        "Tệp không có ranh giới của đơn vị hành chính nào (phường/xã…); chỉ có vùng phục vụ của cơ quan",
        "The file has no administrative unit boundary (ward/commune…), only agencies' service areas",
    ),
    "missing_coverage": (
        "Đơn vị {code} ({kind}) chưa có ranh giới; phản ánh tại đó sẽ cần phân loại thủ công",
        "Unit {code} ({kind}) has no boundary; reports there will need manual triage",
    ),
}

# shapely's (GEOS) validity reasons in Vietnamese.
_REASONS_VI = {
    "Self-intersection": "tự cắt nhau",
    "Ring Self-intersection": "vòng tự chạm vào chính nó",
    "Hole lies outside shell": "lỗ nằm ngoài vòng ngoài",
    "Holes are nested": "các lỗ lồng vào nhau",
    "Interior is disconnected": "phần trong bị tách rời",
    "Nested shells": "các đa giác lồng vào nhau",
    "Duplicate Rings": "vòng bị trùng",
    "Too few points in geometry component": "quá ít điểm",
    "Invalid Coordinate": "tọa độ không hợp lệ",
    "Ring is not closed": "vòng chưa khép kín",
}


class BoundaryError(ValueError):
    """An upload that cannot become a routing index; `report` says why, feature by feature."""

    def __init__(self, report: BoundaryReport):
        super().__init__(f"boundaries refused: {report.counts.get('errors', 0)} problem(s)")
        self.report = report


def _problem(feature: int | None, unit_code: str | None, problem: str, **details: Any) -> dict[str, Any]:
    vi, en = MESSAGES[problem]
    return {
        "feature": feature,
        "unit_code": unit_code,
        "problem": problem,
        "message": en.format(**details),
        "message_vi": vi.format(**details),
    }


@dataclass
class BoundaryReport:
    ok: bool = True
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    truncated: bool = False

    def error(self, feature: int | None, unit_code: str | None, problem: str, **details: Any) -> None:
        self.ok = False
        self.counts["errors"] = self.counts.get("errors", 0) + 1
        if len(self.errors) < MAX_LISTED:
            self.errors.append(_problem(feature, unit_code, problem, **details))
        else:
            self.truncated = True

    def warn(self, feature: int | None, unit_code: str | None, problem: str, **details: Any) -> None:
        self.counts["warnings"] = self.counts.get("warnings", 0) + 1
        if len(self.warnings) < MAX_LISTED:
            self.warnings.append(_problem(feature, unit_code, problem, **details))
        else:
            self.truncated = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "counts": dict(self.counts),
            "truncated": self.truncated,
        }

    @classmethod
    def refused(cls, problem: str, **details: Any) -> BoundaryReport:
        report = cls(counts={"features": 0, "errors": 0, "warnings": 0})
        report.error(None, None, problem, **details)
        return report


@dataclass
class _Parsed:
    code: str
    kind: str
    feature: int
    geometry: Any  # shapely geometry, 2D, valid


# ------------------------------------------------------------------------------------ validation


def _position_text(position: NDArray[np.float64]) -> str:
    return "[" + ", ".join(f"{float(v):g}" for v in position[:2]) + "]"


def _check_rings(
    polygons: list[Any], index: int, code: str, report: BoundaryReport
) -> list[list[NDArray[np.float64]]] | None:
    """Structure, closure, length and lon/lat range of every ring (shapely would silently close them);
    the rings as 2D float arrays per polygon, or None after reporting the problems."""
    import numpy as np

    ok = True
    out: list[list[NDArray[np.float64]]] = []
    for p, rings in enumerate(polygons):
        if not isinstance(rings, list) or not rings:
            report.error(index, code, "bad_coordinates", detail=f"polygon {p} must be a non-empty list of rings")
            ok = False
            continue
        out.append([])
        for r, ring in enumerate(rings):
            name = f"{p}.{r}" if len(polygons) > 1 else str(r)
            try:
                arr = np.asarray(ring)
            except (ValueError, TypeError):
                arr = None
            if (
                arr is None or arr.ndim != 2 or arr.shape[1] not in (2, 3) or arr.dtype.kind not in "iuf"
                or not np.isfinite(arr).all()
            ):
                report.error(
                    index, code, "bad_coordinates",
                    detail=f"ring {name} must be a list of [longitude, latitude] number pairs",
                )
                ok = False
                continue
            arr = np.ascontiguousarray(arr[:, :2], dtype=float)
            out[-1].append(arr)
            lon, lat = arr[:, 0], arr[:, 1]
            bad = (np.abs(lon) > 180) | (np.abs(lat) > 90)
            if bad.any():
                at = arr[int(np.argmax(bad))]
                swapped = abs(at[0]) <= 90 and abs(at[1]) <= 180
                report.error(
                    index, code, "out_of_range", position=_position_text(at),
                    hint_vi=" (có thể đã ghi vĩ độ trước kinh độ; GeoJSON cần [kinh độ, vĩ độ])" if swapped else "",
                    hint_en=" (latitude may come first; GeoJSON needs [longitude, latitude])" if swapped else "",
                )
                ok = False
                continue
            if len(arr) < 4:
                report.error(index, code, "ring_too_short", ring=name, n=len(arr))
                ok = False
            elif not np.array_equal(arr[0, :2], arr[-1, :2]):
                report.error(
                    index, code, "unclosed_ring", ring=name, first=_position_text(arr[0]), last=_position_text(arr[-1])
                )
                ok = False
    return out if ok else None


def _geometry(feature: dict[str, Any], index: int, code: str, report: BoundaryReport) -> Any:
    """The feature's valid 2D shapely geometry (shapely is untyped: Any), or None after reporting why not."""
    import shapely
    from shapely.geometry import MultiPolygon, Polygon

    geometry = feature.get("geometry")
    gtype = geometry.get("type") if isinstance(geometry, dict) else None
    if not isinstance(geometry, dict) or gtype not in ("Polygon", "MultiPolygon"):
        report.error(index, code, "bad_geometry_type", got=gtype if isinstance(gtype, str) else json.dumps(geometry)[:40])
        return None
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or not coordinates:
        report.error(index, code, "bad_coordinates", detail="coordinates must be a non-empty list")
        return None
    polygons = [coordinates] if gtype == "Polygon" else coordinates
    rings = _check_rings(polygons, index, code, report)
    if rings is None:
        return None
    try:
        parts = [Polygon(shell, holes) for shell, *holes in rings]
        geom = parts[0] if gtype == "Polygon" else MultiPolygon(parts)
    except Exception as exc:  # shapely/GEOS refuse some structures outright
        report.error(index, code, "bad_coordinates", detail=str(exc)[:200])
        return None
    reason = shapely.is_valid_reason(geom)
    if reason != "Valid Geometry":
        text, _, at = reason.partition("[")
        at = "[" + at.replace(" ", ", ") if at else "?"
        report.error(index, code, "invalid_geometry", reason=text, reason_vi=_REASONS_VI.get(text, text), at=at)
        return None
    if geom.is_empty or geom.area <= 0:
        report.error(index, code, "empty_geometry")
        return None
    return geom


def _validate(
    collection: Any, tree: UnitTree, *, overlap_tolerance: float = OVERLAP_TOLERANCE
) -> tuple[BoundaryReport, list[_Parsed]]:
    report = BoundaryReport(counts={"features": 0, "admin": 0, "agency": 0, "errors": 0, "warnings": 0})
    if (
        not isinstance(collection, dict)
        or collection.get("type") != "FeatureCollection"
        or not isinstance(collection.get("features"), list)
    ):
        report.error(None, None, "not_feature_collection")
        return report, []
    features = collection["features"]
    report.counts["features"] = len(features)
    if not features:
        report.error(None, None, "empty")
        return report, []

    parsed: list[_Parsed] = []
    first_seen: dict[str, int] = {}
    for index, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            report.error(index, None, "not_feature")
            continue
        properties = feature.get("properties")
        code = properties.get("unit_code") if isinstance(properties, dict) else None
        if code is None:
            report.error(index, None, "missing_unit_code")
            continue
        if not isinstance(code, str) or not code.strip():
            report.error(index, None, "bad_unit_code", got=json.dumps(code)[:40])
            continue
        unit = tree.get(code)
        known = unit is not None
        if not known:
            report.error(index, code, "unknown_unit", code=code)
        if code in first_seen:
            report.error(index, code, "duplicate_unit", code=code, first=first_seen[code])
            known = False
        else:
            first_seen[code] = index
        geom = _geometry(feature, index, code, report)
        if geom is not None and known and unit is not None:
            kind = unit.kind
            parsed.append(_Parsed(code=code, kind=kind, feature=index, geometry=geom))
            report.counts["agency" if kind in AGENCY_KINDS else "admin"] += 1

    if report.ok and not report.counts["admin"]:
        report.error(None, None, "no_admin")
    _check_overlaps([p for p in parsed if p.kind in ADMIN_KINDS], tree, overlap_tolerance, report)

    covered = set(first_seen)
    missing = sorted(u.code for u in tree.by_code.values() if u.kind in LEAF_KINDS and u.code not in covered)
    for code in missing:
        report.warn(None, code, "missing_coverage", code=code, kind=tree.by_code[code].kind)
    report.counts["missing_coverage"] = len(missing)
    return report, parsed


def _check_overlaps(admin: list[_Parsed], tree: UnitTree, tolerance: float, report: BoundaryReport) -> None:
    """Administrative units must tile: pairs from an STRtree query, areas compared vectorised."""
    import numpy as np
    import shapely

    report.counts["overlap_pairs_checked"] = 0
    if len(admin) < 2:
        return
    geoms = np.array([p.geometry for p in admin], dtype=object)
    shapely.prepare(geoms)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    report.counts["overlap_pairs_checked"] = int(len(left))
    if not len(left):
        return
    shared = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    areas = shapely.area(geoms)
    ratio = shared / np.minimum(areas[left], areas[right])
    for i, j, r in zip(left[ratio > tolerance], right[ratio > tolerance], ratio[ratio > tolerance]):
        a, b = admin[int(i)], admin[int(j)]
        nested = b.code in tree.ancestors(a.code) or a.code in tree.ancestors(b.code)
        pct = f"{100 * float(r):.3g}"
        hint_vi = " — một đơn vị là cấp trên của đơn vị kia; chỉ tải lên một cấp (phường/xã)" if nested else ""
        hint_en = " — one contains the other in the unit tree; upload one level only (wards/communes)" if nested else ""
        report.error(b.feature, b.code, "overlap", other=a.code, other_feature=a.feature, pct=pct,
                     hint_vi=hint_vi, hint_en=hint_en)


def validate(collection: Any, tree: UnitTree, *, overlap_tolerance: float = OVERLAP_TOLERANCE) -> BoundaryReport:
    """Every problem of an uploaded FeatureCollection against the units tree (see the module doc)."""
    return _validate(collection, tree, overlap_tolerance=overlap_tolerance)[0]


# ------------------------------------------------------------------------------------ the artifact


@dataclass
class RoutingArtifact:
    admin: GeoIndex
    agency: GeoIndex | None
    version: str
    built_at: str
    header: dict[str, Any] = field(default_factory=dict)
    _agency_tree: Any = field(default=None, repr=False)

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.header.get("counts", {}))

    @classmethod
    def from_bytes(cls, raw: bytes | memoryview) -> RoutingArtifact:
        """Raises ValueError on anything that is not an intact artifact of a known format."""
        from civic.geo.index import GeoIndex

        data = memoryview(raw).cast("B")  # sections are handed to GeoIndex as zero-copy views
        if len(data) < len(MAGIC) + 4 or bytes(data[: len(MAGIC)]) != MAGIC:
            raise ValueError("not a CivicBridge routing artifact")
        (length,) = struct.unpack_from(">I", data, len(MAGIC))
        start = len(MAGIC) + 4 + length
        if start > len(data):
            raise ValueError("truncated routing artifact header")
        try:
            header = json.loads(bytes(data[len(MAGIC) + 4 : start]))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"corrupt routing artifact header: {exc}") from exc
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError(f"unsupported routing artifact format {header.get('format') if isinstance(header, dict) else '?'}")
        payload = data[start:]
        if hashlib.sha256(payload).hexdigest() != header.get("version"):
            raise ValueError("routing artifact payload does not match its version (corrupt or truncated)")
        sections = header.get("sections") or {}

        def section(name: str) -> GeoIndex | None:
            span = sections.get(name)
            if span is None:
                return None
            try:
                offset, size = (int(v) for v in span)
            except (TypeError, ValueError):
                raise ValueError(f"routing artifact section {name} is malformed") from None
            if offset < 0 or size < 0 or offset + size > len(payload):
                raise ValueError(f"routing artifact section {name} out of bounds")
            return GeoIndex.from_bytes(payload[offset : offset + size])

        admin = section("admin")
        if admin is None:
            raise ValueError("routing artifact has no admin section")
        return cls(admin=admin, agency=section("agency"), version=header["version"], built_at=header["built_at"],
                   header=header)

    def locate(self, lat: float, lon: float, *, snap_m: float = 0.0) -> str | None:
        """The administrative unit containing the point; else the nearest within `snap_m` metres."""
        code = self.admin.locate(lat, lon)
        if code is None and snap_m > 0:
            code = self.admin.nearest(lat, lon, snap_m)
        return code

    def agencies_at(self, lat: float, lon: float) -> list[str]:
        """Every agency whose service area contains the point (service areas may overlap), sorted."""
        if self.agency is None or not self.agency.codes:
            return []
        import shapely
        from shapely.geometry import Point

        if self._agency_tree is None:
            geoms = [self.agency.geometry(c) for c in self.agency.codes]
            self._agency_tree = shapely.STRtree(geoms)
        hits = self._agency_tree.query(Point(lon, lat), predicate="intersects")
        return sorted(self.agency.codes[int(i)] for i in hits)


def _pack(
    admin: bytes, agency: bytes | None, *, built_at: str, source_sha256: str | None, counts: dict[str, int]
) -> bytes:
    # Sections start at multiples of 8 in the file, so GeoIndex's numpy views are aligned.
    admin_padded = admin + b"\0" * (-len(admin) % 8)
    payload = admin_padded + (agency or b"")
    header = {
        "format": FORMAT,
        "version": hashlib.sha256(payload).hexdigest(),
        "built_at": built_at,
        "source_sha256": source_sha256,
        "counts": counts,
        "sections": {"admin": [0, len(admin)], "agency": [len(admin_padded), len(agency)] if agency is not None else None},
    }
    raw = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    raw += b" " * (-(len(MAGIC) + 4 + len(raw)) % 8)
    return MAGIC + struct.pack(">I", len(raw)) + raw + payload


def artifact_version(data: bytes) -> str:
    """The version an artifact declares (no GeoIndex decoding); ValueError if it is not one."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
        raise ValueError("not a CivicBridge routing artifact")
    (length,) = struct.unpack_from(">I", data, len(MAGIC))
    version: str = json.loads(data[len(MAGIC) + 4 : len(MAGIC) + 4 + length])["version"]
    return version


def _build(parsed: list[_Parsed], *, built_at: str, source_sha256: str | None, counts: dict[str, int]) -> bytes:
    from civic.geo.index import GeoIndex

    admin = sorted((p.code, p.geometry) for p in parsed if p.kind not in AGENCY_KINDS)
    agency = sorted((p.code, p.geometry) for p in parsed if p.kind in AGENCY_KINDS)
    return _pack(
        GeoIndex.build(admin).to_bytes(),
        GeoIndex.build(agency).to_bytes() if agency else None,
        built_at=built_at, source_sha256=source_sha256, counts=counts,
    )


def _now() -> str:
    from civic.clock import now_iso

    return now_iso()


def build_artifact(collection: Any, tree: UnitTree, *, built_at: str | None = None, source_sha256: str | None = None) -> bytes:
    """The routing artifact of a valid collection; raises BoundaryError (with the report) otherwise."""
    report, parsed = _validate(collection, tree)
    if not report.ok:
        raise BoundaryError(report)
    return _build(parsed, built_at=built_at or _now(), source_sha256=source_sha256, counts=_artifact_counts(report))


def _artifact_counts(report: BoundaryReport) -> dict[str, int]:
    return {k: report.counts.get(k, 0) for k in ("features", "admin", "agency", "missing_coverage")}


# ------------------------------------------------------------------------------------ the job


class BoundaryStore(Protocol):
    """Where uploads are read and the artifact, pointer and reports are written (S3 in the cloud)."""

    def stat_upload(self, key: str) -> dict[str, Any]:
        """{"size": int, "modified": iso}; raises FileNotFoundError when the object is gone."""

    def read_upload(self, key: str, max_bytes: int) -> bytes: ...

    def current(self) -> dict[str, Any] | None:
        """The published pointer (`routing/current.json`), or None before the first publication."""

    def publish(self, artifact: bytes, pointer: dict[str, Any], collection: bytes) -> dict[str, Any]:
        """Writes the artifact and its whole FeatureCollection, then the pointer (the commit point) and a
        history entry; returns the pointer written."""

    def collection(self, pointer: dict[str, Any]) -> bytes | None:
        """The FeatureCollection a publication was built from (None for publications older than that)."""

    def save_status(self, source_key: str, status: dict[str, Any]) -> dict[str, Any]:
        """Writes the per-upload report and the latest status; returns the status written."""


def _decode(raw: bytes) -> tuple[Any, BoundaryReport | None]:
    if raw[:2] == b"\x1f\x8b" or raw[:4] == b"PK\x03\x04":
        return None, BoundaryReport.refused(
            "not_json", detail="a compressed (gzip/zip) file; upload the .geojson itself"
        )
    try:
        return json.loads(raw.decode("utf-8-sig")), None
    except UnicodeDecodeError as exc:
        return None, BoundaryReport.refused("not_json", detail=f"not UTF-8 text (byte {exc.start})")
    except json.JSONDecodeError as exc:
        return None, BoundaryReport.refused("not_json", detail=f"{exc.msg} at line {exc.lineno} column {exc.colno}")
    except RecursionError:
        return None, BoundaryReport.refused("not_json", detail="nested too deeply")


def _code_of(feature: Any) -> str | None:
    props = feature.get("properties") if isinstance(feature, dict) else None
    code = props.get("unit_code") if isinstance(props, dict) else None
    return code if isinstance(code, str) else None


def merge_collections(published: Any, upload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """The upload's features, then the published features whose unit codes the upload does not name
    (so problems keep the upload's feature numbers). Returns the set and what the merge did."""
    features = upload.get("features")
    if not isinstance(features, list) or not isinstance(published, dict) or not isinstance(published.get("features"), list):
        return upload, {}
    named = {code for code in map(_code_of, features) if code}
    previous = {code for code in map(_code_of, published["features"]) if code}
    kept = [f for f in published["features"] if _code_of(f) not in named]
    summary = {"added": len(named - previous), "replaced": len(named & previous), "kept": len(kept)}
    return {**upload, "features": features + kept}, summary


def process_bytes(
    raw: bytes,
    *,
    source_key: str,
    store: BoundaryStore,
    tree: UnitTree,
    now: str | None = None,
    source_modified: str | None = None,
    overlap_tolerance: float = OVERLAP_TOLERANCE,
    mode: str = "merge",
) -> dict[str, Any]:
    """Validate `raw` (merged into the published set unless `mode` is replace); only if the result is
    clean build and publish the artifact. Always saves the status."""
    now = now or _now()
    collection, refused = _decode(raw)
    if refused is not None:
        return _finish(store, source_key, now, refused, None)
    current = store.current()
    merged: dict[str, int] = {}
    if mode != "replace" and current and isinstance(collection, dict):
        published = store.collection(current)
        if published is not None:
            kept = json.loads(published)
            if isinstance(kept, dict) and isinstance(kept.get("features"), list):
                # A unit deleted since is not carried over (the operator did not send it this time).
                kept = {**kept, "features": [f for f in kept["features"] if (_code_of(f) or "") in tree]}
            collection, merged = merge_collections(kept, collection)
    report, parsed = _validate(collection, tree, overlap_tolerance=overlap_tolerance)
    if not report.ok:
        return _finish(store, source_key, now, report, None, mode=mode, merged=merged)
    source_sha256 = hashlib.sha256(raw).hexdigest()
    if current and source_modified and (current.get("source_modified") or "") > source_modified:
        # A late (retried) event of an older upload must not undo a newer one.
        return _finish(store, source_key, now, report, None, outcome="superseded", mode=mode, merged=merged)
    artifact = _build(parsed, built_at=now, source_sha256=source_sha256, counts=_artifact_counts(report))
    version = artifact_version(artifact)
    pointer = store.publish(
        artifact,
        {
            "version": version,
            "built_at": now,
            "source_key": source_key,
            "source_sha256": source_sha256,
            "source_modified": source_modified,
            "counts": _artifact_counts(report),
            "size": len(artifact),
            "mode": mode,
        },
        json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode(),
    )
    return _finish(store, source_key, now, report, pointer, outcome="published", mode=mode, merged=merged)


def _finish(
    store: BoundaryStore,
    source_key: str,
    now: str,
    report: BoundaryReport,
    pointer: dict[str, Any] | None,
    outcome: str | None = None,
    mode: str = "merge",
    merged: dict[str, int] | None = None,
) -> dict[str, Any]:
    if pointer is None:
        current = store.current()
        active = current.get("version") if current else None
    else:
        active = pointer["version"]
    status = {
        "source_key": source_key,
        "processed_at": now,
        "ok": report.ok,
        "outcome": outcome or ("published" if report.ok else "refused"),
        "active_version": active,
        "mode": mode,
        "report": report.as_dict(),
    }
    if merged:  # how many unit codes the upload added or replaced, and how many it kept from before
        status["merged"] = merged
    return store.save_status(source_key, status)


def process_upload(
    key: str,
    *,
    store: BoundaryStore,
    tree: UnitTree,
    now: str | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
    overlap_tolerance: float = OVERLAP_TOLERANCE,
) -> dict[str, Any]:
    """The whole job for one uploaded object: read (≤ max_bytes), validate, publish if clean, report."""
    now = now or _now()
    try:
        stat = store.stat_upload(key)
        if stat["size"] > max_bytes:
            return _finish(store, key, now, BoundaryReport.refused("too_large", size=stat["size"], limit=max_bytes), None)
        raw = store.read_upload(key, max_bytes)
    except FileNotFoundError as exc:
        return _finish(store, key, now, BoundaryReport.refused("not_found", detail=str(exc) or key), None)
    if len(raw) > max_bytes:
        return _finish(store, key, now, BoundaryReport.refused("too_large", size=len(raw), limit=max_bytes), None)
    return process_bytes(
        raw, source_key=key, store=store, tree=tree, now=now, source_modified=stat.get("modified"),
        overlap_tolerance=overlap_tolerance, mode="replace" if stat.get("mode") == "replace" else "merge",
    )


def status_lines(status: dict[str, Any], lang: str = "vi") -> list[str]:
    """A status as text lines (for the CLI and logs): the outcome, then each problem."""
    report = status.get("report") or {}
    counts = report.get("counts", {})
    key = "message_vi" if lang == "vi" else "message"
    lines = []
    for entry in report.get("errors", []):
        where = f"#{entry['feature']}" if entry.get("feature") is not None else "file"
        code = f" {entry['unit_code']}" if entry.get("unit_code") else ""
        lines.append(f"  ERROR   {where}{code}: {entry[key]}")
    for entry in report.get("warnings", []):
        code = f" {entry['unit_code']}" if entry.get("unit_code") else ""
        lines.append(f"  WARNING{code}: {entry[key]}")
    if report.get("truncated"):
        lines.append(f"  … {counts.get('errors', 0)} errors and {counts.get('warnings', 0)} warnings in total")
    return lines


__all__ = [
    "BoundaryError",
    "BoundaryReport",
    "BoundaryStore",
    "MAX_UPLOAD_BYTES",
    "OVERLAP_TOLERANCE",
    "RoutingArtifact",
    "artifact_version",
    "build_artifact",
    "merge_collections",
    "process_bytes",
    "process_upload",
    "status_lines",
    "validate",
]
