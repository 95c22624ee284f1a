"""civic.geo.index at national scale: 100,000 points routed exactly like a brute-force check.

The synthetic national set (bench/national.py: 3,321 units, ~335k vertices, shared wiggly edges,
MultiPolygons, holes). The points: 15,000 shared vertices, ~24,000 points on (or a hair off)
boundary segments plus hole interiors/rims and one in every MultiPolygon part, the other ~61,000
uniform over the bounding box. Brute force: every unit tested (unprepared copies), lowest covering code wins.
Runs in ~15 s (generation 1.5 s, build 1 s, brute force ~8 s).
"""

import numpy as np

from civic.geo.index import GeoIndex
from tests.unit.test_geoindex import brute_force, load_national, special_points

TOTAL = 100_000


def test_national_100k_points_match_brute_force():
    wards = load_national().national_wards()
    assert len(wards) == 3321
    index = GeoIndex.from_bytes(GeoIndex.build(wards).to_bytes())
    rng = np.random.default_rng(11)
    s_lat, s_lon = special_points(wards, rng, shared_vertices=15_000, per_ring=3)
    n_random = TOTAL - len(s_lat)
    assert n_random > 50_000
    south, west, north, east = index.bounds()
    lats = np.concatenate([s_lat, rng.uniform(south, north, n_random)])
    lons = np.concatenate([s_lon, rng.uniform(west, east, n_random)])
    assert len(lats) == TOTAL

    got = index.locate_many(lats, lons)
    expect = brute_force(wards, lats, lons)
    mismatches = np.flatnonzero(got != expect)
    assert mismatches.size == 0, [(lats[i], lons[i], got[i], expect[i]) for i in mismatches[:5]]
    assert (got >= 0).sum() > 40_000  # enough land among them
    # Single calls on a sample agree with the batch call.
    for i in rng.choice(TOTAL, 5_000, replace=False):
        assert index.locate(lats[i], lons[i]) == (index.codes[got[i]] if got[i] >= 0 else None)
