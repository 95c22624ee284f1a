"""A compact point → administrative unit index (commune/ward), fast at national scale.

Why not just an STRtree: a tree query costs a few µs per point in Python and ~3 µs per point in
bulk, and it rebuilds from GeoJSON on every cold start. Most of the plane is far from any
boundary, so most points can be answered by a table lookup.

Design
------
* A uniform grid over the data's bounding box (cells of ~1 km, chosen from the data). Each cell
  holds one int32:
    - ``u >= 0``  the cell (as a closed box, slightly enlarged) is covered by unit ``u`` and
      touches no other unit: every point in it routes to ``u`` without any geometry test;
    - ``-1``      the cell touches no unit: points route to nothing;
    - ``<= -2``   a "mixed" cell (a boundary crosses it): ``-2 - value`` indexes the mixed-cell
      table, whose candidate list holds the units touching the cell, sorted by code.
* Points in mixed cells get exact tests with GEOS on prepared geometries, vectorized:
  ``shapely.intersects_xy`` over (candidate geometry, point) arrays, candidate slot by slot.
  Batch routing is therefore mostly numpy (one gather), plus ~1 exact test per mixed point.
* Tie rule (points on a shared edge or vertex, overlapping inputs): a point goes to the unit
  with the LOWEST CODE (Python string order) among the units whose geometry covers it (closed
  polygon: interior or boundary). Candidates are stored in code order and tested in that order,
  so the first hit is the answer. Brute force: ``min(code for code, g in units if g.covers(pt))``.
* Why the enlarged box: a point's cell is computed in floating point (``floor((x - x0) / dx)``),
  which can put a point lying within ~1e-12 of a cell edge in the neighbouring cell. Classifying
  cells as boxes grown by 1e-6 of a cell makes "pure" cells hold for every point the arithmetic
  can assign to them.

Artifact (``to_bytes``/``from_bytes``) — no pickle, loads with zero-copy numpy views::

    b"CBGEOIX" + format version (1 byte) + u32 little-endian header length + JSON header
    + zero padding to 8 bytes + payload (the arrays, each 8-byte aligned)

The header carries the grid parameters, the codes, the data bounds, the CRC-32 of the payload and
a table of arrays (name, dtype, shape, offset, length, codec "raw" or "zlib"). The arrays are the
grid (zlib: mostly runs of -1 and of the same unit), the mixed-cell candidate table, and the
geometries as ``shapely.to_ragged_array`` parts (coordinates float64 + int32 offsets; Polygons are
stored as single-part MultiPolygons and restored). Anything malformed raises ``ValueError``.
"""

from __future__ import annotations

import json
import math
import struct
import zlib

import numpy as np
import shapely
from shapely import GeometryType

MAGIC = b"CBGEOIX"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<7sBI")  # magic, version, header length
_MAX_CELLS = 2_000_000  # grid size cap: bounds memory (8 MB int32) and artifact size
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON = 111_320.0  # at the equator; times cos(latitude)

# Artifact arrays: name → (dtype, ndim). Anything else in a header is refused.
_ARRAYS = {
    "grid": ("<i4", 1),
    "cand_off": ("<i4", 1),
    "cand": ("<i4", 1),
    "coords": ("<f8", 2),
    "ring_off": ("<i4", 1),
    "part_off": ("<i4", 1),
    "geom_off": ("<i4", 1),
    "single": ("u1", 1),
}


