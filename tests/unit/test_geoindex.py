"""civic.geo.index: routing identical to a brute-force point-in-polygon check, artifact round trip, snapping.

The data is bench/national.py's synthetic set at 300 units (same generator as the national bench):
Voronoi wards with wiggly edges shared exactly between neighbours, MultiPolygons (exclaves,
islands), wards enclosed in wards (holes) and unit-less lakes.
Tie rule under test: a point goes to the LOWEST CODE among the units whose geometry covers it.
"""

from __future__ import annotations

import importlib.util
import math
import struct
import sys
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import shapely

from civic.geo.index import GeoIndex

ROOT = Path(__file__).resolve().parents[2]


def load_national():
    if "national" not in sys.modules:
        spec = importlib.util.spec_from_file_location("national", ROOT / "bench" / "national.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["national"] = module
        spec.loader.exec_module(module)
    return sys.modules["national"]


def brute_force(wards, lats, lons) -> np.ndarray:
    """Lowest code among the units that cover each point, by testing every unit (fresh, unprepared copies)."""
    codes = [c for c, _ in wards]
    geoms = shapely.from_wkb(shapely.to_wkb(np.array([g for _, g in wards], dtype=object)))
    best = np.full(len(lats), -1)
    for i in sorted(range(len(codes)), key=codes.__getitem__, reverse=True):  # lowest code written last
        best[shapely.intersects_xy(geoms[i], lons, lats)] = i
    return best


def vertex_owners(wards) -> dict[tuple[float, float], set[int]]:
    """Every ring vertex → the units having it as a vertex."""
    owners = defaultdict(set)
    for i, (_, g) in enumerate(wards):
        for x, y in shapely.get_coordinates(g).tolist():
            owners[(x, y)].add(i)
    return owners


def special_points(wards, rng, *, shared_vertices=3000, per_ring=20) -> tuple[np.ndarray, np.ndarray]:
    """Shared vertices, points on shared edges, hole interiors, MultiPolygon parts: (lats, lons)."""
    owners = vertex_owners(wards)
    shared = [xy for xy, units in owners.items() if len(units) >= 2]
    pts = [shared[i] for i in rng.choice(len(shared), min(len(shared), shared_vertices), replace=False)]
    for _, g in wards:
        for poly in shapely.get_parts(g):
            ring = shapely.get_coordinates(poly.exterior)
            k = rng.integers(len(ring) - 1, size=min(per_ring, len(ring) - 1))
            t = rng.uniform(0, 1, len(k))[:, None]
            on_edge = ring[k] + t * (ring[k + 1] - ring[k])  # on (or a hair off) a boundary segment
            mid = (ring[k] + ring[k + 1]) / 2
            pts.extend(map(tuple, on_edge.tolist() + mid.tolist()))
            pts.append(tuple(poly.representative_point().coords[0]))  # inside every MultiPolygon part
            for hole in poly.interiors:
                inner = shapely.Polygon(hole)
                pts.append(tuple(inner.representative_point().coords[0]))  # inside the hole
                pts.extend(map(tuple, shapely.get_coordinates(hole)[:10].tolist()))  # on the hole's rim
    xy = np.array(pts)
    return xy[:, 1], xy[:, 0]


@pytest.fixture(scope="module")
def wards():
    return load_national().national_wards(seed=7, n=300)


@pytest.fixture(scope="module")
def index(wards):
    return GeoIndex.build(wards)


@pytest.fixture(scope="module")
def loaded(index):
    return GeoIndex.from_bytes(index.to_bytes())


def random_points(index, rng, n):
    south, west, north, east = index.bounds()
    pad = 0.2
    return rng.uniform(south - pad, north + pad, n), rng.uniform(west - pad, east + pad, n)


def test_dataset_has_the_hard_cases(wards):
    geoms = np.array([g for _, g in wards], dtype=object)
    assert len(wards) == 300 and len({c for c, _ in wards}) == 300
    assert shapely.is_valid(geoms).all()
    assert (shapely.get_type_id(geoms) == 6).sum() >= 3  # MultiPolygons
    assert sum(len(p.interiors) for g in geoms for p in shapely.get_parts(g)) >= 3  # holes
    owners = vertex_owners(wards)
    assert sum(len(u) >= 3 for u in owners.values()) > 100  # vertices shared by 3 units
    # Deterministic.
    again = load_national().national_wards(seed=7, n=300)
    assert [c for c, _ in again] == [c for c, _ in wards]
    assert all(a.equals_exact(b, 0) for (_, a), (_, b) in zip(again, wards))


@pytest.mark.parametrize("which", ["index", "loaded"])
def test_random_points_match_brute_force(wards, index, loaded, which):
    idx = index if which == "index" else loaded
    rng = np.random.default_rng(1)
    lats, lons = random_points(idx, rng, 40_000)
    got = idx.locate_many(lats, lons)
    expect = brute_force(wards, lats, lons)
    assert got.dtype == np.int32
    assert (got >= 0).sum() > 5_000 and (got == -1).sum() > 5_000
    np.testing.assert_array_equal(got, expect)


def test_edges_vertices_holes_and_parts_match_brute_force(wards, loaded):
    rng = np.random.default_rng(2)
    lats, lons = special_points(wards, rng)
    got = loaded.locate_many(lats, lons)
    np.testing.assert_array_equal(got, brute_force(wards, lats, lons))
    # Single calls agree with the batch call.
    for i in rng.choice(len(lats), 2000, replace=False):
        assert loaded.locate(lats[i], lons[i]) == (loaded.codes[got[i]] if got[i] >= 0 else None)


def test_shared_vertices_go_to_the_lowest_code(wards, loaded):
    """Independent of GEOS: a ring vertex is covered by every unit that has it, and (exact shared
    edges, no overlaps) by no other, so it must go to the lowest code among its owners."""
    codes = [c for c, _ in wards]
    shared = [(xy, units) for xy, units in vertex_owners(wards).items() if len(units) >= 2]
    xy = np.array([p for p, _ in shared])
    got = loaded.locate_many(xy[:, 1], xy[:, 0])
    expect = [min(units, key=codes.__getitem__) for _, units in shared]
    assert [loaded.codes[g] for g in got] == [codes[e] for e in expect]
    assert len({len(u) for _, u in shared} & {2, 3}) == 2  # edges (2 owners) and triple points (3)


def test_holes_and_multipolygon_parts(wards, loaded):
    by_code = dict(wards)
    enclosed = lakes = 0
    for code, geom in wards:
        for poly in shapely.get_parts(geom):
            inside = poly.representative_point()
            assert loaded.locate(inside.y, inside.x) == code  # every part, islands and exclaves included
            for hole in poly.interiors:
                p = shapely.Polygon(hole).representative_point()
                found = loaded.locate(p.y, p.x)
                assert found != code
                if found is None:
                    lakes += 1
                else:
                    enclosed += 1
                    assert by_code[found].covers(p)
    assert enclosed >= 3 and lakes >= 1


def test_outside_and_odd_inputs(loaded):
    assert loaded.locate(0.0, 0.0) is None
    assert loaded.locate(48.85, 2.35) is None
    assert loaded.locate(float("nan"), 105.0) is None
    assert loaded.locate(21.0, float("inf")) is None
    out = loaded.locate_many([0.0, float("nan"), 90.0], [0.0, 105.0, 180.0])
    assert out.tolist() == [-1, -1, -1]
    assert loaded.locate_many([], []).shape == (0,)
    grid = loaded.locate_many(np.full((2, 3), 21.03), np.full((2, 3), 105.85))
    assert grid.shape == (2, 3) and grid.dtype == np.int32
    with pytest.raises(ValueError):
        loaded.locate_many([1.0, 2.0], [1.0])


def test_round_trip_and_accessors(wards, index, loaded):
    assert loaded.codes == index.codes == [c for c, _ in wards]
    assert loaded.bounds() == index.bounds()
    south, west, north, east = loaded.bounds()
    minx, miny, maxx, maxy = shapely.total_bounds(np.array([g for _, g in wards], dtype=object))
    assert (south, west, north, east) == (miny, minx, maxy, maxx)
    for code, geom in wards[:50]:
        assert loaded.geometry(code).equals_exact(geom, 0)
        assert loaded.geometry(code).geom_type == geom.geom_type
    assert loaded.geometry("no-such-code") is None
    assert loaded.to_bytes() == index.to_bytes()  # deterministic artifact


def _local_distance_m(geom, lat, lon):
    kx, ky = 111_320.0 * math.cos(math.radians(lat)), 110_574.0
    local = shapely.transform(geom, lambda xy: (xy - [lon, lat]) * [kx, ky])
    return shapely.distance(local, shapely.Point(0, 0))


def test_nearest_snaps_points_just_outside(wards, loaded):
    rng = np.random.default_rng(3)
    owners = vertex_owners(wards)
    coast = [xy for xy, units in owners.items() if len(units) == 1]
    checked = 0
    for k in rng.choice(len(coast), 300, replace=False):
        x, y = coast[k]
        (unit,) = owners[(x, y)]
        c = wards[unit][1].centroid
        d = np.array([x - c.x, y - c.y])
        lon, lat = np.array([x, y]) + d / np.hypot(*d) * 0.002  # ~200 m outward
        if loaded.locate(lat, lon) is not None:
            continue  # outward from the centroid is not always outside (concave coast, neighbours)
        dist = [_local_distance_m(g, lat, lon) for _, g in wards]
        best = min(range(len(wards)), key=lambda i: (dist[i], wards[i][0]))
        assert loaded.nearest(lat, lon, 2_000) == wards[best][0]
        assert loaded.nearest(lat, lon, dist[best] * 0.99) is None
        checked += 1
    assert checked > 20
    assert loaded.nearest(0.0, 0.0, 5_000) is None
    inside = wards[0][1].representative_point()
    assert loaded.nearest(inside.y, inside.x, 1_000) == loaded.locate(inside.y, inside.x)


def test_build_refuses_bad_input():
    sq = shapely.box(0, 0, 1, 1)
    with pytest.raises(ValueError, match="duplicate"):
        GeoIndex.build([("a", sq), ("a", shapely.box(2, 2, 3, 3))])
    with pytest.raises(ValueError, match="invalid"):
        GeoIndex.build([("bow", shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]))])
    with pytest.raises(ValueError, match="Polygons"):
        GeoIndex.build([("line", shapely.LineString([(0, 0), (1, 1)]))])
    with pytest.raises(ValueError):
        GeoIndex.build([])


