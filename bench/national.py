"""A deterministic, national-scale synthetic set of administrative units (communes/wards).

``national_wards(seed, n)`` returns ``n`` (3,321 by default: Vietnam's count of communes/wards)
``(code, geometry)`` pairs over a hand-drawn, roughly Vietnam-shaped outline (lat 8.5–23.4,
lon 102.1–109.5). The geometry is built to look like real boundary data where it matters for a
point-in-polygon index:

* Cells are Voronoi polygons of seeds that are partly uniform over the land (rural communes,
  ~50–500 km²) and partly clustered around cities (urban wards, ~1–20 km²).
* Every Voronoi edge is densified and perturbed ONCE and the same polyline is used (reversed)
  by both neighbours, so shared boundaries match vertex for vertex — like a clean topology.
  Edges against "outside" seeds (sea, neighbouring countries) become the wiggly coast/border.
  An edge whose wiggle would make a cell invalid is straightened (for both sides).
* Some units are MultiPolygons: a cell given to a non-adjacent unit (exclave) or an offshore
  island attached to a coastal unit; some islands are units of their own.
* Some units are holes: a blob carved out of a cell becomes its own unit (ward enclosed in a
  ward); a few carved blobs are left as unit-less "lakes" (points there route to nothing).

Codes are 5-digit strings numbered roughly north to south; the returned list is in a shuffled
order so that list index order ≠ code order (tie rules that rely on codes get exercised).

Generation takes ~1.5 s for the national set (0.2 s for 300 units), so nothing is cached.
``write_geojson`` writes the set as a FeatureCollection with ``properties.unit_code``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

VIETNAM_UNITS = 3321

# Rough outline of Vietnam's mainland as (lon, lat), clockwise from Lũng Cú (northernmost point).
OUTLINE = [
    (105.32, 23.39), (105.9, 22.95), (106.7, 22.86), (106.75, 22.3), (106.7, 21.95), (107.35, 21.6),
    (108.0, 21.52), (107.5, 21.2), (106.8, 20.8), (106.55, 20.4), (106.1, 19.95), (105.85, 19.45),
    (105.75, 18.75), (106.4, 18.1), (106.6, 17.47), (107.2, 16.9), (107.6, 16.55), (108.25, 16.05),
    (108.85, 15.3), (109.1, 14.5), (109.25, 13.77), (109.35, 13.1), (109.2, 12.25), (109.22, 11.85),
    (109.0, 11.45), (108.55, 11.1), (108.1, 10.93), (107.3, 10.5), (106.75, 10.2), (106.5, 9.6),
    (105.75, 9.1), (105.15, 8.6), (104.75, 8.62), (104.85, 9.3), (105.08, 9.98), (104.48, 10.38),
    (104.95, 10.75), (105.5, 10.95), (106.1, 11.0), (106.2, 11.7), (106.5, 12.0), (107.45, 12.3),
    (107.6, 12.9), (107.45, 13.8), (107.55, 14.7), (107.4, 15.4), (107.2, 15.9), (107.0, 16.35),
    (106.6, 16.7), (106.2, 17.3), (105.6, 18.0), (105.1, 18.5), (104.4, 19.0), (103.95, 19.3),
    (104.4, 19.7), (104.3, 20.4), (103.7, 20.7), (103.2, 20.9), (102.9, 21.4), (102.6, 21.9),
    (102.14, 22.4), (102.5, 22.75), (103.4, 22.75), (103.95, 22.5), (104.35, 22.8), (104.9, 23.15),
]
# (lon, lat, relative weight, sigma in degrees): where urban (small) wards cluster.
CITIES = [
    (105.85, 21.03, 6, 0.10), (106.68, 10.78, 8, 0.12), (106.68, 20.86, 3, 0.07), (108.2, 16.05, 3, 0.06),
    (105.78, 10.03, 2, 0.06), (107.08, 10.35, 1, 0.05), (109.19, 12.24, 1, 0.04), (105.69, 18.67, 1, 0.04),
    (107.59, 16.46, 1, 0.04), (106.32, 20.43, 1, 0.04), (105.84, 21.59, 1, 0.04), (108.0, 12.67, 1, 0.05),
    (106.95, 10.95, 2, 0.06), (106.3, 20.95, 1, 0.04), (109.22, 13.78, 1, 0.04), (105.97, 20.25, 1, 0.04),
]
# Offshore anchors for islands (lon, lat): Phú Quốc, Côn Đảo, Cát Bà, Lý Sơn, Phú Quý, Bạch Long Vĩ, ...
ISLANDS = [
    (103.97, 10.23), (106.61, 8.69), (107.03, 20.78), (109.12, 15.38), (108.93, 10.52), (107.73, 20.13),
    (107.45, 21.05), (108.5, 15.95), (109.3, 12.6), (104.3, 9.9), (106.9, 19.9), (107.9, 21.25),
    (109.4, 11.9), (106.2, 9.2), (104.6, 8.3), (108.95, 14.9),
]
ROUND = 1e-7  # coordinates are snapped to this grid (~1 cm) so shared vertices are bit-identical


def _outline() -> Polygon:
    return Polygon(OUTLINE)


def _land_seeds(rng: np.random.Generator, count: int, outline: Polygon, min_sep: float) -> np.ndarray:
    """Half uniform over the outline, half clustered around cities; no two seeds closer than min_sep."""
    shapely.prepare(outline)
    minx, miny, maxx, maxy = outline.bounds
    weights = np.array([c[2] for c in CITIES], float)
    weights /= weights.sum()
    taken: dict[tuple[int, int], list[tuple[float, float]]] = {}
    seeds: list[tuple[float, float]] = []
    while len(seeds) < count:
        batch = 4096
        uniform = rng.random(batch) < 0.7
        city = rng.choice(len(CITIES), size=batch, p=weights)
        sig = np.array([CITIES[c][3] for c in city]) * rng.uniform(0.3, 1.6, batch)
        cx = np.array([CITIES[c][0] for c in city]) + rng.normal(0, 1, batch) * sig
        cy = np.array([CITIES[c][1] for c in city]) + rng.normal(0, 1, batch) * sig
        x = np.where(uniform, rng.uniform(minx, maxx, batch), cx)
        y = np.where(uniform, rng.uniform(miny, maxy, batch), cy)
        inside = shapely.contains_xy(outline, x, y)
        for px, py in zip(x[inside], y[inside]):
            key = (int(px / min_sep), int(py / min_sep))
            near = [
                q for dx in (-1, 0, 1) for dy in (-1, 0, 1) for q in taken.get((key[0] + dx, key[1] + dy), ())
            ]
            if any((px - qx) ** 2 + (py - qy) ** 2 < min_sep**2 for qx, qy in near):
                continue
            taken.setdefault(key, []).append((px, py))
            seeds.append((px, py))
            if len(seeds) == count:
                break
    return np.array(seeds)


def _outside_seeds(rng: np.random.Generator, outline: Polygon, spacing: float) -> np.ndarray:
    """A jittered lattice around (not in) the outline: sea and neighbouring countries."""
    minx, miny, maxx, maxy = outline.bounds
    xs, ys = np.meshgrid(np.arange(minx - 1.5, maxx + 1.5, spacing), np.arange(miny - 1.5, maxy + 1.5, spacing))
    x = xs.ravel() + rng.uniform(-0.3, 0.3, xs.size) * spacing
    y = ys.ravel() + rng.uniform(-0.3, 0.3, xs.size) * spacing
    keep = ~shapely.intersects_xy(outline.buffer(spacing * 0.35), x, y)
    return np.column_stack([x[keep], y[keep]])


def _wiggle(rng: np.random.Generator, a: np.ndarray, b: np.ndarray, km_per_deg: float) -> np.ndarray:
    """Interior vertices of a densified, perturbed a→b edge (endpoints excluded)."""
    vec = b - a
    length = float(np.hypot(*vec))
    length_km = length * km_per_deg
    if length_km < 0.15:
        return np.empty((0, 2))
    step_km = rng.uniform(0.12, 0.6)
    n = int(min(max(length_km / step_km, 2), 60))
    t = (np.arange(1, n) + rng.uniform(-0.3, 0.3, n - 1)) / n
    # Fractal-ish perpendicular offset: a few sine octaves with random phases, tapered to 0 at the ends.
    offset = np.zeros(n - 1)
    for octave in range(1, 4):
        offset += rng.uniform(-1, 1) / octave * np.sin(np.pi * octave * t + rng.uniform(0, np.pi))
    offset += rng.normal(0, 0.12, n - 1)
    offset *= 0.08 * length * np.sin(np.pi * t)
    normal = np.array([-vec[1], vec[0]]) / length
    return a + t[:, None] * vec + offset[:, None] * normal


def _snap(xy: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(xy) / ROUND) * ROUND


def _blob(rng: np.random.Generator, cx: float, cy: float, radius: float, n: int) -> np.ndarray:
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = radius * (1 + 0.25 * np.sin(3 * ang + rng.uniform(0, 6)) + rng.uniform(-0.1, 0.1, n))
    ring = _snap(np.column_stack([cx + r * np.cos(ang), cy + r * np.sin(ang)]))
    return np.vstack([ring, ring[:1]])


def national_wards(seed: int = 2025, n: int = VIETNAM_UNITS) -> list[tuple[str, shapely.Geometry]]:
    """``n`` deterministic synthetic units over a Vietnam-like outline; see the module docstring."""
    if n < 20:
        raise ValueError("n must be at least 20")
    rng = np.random.default_rng(seed)
    outline = _outline()
    n_holes = max(2, n // 100)  # carved wards (a ward enclosed in another)
    n_lakes = max(1, n // 300)  # carved holes that belong to no unit
    n_exclaves = max(2, n // 80)  # cells that belong to a non-adjacent unit
    n_island_units = max(1, n // 300)
    n_island_parts = max(1, n // 250)
    n_land = n - n_holes - n_island_units + n_exclaves
    scale = np.sqrt(VIETNAM_UNITS / n)  # a smaller set covers the same outline with bigger cells
    land = _land_seeds(rng, n_land, outline, min_sep=0.006 * scale)
    outside = _outside_seeds(rng, outline, spacing=0.16 * scale)
    seeds = np.vstack([land, outside])
    env = shapely.box(*(np.r_[seeds.min(0) - 1, seeds.max(0) + 1]))
    vor = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=env, ordered=True))
    km_per_deg = 111.0 * np.cos(np.radians(16))

    # Canonical edges: each undirected Voronoi edge of a land cell gets one wiggle, used by both sides.
    rings = []
    for cell in vor[:n_land]:
        ring = _snap(shapely.get_coordinates(cell.exterior))
        if shapely.is_ccw(cell.exterior):
            ring = ring[::-1]  # clockwise shells, counter-clockwise holes is not required, but be consistent
        keep = np.r_[True, np.any(ring[1:] != ring[:-1], axis=1)]
        rings.append(ring[keep])
    wiggles: dict[tuple, np.ndarray] = {}
    straight: set[tuple] = set()

    def edge_key(p, q):
        p, q = tuple(p), tuple(q)
        return (p, q) if p < q else (q, p)

    def build_cell(i: int) -> Polygon:
        ring = rings[i]
        out = []
        for p, q in zip(ring[:-1], ring[1:]):
            key = edge_key(p, q)
            out.append(p[None, :])
            if key in straight:
                continue
            mid = wiggles[key]
            out.append(mid if tuple(p) == key[0] else mid[::-1])
        out.append(ring[:1])
        return Polygon(np.vstack(out))

    for ring in rings:
        for p, q in zip(ring[:-1], ring[1:]):
            key = edge_key(p, q)
            if key not in wiggles:
                wiggles[key] = _snap(_wiggle(rng, np.array(key[0]), np.array(key[1]), km_per_deg))
    cells = np.array([build_cell(i) for i in range(n_land)], dtype=object)
    edge_cells: dict[tuple, list[int]] = {}
    for i, ring in enumerate(rings):
        for p, q in zip(ring[:-1], ring[1:]):
            edge_cells.setdefault(edge_key(p, q), []).append(i)
    # Straighten the edges of invalid cells (and of cells in an invalid coverage) until all is clean.
    for _ in range(10):
        bad = set(np.flatnonzero(~shapely.is_valid(cells)).tolist())
        if not bad and shapely.coverage_is_valid(cells):
            break
        if not bad:
            invalid_edges = shapely.coverage_invalid_edges(cells)
            bad = set(np.flatnonzero(~shapely.is_empty(invalid_edges)).tolist())
        touched = set()
        for i in bad:
            ring = rings[i]
            for p, q in zip(ring[:-1], ring[1:]):
                key = edge_key(p, q)
                straight.add(key)
                touched.update(edge_cells[key])
        for i in touched:
            cells[i] = build_cell(i)
    else:
        raise RuntimeError("could not make a valid coverage")

    # Which cells touch the outside (coastal/border) and who neighbours whom.
    coastal = np.zeros(n_land, bool)
    neighbours: list[set[int]] = [set() for _ in range(n_land)]
    for owners in edge_cells.values():
        if len(owners) == 1:
            coastal[owners[0]] = True
        else:
            for a in owners:
                neighbours[a].update(b for b in owners if b != a)
    tree = shapely.STRtree(cells)
    for i, j in zip(*tree.query(cells, predicate="touches")):  # also neighbours through a single vertex
        if i != j:
            neighbours[i].add(int(j))

    order = rng.permutation(n_land)
    used: set[int] = set()
    parts: dict[int, list[Polygon]] = {}  # unit (land cell index) → extra parts (exclaves, islands)
    holes: dict[int, list[np.ndarray]] = {}
    extra_units: list[Polygon] = []  # carved wards and own islands

    # Exclaves: a cell handed to a unit two steps away (not touching it), becoming a MultiPolygon part.
    exclave_of: dict[int, int] = {}
    for i in order:
        if len(exclave_of) == n_exclaves:
            break
        if i in used:
            continue
        ring2 = set().union(*(neighbours[j] for j in neighbours[i])) - neighbours[i] - {i}
        ring2 = sorted(j for j in ring2 if j not in used and not (neighbours[j] & used))
        if not ring2:
            continue
        target = ring2[int(rng.integers(len(ring2)))]
        exclave_of[int(i)] = target
        used.update({int(i), target})
        parts.setdefault(target, []).append(cells[i])

    # Holes: carve a blob inside an inland cell; most become wards, a few stay unit-less lakes.
    carved = 0
    for i in order:
        if carved == n_holes + n_lakes:
            break
        if i in used or coastal[i] or i in holes:
            continue
        cell = cells[i]
        c = cell.centroid
        radius = 0.3 * np.sqrt(cell.area / np.pi)
        for _ in range(6):
            blob = _blob(rng, c.x, c.y, radius, int(rng.integers(24, 90)))
            if cell.contains_properly(Polygon(blob)):
                break
            radius *= 0.6
        else:
            continue
        holes.setdefault(int(i), []).append(blob)
        if carved < n_holes:
            extra_units.append(Polygon(blob))
        carved += 1

    # Islands: blobs offshore, clear of the mainland cells and of each other.
    land_union = shapely.coverage_union_all(cells)
    shapely.prepare(land_union)
    islands: list[Polygon] = []
    tries = 0
    while len(islands) < n_island_units + n_island_parts and tries < 5000:
        tries += 1
        ax, ay = ISLANDS[tries % len(ISLANDS)]
        cx, cy = ax + rng.normal(0, 0.25), ay + rng.normal(0, 0.25)
        blob = Polygon(_blob(rng, cx, cy, rng.uniform(0.01, 0.08) * scale ** 0.5, int(rng.integers(20, 120))))
        if not blob.is_valid or land_union.distance(blob) < 0.02 or any(blob.distance(o) < 0.02 for o in islands):
            continue
        islands.append(blob)
    coast_idx = np.flatnonzero(coastal & ~np.isin(np.arange(n_land), list(exclave_of)))
    coast_tree = shapely.STRtree(cells[coast_idx])
    for k, isl in enumerate(islands):
        if k < n_island_units:
            extra_units.append(isl)
        else:
            owner = int(coast_idx[coast_tree.nearest(isl)])
            parts.setdefault(owner, []).append(isl)

    units: list[shapely.Geometry] = []
    for i in range(n_land):
        if i in exclave_of:
            continue
        shell = cells[i]
        if i in holes:
            shell = Polygon(shell.exterior.coords, [h[::-1] for h in holes[i]])
        geom = MultiPolygon([shell, *parts[i]]) if i in parts else shell
        units.append(geom)
    units.extend(extra_units)
    units_arr = np.array(units, dtype=object)
    assert len(units_arr) == n, (len(units_arr), n)
    bad = ~shapely.is_valid(units_arr)
    if bad.any():
        raise RuntimeError(f"{int(bad.sum())} invalid units")
    # Codes north → south like the national register (with gaps), list order shuffled.
    cy = shapely.get_y(shapely.centroid(units_arr))
    cx = shapely.get_x(shapely.centroid(units_arr))
    by_north = np.lexsort((cx, -cy))
    codes = np.empty(n, dtype=object)
    codes[by_north] = [f"{k * 7 + 1:05d}" for k in range(n)]
    shuffled = rng.permutation(n)
    return [(str(codes[k]), units_arr[k]) for k in shuffled]


def write_geojson(wards: list[tuple[str, shapely.Geometry]], path: str | Path) -> None:
    features = [
        {"type": "Feature", "properties": {"unit_code": code}, "geometry": json.loads(shapely.to_geojson(geom))}
        for code, geom in wards
    ]
    Path(path).write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def describe(wards: list[tuple[str, shapely.Geometry]]) -> str:
    geoms = np.array([g for _, g in wards], dtype=object)
    km2 = shapely.area(geoms) * 111.0 * 111.0 * np.cos(np.radians(shapely.get_y(shapely.centroid(geoms))))
    verts = shapely.get_num_coordinates(geoms)
    multi = int(np.sum(shapely.get_type_id(geoms) == 6))
    with_holes = int(sum(shapely.get_num_interior_rings(p) > 0 for g in geoms for p in shapely.get_parts(g)))
    q = np.percentile
    return (
        f"{len(wards)} units; area km² p5/p50/p95/max {q(km2, 5):.1f}/{q(km2, 50):.1f}/{q(km2, 95):.1f}/"
        f"{km2.max():.0f}; vertices p5/p50/p95/max {q(verts, 5):.0f}/{q(verts, 50):.0f}/{q(verts, 95):.0f}/"
        f"{verts.max()} (total {verts.sum()}); {multi} MultiPolygons; {with_holes} polygons with holes"
    )


if __name__ == "__main__":
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("-n", type=int, default=VIETNAM_UNITS)
    parser.add_argument("--geojson", help="also write the set as a GeoJSON FeatureCollection here")
    args = parser.parse_args()
    t0 = time.perf_counter()
    wards = national_wards(args.seed, args.n)
    print(f"generated in {time.perf_counter() - t0:.1f}s: {describe(wards)}")
    if args.geojson:
        write_geojson(wards, args.geojson)