class GeoIndex:
    """Point → unit index. Build it offline with ``build``; ship ``to_bytes``; load with ``from_bytes``."""

    codes: list[str]

    def __init__(self, *, codes, geoms, grid, cand_off, cand, x0, y0, dx, dy, nx, ny, data_bounds):
        self.codes = list(codes)
        self._geoms = geoms  # numpy object array of prepared shapely geometries, index ↔ codes
        self._grid = grid  # int32, ny*nx + 1 (last: a -1 sentinel for points outside the grid)
        self._cand_off = cand_off  # int32, mixed cell m's candidates are cand[cand_off[m]:cand_off[m+1]]
        self._cand = cand  # int32 unit indexes, each cell's slice sorted by code
        self._x0, self._y0, self._dx, self._dy = float(x0), float(y0), float(dx), float(dy)
        self._inv_dx, self._inv_dy = 1.0 / self._dx, 1.0 / self._dy
        self._nx, self._ny = int(nx), int(ny)
        self._data_bounds = tuple(float(v) for v in data_bounds)  # minx, miny, maxx, maxy
        self._by_code: dict[str, int] | None = None
        self._tree = None  # STRtree for nearest(), built on first use

    # ------------------------------------------------------------------ build

    @classmethod
    def build(cls, features, *, cell_deg: float | None = None) -> GeoIndex:
        """Index ``[(code, Polygon | MultiPolygon), ...]`` (lon/lat degrees, x = lon).

        ``cell_deg`` overrides the grid cell size (degrees); by default it is about a sixth of a
        typical unit's extent, capped so the grid holds at most ~2 million cells.
        """
        features = list(features)
        if not features:
            raise ValueError("no features to index")
        codes = [c for c, _ in features]
        if not all(isinstance(c, str) and c for c in codes):
            raise ValueError("every unit code must be a non-empty string")
        if len(set(codes)) != len(codes):
            dupes = sorted({c for c in codes if codes.count(c) > 1})[:5]
            raise ValueError(f"duplicate unit codes: {dupes}")
        geoms = np.empty(len(features), dtype=object)
        geoms[:] = [g for _, g in features]
        types = shapely.get_type_id(geoms)
        bad = np.flatnonzero(~np.isin(types, [GeometryType.POLYGON, GeometryType.MULTIPOLYGON]) | shapely.is_empty(geoms))
        if bad.size:
            raise ValueError(f"units must be non-empty Polygons or MultiPolygons: {[codes[i] for i in bad[:5]]}")
        bad = np.flatnonzero(~shapely.is_valid(geoms))
        if bad.size:
            # Predicates on invalid polygons are ill-defined (GEOS may answer either way): repair upstream.
            raise ValueError(f"invalid geometries (repair them, e.g. shapely.make_valid): {[codes[i] for i in bad[:5]]}")
        # Round-trip through the artifact encoding so build() and from_bytes() test the very same geometries.
        geoms = _decode_geoms(*_encode_geoms(geoms))
        shapely.prepare(geoms)

        minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(geoms))
        b = shapely.bounds(geoms)
        if cell_deg is None:
            extent = np.median(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]))
            cell_deg = max(extent / 6.0, math.sqrt((maxx - minx) * (maxy - miny) / _MAX_CELLS))
        if not (cell_deg > 0 and math.isfinite(cell_deg)):
            raise ValueError("cell_deg must be a positive number")
        dx = dy = float(cell_deg)
        # Pad by half a cell so that every covered point is strictly inside the grid.
        x0, y0 = minx - dx / 2, miny - dy / 2
        nx = int((maxx - x0) / dx) + 2
        ny = int((maxy - y0) / dy) + 2
        if nx * ny > 4 * _MAX_CELLS:
            raise ValueError(f"grid of {nx}x{ny} cells is too large; use a larger cell_deg")

        # Candidate (unit, cell) pairs from each unit's bounding box.
        eps = dx * 1e-6
        ix0 = np.floor((b[:, 0] - eps - x0) / dx).astype(np.int64)
        ix1 = np.floor((b[:, 2] + eps - x0) / dx).astype(np.int64)
        iy0 = np.floor((b[:, 1] - eps - y0) / dy).astype(np.int64)
        iy1 = np.floor((b[:, 3] + eps - y0) / dy).astype(np.int64)
        wx, wy = ix1 - ix0 + 1, iy1 - iy0 + 1
        per_unit = wx * wy
        unit = np.repeat(np.arange(len(geoms)), per_unit)
        local = np.arange(per_unit.sum()) - np.repeat(np.cumsum(per_unit) - per_unit, per_unit)
        cx = ix0[unit] + local % wx[unit]
        cy = iy0[unit] + local // wx[unit]
        boxes = shapely.box(x0 + cx * dx - eps, y0 + cy * dy - eps, x0 + (cx + 1) * dx + eps, y0 + (cy + 1) * dy + eps)
        hit = shapely.intersects(geoms[unit], boxes)
        unit, cx, cy, boxes = unit[hit], cx[hit], cy[hit], boxes[hit]
        covered = shapely.covers(geoms[unit], boxes)
        cell = cy * nx + cx

        # A cell is pure when exactly one unit touches it and that unit covers it entirely.
        touching = np.bincount(cell, minlength=nx * ny)
        pure = covered & (touching[cell] == 1)
        grid = np.full(nx * ny + 1, -1, dtype=np.int32)
        grid[cell[pure]] = unit[pure]
        rank = np.empty(len(codes), dtype=np.int64)
        rank[np.argsort(np.array(codes, dtype=object), kind="stable")] = np.arange(len(codes))
        mixed = ~pure
        m_cell, m_unit = cell[mixed], unit[mixed]
        order = np.lexsort((rank[m_unit], m_cell))  # by cell, then by code: the tie rule's order
        m_cell, m_unit = m_cell[order], m_unit[order]
        cells, starts = np.unique(m_cell, return_index=True)
        grid[cells] = -2 - np.arange(len(cells), dtype=np.int32)
        cand_off = np.append(starts, len(m_unit)).astype(np.int32)
        return cls(
            codes=codes,
            geoms=geoms,
            grid=grid,
            cand_off=cand_off,
            cand=m_unit.astype(np.int32),
            x0=x0,
            y0=y0,
            dx=dx,
            dy=dy,
            nx=nx,
            ny=ny,
            data_bounds=(minx, miny, maxx, maxy),
        )

    # ------------------------------------------------------------------ queries

    def locate(self, lat: float, lon: float) -> str | None:
        """The code of the unit covering (lat, lon), by the lowest-code tie rule; None if none does."""
        fx = (lon - self._x0) * self._inv_dx
        fy = (lat - self._y0) * self._inv_dy
        if not (0.0 <= fx < self._nx and 0.0 <= fy < self._ny):  # also False for NaN
            return None
        v = self._grid.item(int(fy) * self._nx + int(fx))
        if v >= 0:
            return self.codes[v]
        if v == -1:
            return None
        m = -2 - v
        cand, geoms = self._cand, self._geoms
        for k in range(self._cand_off.item(m), self._cand_off.item(m + 1)):
            u = cand.item(k)
            if shapely.intersects_xy(geoms[u], lon, lat):
                return self.codes[u]
        return None

    def locate_many(self, lats, lons) -> np.ndarray:
        """Vectorized ``locate``: int32 indexes into ``codes`` (-1 = no unit), same shape as the input."""
        lat = np.asarray(lats, dtype=np.float64)
        lon = np.asarray(lons, dtype=np.float64)
        if lat.shape != lon.shape:
            raise ValueError("lats and lons must have the same shape")
        shape = lat.shape
        y, x = lat.ravel(), lon.ravel()
        fx = (x - self._x0) * self._inv_dx
        fy = (y - self._y0) * self._inv_dy
        inside = (fx >= 0) & (fx < self._nx) & (fy >= 0) & (fy < self._ny)  # NaN → False
        # Points off the grid read the sentinel cell at the end (-1); their cast values are ignored.
        with np.errstate(invalid="ignore"):
            flat = np.where(inside, fy.astype(np.int64) * self._nx + fx.astype(np.int64), self._grid.size - 1)
        v = self._grid.take(flat)
        mix = np.flatnonzero(v < -1)
        out = np.maximum(v, -1)
        if mix.size:
            m = -2 - v[mix]
            start = self._cand_off[m]
            count = self._cand_off[m + 1] - start
            px, py = x[mix], y[mix]
            res = np.full(mix.size, -1, dtype=np.int32)
            todo = np.arange(mix.size)
            slot = 0
            # Slot by slot: test each unresolved point against its cell's next candidate (code order).
            while todo.size:
                u = self._cand[start[todo] + slot]
                hit = shapely.intersects_xy(self._geoms[u], px[todo], py[todo])
                res[todo[hit]] = u[hit]
                todo = todo[~hit]
                slot += 1
                todo = todo[count[todo] > slot]
            out[mix] = res
        return out.reshape(shape)

    def nearest(self, lat: float, lon: float, max_distance_m: float) -> str | None:
        """The covering unit, else the closest unit within ``max_distance_m`` metres, else None.

        For snapping reports just outside every boundary (coast, border, GPS drift). Distances use
        a local equirectangular projection around the point: accurate to well under 1% over the
        few km this is meant for. Equal distances go to the lowest code.
        """
        hit = self.locate(lat, lon)
        if hit is not None or not (max_distance_m > 0 and math.isfinite(lat) and math.isfinite(lon)):
            return hit
        ky = _M_PER_DEG_LAT
        kx = _M_PER_DEG_LON * max(math.cos(math.radians(lat)), 1e-6)
        dlon, dlat = max_distance_m / kx, max_distance_m / ky
        if self._tree is None:
            self._tree = shapely.STRtree(self._geoms)
        near = self._tree.query(shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat))
        if near.size == 0:
            return None
        origin = np.array([lon, lat])
        scale = np.array([kx, ky])
        local = shapely.transform(self._geoms[near], lambda xy: (xy - origin) * scale)
        dist = shapely.distance(local, shapely.Point(0.0, 0.0))
        best = min(zip(dist.tolist(), (self.codes[i] for i in near)))
        return best[1] if best[0] <= max_distance_m else None

    def geometry(self, code: str):
        """The unit's geometry (shapely, lon/lat), or None for an unknown code."""
        if self._by_code is None:
            self._by_code = {c: i for i, c in enumerate(self.codes)}
        i = self._by_code.get(code)
        return None if i is None else self._geoms[i]

    def shapes(self):
        """The codes and their geometries (a numpy object array, index ↔ codes)."""
        return self.codes, self._geoms

    def bounds(self) -> tuple[float, float, float, float]:
        """(south, west, north, east) of all units."""
        minx, miny, maxx, maxy = self._data_bounds
        return (miny, minx, maxy, maxx)

    def __len__(self) -> int:
        return len(self.codes)

    def stats(self) -> dict:
        """Sizes, for benchmarks and logs."""
        mixed = len(self._cand_off) - 1
        return {
            "units": len(self.codes),
            "grid": f"{self._nx}x{self._ny}",
            "cell_deg": self._dx,
            "cells_pure": int(np.count_nonzero(self._grid >= 0)),
            "cells_mixed": mixed,
            "candidates_per_mixed_cell": round(len(self._cand) / max(mixed, 1), 2),
        }

    # ------------------------------------------------------------------ artifact

    def to_bytes(self) -> bytes:
        gtype, coords, (ring_off, part_off, geom_off), single = _encode_geoms(self._geoms)
        arrays = {
            "grid": (self._grid, "zlib"),
            "cand_off": (self._cand_off, "raw"),
            "cand": (self._cand, "raw"),
            "coords": (coords, "raw"),
            "ring_off": (ring_off, "raw"),
            "part_off": (part_off, "raw"),
            "geom_off": (geom_off, "raw"),
            "single": (single, "raw"),
        }
        table, blobs, offset = [], [], 0
        for name, (arr, codec) in arrays.items():
            dtype, _ = _ARRAYS[name]
            arr = np.ascontiguousarray(arr, dtype=dtype)
            raw = arr.tobytes()
            blob = zlib.compress(raw, 6) if codec == "zlib" else raw
            table.append({"name": name, "dtype": dtype, "shape": list(arr.shape), "offset": offset,
                          "length": len(blob), "codec": codec})
            pad = -len(blob) % 8
            blobs.append(blob + b"\0" * pad)
            offset += len(blob) + pad
        payload = b"".join(blobs)
        header = {
            "version": FORMAT_VERSION,
            "geometry_type": int(gtype),
            "grid": {"x0": self._x0, "y0": self._y0, "dx": self._dx, "dy": self._dy, "nx": self._nx, "ny": self._ny},
            "bounds": list(self._data_bounds),
            "codes": self.codes,
            "arrays": table,
            "crc32": zlib.crc32(payload),
        }
        head = json.dumps(header, separators=(",", ":")).encode()
        head += b" " * (-(_PREFIX.size + len(head)) % 8)
        return _PREFIX.pack(MAGIC, FORMAT_VERSION, len(head)) + head + payload

    @classmethod
    def from_bytes(cls, raw: bytes | memoryview) -> GeoIndex:
        """Load an artifact made by ``to_bytes``. Raises ValueError if it is not one (or is damaged)."""
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise ValueError(f"a GeoIndex artifact is bytes, not {type(raw).__name__}")
        data = memoryview(raw).cast("B")
        if len(data) < _PREFIX.size:
            raise ValueError("not a GeoIndex artifact: too short")
        magic, version, head_len = _PREFIX.unpack_from(data)
        if magic != MAGIC:
            raise ValueError("not a GeoIndex artifact: bad magic bytes")
        if version != FORMAT_VERSION:
            raise ValueError(f"unsupported GeoIndex artifact version {version} (this code reads {FORMAT_VERSION})")
        start = _PREFIX.size + head_len
        if start > len(data):
            raise ValueError("GeoIndex artifact is truncated (header)")
        try:
            header = json.loads(bytes(data[_PREFIX.size:start]))
            grid_p = header["grid"]
            nx, ny = int(grid_p["nx"]), int(grid_p["ny"])
            x0, y0, dx, dy = (float(grid_p[k]) for k in ("x0", "y0", "dx", "dy"))
            codes = header["codes"]
            bounds = [float(v) for v in header["bounds"]]
            table = {a["name"]: a for a in header["arrays"]}
            gtype = int(header["geometry_type"])
            crc = int(header["crc32"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"GeoIndex artifact header is malformed: {exc}") from None
        payload = data[start:]
        if zlib.crc32(payload) != crc:
            raise ValueError("GeoIndex artifact is damaged or truncated (CRC mismatch)")
        if set(table) != set(_ARRAYS):
            raise ValueError("GeoIndex artifact has an unexpected set of arrays")
        arr = {name: _read_array(payload, table[name], *_ARRAYS[name]) for name in _ARRAYS}
        n = len(codes)
        grid, cand_off, cand = arr["grid"], arr["cand_off"], arr["cand"]
        n_mixed = len(cand_off) - 1
        checks = [
            (all(isinstance(c, str) for c in codes) and len(set(codes)) == n, "codes must be unique strings"),
            (nx > 0 and ny > 0 and grid.size == nx * ny + 1, "grid size does not match its dimensions"),
            (dx > 0 and dy > 0 and all(map(math.isfinite, (x0, y0, dx, dy))), "bad grid parameters"),
            (len(bounds) == 4, "bad bounds"),
            (n_mixed >= 0 and (grid.size == 0 or (grid.min() >= -2 - n_mixed + 1 and grid.max() < n)), "grid values"),
            (cand_off.size >= 1 and cand_off[0] == 0 and cand_off[-1] == cand.size, "candidate offsets"),
            (np.all(np.diff(cand_off) >= 0), "candidate offsets must increase"),
            (cand.size == 0 or (cand.min() >= 0 and cand.max() < n), "candidate indexes out of range"),
            (len(arr["geom_off"]) == n + 1 and len(arr["single"]) == n, "geometry count does not match codes"),
            (gtype == int(GeometryType.MULTIPOLYGON), "geometry type must be MultiPolygon"),
        ]
        for ok, what in checks:
            if not ok:
                raise ValueError(f"GeoIndex artifact is inconsistent: {what}")
        try:
            geoms = _decode_geoms(gtype, arr["coords"], (arr["ring_off"], arr["part_off"], arr["geom_off"]),
                                  arr["single"])
        except Exception as exc:  # shapely/GEOS errors on inconsistent offsets
            raise ValueError(f"GeoIndex artifact geometries are malformed: {exc}") from None
        shapely.prepare(geoms)
        return cls(codes=codes, geoms=geoms, grid=grid, cand_off=cand_off, cand=cand, x0=x0, y0=y0, dx=dx, dy=dy,
                   nx=nx, ny=ny, data_bounds=bounds)


def _read_array(payload: memoryview, spec: dict, dtype: str, ndim: int) -> np.ndarray:
    try:
        offset, length, shape, codec = int(spec["offset"]), int(spec["length"]), spec["shape"], spec["codec"]
        shape = tuple(int(s) for s in shape)
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"GeoIndex artifact: bad array entry {spec!r:.80}") from None
    if spec.get("dtype") != dtype or len(shape) != ndim or any(s < 0 for s in shape):
        raise ValueError(f"GeoIndex artifact: array {spec.get('name')} has an unexpected dtype or shape")
    if offset < 0 or length < 0 or offset + length > len(payload):
        raise ValueError(f"GeoIndex artifact is truncated (array {spec.get('name')})")
    blob: bytes | memoryview = payload[offset:offset + length]
    expected = math.prod(shape) * np.dtype(dtype).itemsize
    if codec == "zlib":
        try:
            blob = zlib.decompress(blob)
        except zlib.error as exc:
            raise ValueError(f"GeoIndex artifact: array {spec['name']} does not decompress: {exc}") from None
    elif codec != "raw":
        raise ValueError(f"GeoIndex artifact: unknown codec {codec!r:.20}")
    if len(blob) != expected:
        raise ValueError(f"GeoIndex artifact: array {spec['name']} has {len(blob)} bytes, expected {expected}")
    return np.frombuffer(blob, dtype=dtype).reshape(shape)  # zero-copy, read-only


def _encode_geoms(geoms: np.ndarray):
    """Ragged-array parts of the geometries as MultiPolygons (+ which ones were plain Polygons)."""
    single = (shapely.get_type_id(geoms) == GeometryType.POLYGON).astype(np.uint8)
    gtype, coords, offsets = shapely.to_ragged_array(shapely.multipolygons(shapely.get_parts(geoms), indices=_part_index(geoms)))
    return gtype, coords, tuple(o.astype(np.int32) for o in offsets), single


def _part_index(geoms: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(geoms)), shapely.get_num_geometries(geoms))


def _decode_geoms(gtype, coords, offsets, single) -> np.ndarray:
    geoms = shapely.from_ragged_array(GeometryType(int(gtype)), coords, offsets)
    mask = np.asarray(single, dtype=bool)
    geoms[mask] = shapely.get_geometry(geoms[mask], 0)  # restore the plain Polygons
    return geoms