def test_overlapping_inputs_follow_the_tie_rule():
    """Not a clean coverage: overlapping squares still go to the lowest covering code."""
    idx = GeoIndex.from_bytes(GeoIndex.build([("b", shapely.box(0, 0, 2, 2)), ("a", shapely.box(1, 1, 3, 3)),
                                              ("c", shapely.box(0, 0, 3, 3))]).to_bytes())
    assert idx.locate(0.5, 0.5) == "b"
    assert idx.locate(1.5, 1.5) == "a"
    assert idx.locate(2.5, 0.5) == "c"
    assert idx.locate(1.0, 0.5) == "b"  # on b's edge, inside c: b < c
    assert idx.locate(3.0, 3.0) == "a"
    assert idx.locate(3.0001, 3.0) is None


def test_garbage_bytes_are_refused_clearly(loaded):
    good = loaded.to_bytes()
    rng = np.random.default_rng(4)
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    bad_version = bytearray(good)
    bad_version[7] = 99
    head_len = struct.unpack_from("<I", good, 8)[0]
    cases = {
        "empty": b"",
        "text": b"not an index at all",
        "random": rng.bytes(4096),
        "geojson": b'{"type": "FeatureCollection", "features": []}',
        "truncated": good[: len(good) // 3],
        "truncated header": good[: 12 + head_len // 2],
        "flipped byte": bytes(flipped),
        "version": bytes(bad_version),
        "bad header json": good[:12] + b"[" + good[13:],
        "zlib garbage": good[:12] + b"x" * head_len + zlib.compress(b"abc"),
    }
    for name, data in cases.items():
        with pytest.raises(ValueError):
            GeoIndex.from_bytes(data)
            pytest.fail(f"accepted {name}")
    with pytest.raises(ValueError):
        GeoIndex.from_bytes("a string")  # type: ignore[arg-type]
    assert GeoIndex.from_bytes(bytearray(good)).codes == loaded.codes
    assert GeoIndex.from_bytes(memoryview(good)).codes == loaded.codes
