"""Map cells: a fixed 0.25° grid that the Reports table indexes (GSI ByCell) for the public feed.

A plain grid (not geohash) because covering a bounding box is then two ranges of integers.
0.25° is about 28 km: a city's bbox is a handful of cells, a province's a few dozen.
"""

from __future__ import annotations

import math

CELL_DEGREES = 0.25
MAX_FEED_CELLS = 120
# Locations of private categories are published rounded to this many decimals (~1.1 km).
PRIVATE_DECIMALS = 2

BBox = tuple[float, float, float, float]  # south, west, north, east


def _index(value: float) -> int:
    return math.floor(value / CELL_DEGREES)


def cell_of(lat: float, lon: float) -> str:
    return f"g{_index(lat)}:{_index(lon)}"


def cells_covering(bbox: BBox) -> list[str]:
    south, west, north, east = bbox
    return [
        f"g{i}:{j}"
        for i in range(_index(south), _index(north) + 1)
        for j in range(_index(west), _index(east) + 1)
    ]


def cell_count(bbox: BBox) -> int:
    """How many cells cover the box, computed without listing them (a world bbox is ~1M cells)."""
    south, west, north, east = bbox
    return (_index(north) - _index(south) + 1) * (_index(east) - _index(west) + 1)


def inside(bbox: BBox, lat: float, lon: float) -> bool:
    south, west, north, east = bbox
    return south <= lat <= north and west <= lon <= east


def parse_bbox(raw: str) -> BBox:
    """`south,west,north,east` in degrees; raises ValueError with a reason."""
    parts = raw.split(",")
    if len(parts) != 4:
        raise ValueError("bbox needs four numbers: south,west,north,east")
    south, west, north, east = (float(p) for p in parts)
    if not all(math.isfinite(v) for v in (south, west, north, east)):
        raise ValueError("bbox values must be finite numbers")
    if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
        raise ValueError("bbox must have south < north and west < east, within ±90/±180")
    return south, west, north, east


def intersection(a: BBox, b: BBox) -> BBox | None:
    """The part two boxes share, or None when they are apart."""
    south, west, north, east = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    return (south, west, north, east) if south <= north and west <= east else None


def rounded(lat: float, lon: float, decimals: int = PRIVATE_DECIMALS) -> tuple[float, float]:
    return round(lat, decimals), round(lon, decimals)


EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bbox_around(lat: float, lon: float, radius_m: float) -> BBox:
    """The box that contains the circle of `radius_m` around a point."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    return (max(-90.0, lat - dlat), max(-180.0, lon - dlon), min(90.0, lat + dlat), min(180.0, lon + dlon))
