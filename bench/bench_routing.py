"""Routing benchmarks for civic.geo.index.GeoIndex vs a bare shapely STRtree, printed side by side.

Run: ``.venv/bin/python bench/bench_routing.py`` (about half a minute; bounded well under 2 minutes).

On the synthetic national set (bench/national.py: 3,321 units, ~335k vertices), all in one run:

(a) one routing call: ``GeoIndex.locate(lat, lon)`` vs ``tree.query(Point, predicate="intersects")``
    on the same polygons, µs/call over the same ``--calls`` points, the Point built per call
    (what a router given lat/lon must do) and, stricter, prebuilt; ratio vs the prebuilt one.
(b) batch routing: ``GeoIndex.locate_many(lats, lons)`` (numpy in, int32 unit indexes out) vs
    ``tree.query(points, predicate="intersects")`` on prebuilt points (tie-breaking not even
    included for the tree); points/s, best of ``--repeat``; plus the first call after a load
    (GEOS builds its prepared-geometry indexes lazily).
    Two point sets: uniform over the units' land area (the hard case: ~30% fall in cells crossed
    by a boundary) and uniform over the bounding box (mostly sea/foreign, like junk GPS).
(c) cold load of ``GeoIndex.from_bytes`` on the artifact bytes: median over ``--loads`` fresh
    interpreters (import excluded) and over fresh objects in this process; artifact size.
(d) build time of the index (and generation time of the data set).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from national import VIETNAM_UNITS, describe, national_wards  # noqa: E402

from civic.geo.index import GeoIndex  # noqa: E402

LOAD_CHILD = """
import sys, time
from civic.geo.index import GeoIndex
data = open(sys.argv[1], "rb").read()
t = time.perf_counter()
index = GeoIndex.from_bytes(data)
t_load = time.perf_counter() - t
t = time.perf_counter()
index.locate(21.0285, 105.8542)
t_first = time.perf_counter() - t
print(t_load * 1e3, t_first * 1e3)
"""


def land_points(index: GeoIndex, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    south, west, north, east = index.bounds()
    lats, lons = [], []
    got = 0
    while got < n:
        lat = rng.uniform(south, north, 4 * n)
        lon = rng.uniform(west, east, 4 * n)
        keep = index.locate_many(lat, lon) >= 0
        lats.append(lat[keep])
        lons.append(lon[keep])
        got += int(keep.sum())
    return np.concatenate(lats)[:n], np.concatenate(lons)[:n]


def best_rate(fn, n: int, repeat: int) -> float:
    best = min(_timed(fn) for _ in range(repeat))
    return n / best


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description="GeoIndex vs STRtree routing benchmark")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("-n", type=int, default=VIETNAM_UNITS, help="number of units")
    parser.add_argument("--points", type=int, default=1_000_000, help="batch size")
    parser.add_argument("--calls", type=int, default=20_000, help="single calls timed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--loads", type=int, default=5, help="fresh interpreters for the cold load")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed + 1)

    t = time.perf_counter()
    wards = national_wards(args.seed, args.n)
    t_gen = time.perf_counter() - t
    print(f"data set: {describe(wards)}; generated in {t_gen:.2f} s")

    t = time.perf_counter()
    built = GeoIndex.build(wards)
    t_build = time.perf_counter() - t
    artifact = built.to_bytes()
    print(f"index: {built.stats()}")

    # Fresh objects from the artifact, as a Lambda would have them.
    index = GeoIndex.from_bytes(artifact)
    geoms = shapely.from_wkb(shapely.to_wkb(np.array([g for _, g in wards], dtype=object)))
    tree = shapely.STRtree(geoms)

    # (b) first, so that the "first call" figure really is the first use of these objects.
    lat_land, lon_land = land_points(built, args.points, rng)
    t = time.perf_counter()
    index.locate_many(lat_land, lon_land)
    first_batch = args.points / (time.perf_counter() - t)
    pts_land = shapely.points(lon_land, lat_land)
    tree.query(pts_land[:1000], predicate="intersects")  # let the tree build itself/prepare
    south, west, north, east = index.bounds()
    lat_box = rng.uniform(south, north, args.points)
    lon_box = rng.uniform(west, east, args.points)
    pts_box = shapely.points(lon_box, lat_box)
    batch = {}
    for name, la, lo, pts in (("land", lat_land, lon_land, pts_land), ("bbox", lat_box, lon_box, pts_box)):
        ours = best_rate(lambda la=la, lo=lo: index.locate_many(la, lo), len(la), args.repeat)
        theirs = best_rate(lambda pts=pts: tree.query(pts, predicate="intersects"), len(la), 1)
        batch[name] = (ours, theirs)
    in_land = np.mean(index.locate_many(lat_box, lon_box) >= 0)

    # (a) single calls on land points.
    la = lat_land[: args.calls].tolist()
    lo = lon_land[: args.calls].tolist()
    pre = list(pts_land[: args.calls])
    Point = shapely.Point

    def ours_single():
        locate = index.locate
        for y, x in zip(la, lo):
            locate(y, x)

    def tree_built_per_call():
        query = tree.query
        for y, x in zip(la, lo):
            query(Point(x, y), predicate="intersects")

    def tree_prebuilt():
        query = tree.query
        for p in pre:
            query(p, predicate="intersects")

    # The whole routing decision the route function makes: locate, agencies, rules, fallbacks.
    from types import SimpleNamespace

    from civic.domain.units import RoutingRule, Unit, UnitTree
    from civic.services.routing import ArtifactLocator
    from civic.services.routing import locate as route_locate

    units = [Unit("VN", "Việt Nam", "Viet Nam", "country")] + [
        Unit(code, code, code, "commune", "VN", categories=["traffic", "environment"]) for code in index.codes
    ]
    rules = [RoutingRule("elec", "electricity", "ancestor", "VN", "VN")]
    unit_tree = UnitTree(units)
    locator = ArtifactLocator(SimpleNamespace(admin=index, agency=None, agencies_at=lambda lat, lon: []), 500.0)

    def ours_decision():
        for y, x in zip(la, lo):
            route_locate(locator, unit_tree, rules, y, x, "traffic")

    us = {name: 1e6 / best_rate(fn, args.calls, args.repeat)
          for name, fn in (("ours", ours_single), ("tree_pt", tree_built_per_call), ("tree_pre", tree_prebuilt),
                           ("decision", ours_decision))}

    # (c) cold load.
    with tempfile.NamedTemporaryFile(suffix=".geoindex", delete=False) as f:
        f.write(artifact)
    try:
        runs = [subprocess.run([sys.executable, "-c", LOAD_CHILD, f.name], capture_output=True, text=True, check=True)
                for _ in range(args.loads)]
    finally:
        Path(f.name).unlink()
    child = [tuple(map(float, r.stdout.split())) for r in runs]
    load_child = statistics.median(c[0] for c in child)
    first_locate = statistics.median(c[1] for c in child)
    load_here = statistics.median(_timed(lambda: GeoIndex.from_bytes(artifact)) * 1e3 for _ in range(9))

    # Agreement between the two on the land points (tie rule: lowest code among covering units).
    sample = args.calls
    pi, gi = tree.query(pts_land[:sample], predicate="intersects")
    codes = np.array([c for c, _ in wards], dtype=object)
    expect = {}
    for p, g in zip(pi.tolist(), gi.tolist()):
        expect[p] = min(expect.get(p, codes[g]), codes[g])
    got = index.locate_many(lat_land[:sample], lon_land[:sample])
    agree = all(index.codes[got[i]] == expect.get(i) for i in range(sample))

    w = 44
    print()
    print(f"{'':{w}} {'GeoIndex':>14} {'STRtree':>14} {'ratio':>8}")
    print(f"{'(a) one call, µs (tree: Point prebuilt)':{w}} {us['ours']:14.2f} {us['tree_pre']:14.2f} "
          f"{us['ours'] / us['tree_pre']:7.2f}x   (target ≤ 2x)")
    print(f"{'    whole decision (locate+rules), µs':{w}} {us['decision']:14.2f} {us['tree_pre']:14.2f} "
          f"{us['decision'] / us['tree_pre']:7.2f}x   (target ≤ 2x)")
    print(f"{'    one call, µs (tree: Point per call)':{w}} {us['ours']:14.2f} {us['tree_pt']:14.2f} "
          f"{us['ours'] / us['tree_pt']:7.2f}x")
    for name, label in (("land", "land points"), ("bbox", f"bbox points ({in_land:.0%} on land)")):
        ours, theirs = batch[name]
        print(f"{'(b) batch, points/s, ' + label:{w}} {ours:14,.0f} {theirs:14,.0f} {ours / theirs:7.1f}x"
              + ("   (target ≥ 1,000,000/s)" if name == "land" else ""))
    print(f"{'    first batch after load, land, points/s':{w}} {first_batch:14,.0f}")
    print(f"{'(c) cold load ms, fresh interpreter, median':{w}} {load_child:14.2f} {'':>14} {'':>8}   (target ≤ 50 ms)")
    print(f"{'    cold load ms, fresh objects, median':{w}} {load_here:14.2f}")
    print(f"{'    first locate() after load, ms':{w}} {first_locate:14.3f}")
    print(f"{'    artifact size':{w}} {len(artifact) / 1e6:11.2f} MB")
    print(f"{'(d) build s':{w}} {t_build:14.2f}")
    print(f"{'    agreement with STRtree + tie rule':{w}} {'yes' if agree else 'NO'} ({sample:,} land points)")
    if not agree:
        sys.exit(1)


if __name__ == "__main__":
    main()
