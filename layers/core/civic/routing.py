"""Route a submitted report to the unit whose boundary contains it.

The boundaries are a GeoJSON FeatureCollection in the config bucket (`routing/boundaries.geojson`),
each feature carrying `properties.unit_code`. shapely's STRtree answers point-in-polygon quickly.
Rules that send a category to a specialised agency, and deadlines, build on this.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from civic.domain.ports import ConcurrentChange, ReportStore
from civic.domain.reports import TimelineEvent, change

BOUNDARIES_KEY = "routing/boundaries.geojson"


@dataclass
class RoutingIndex:
    codes: list[str]
    tree: object  # shapely.STRtree
    geometries: list

    @classmethod
    def from_geojson(cls, collection: dict) -> "RoutingIndex":
        from shapely import STRtree
        from shapely.geometry import shape

        codes, geometries = [], []
        for feature in collection.get("features", []):
            code = (feature.get("properties") or {}).get("unit_code")
            if not code:
                raise ValueError("every feature needs properties.unit_code")
            codes.append(code)
            geometries.append(shape(feature["geometry"]))
        return cls(codes=codes, tree=STRtree(geometries), geometries=geometries)

    @classmethod
    def from_bytes(cls, raw: bytes) -> "RoutingIndex":
        return cls.from_geojson(json.loads(raw))

    def locate(self, lat: float, lon: float) -> str | None:
        from shapely.geometry import Point

        point = Point(lon, lat)
        hits = sorted(self.codes[i] for i in self.tree.query(point, predicate="intersects"))
        return hits[0] if hits else None  # on a shared border, the lowest code wins: deterministic


def route_report(report_id: str, *, store: ReportStore, index: RoutingIndex, now: str) -> str:
    """submitted → routed (unit found) or needs_triage (outside every boundary). Idempotent."""
    for _ in range(5):
        report = store.get(report_id)
        if report is None or report.status != "submitted":
            return "ignored"
        unit = index.locate(report.lat, report.lon)
        status = "routed" if unit else "needs_triage"
        updated = change(report, at=now, status=status, unit_code=unit)
        event = TimelineEvent(
            report_id=report.id,
            seq=updated.version,
            type=status,
            at=now,
            actor_role="system",
            status=status,
            data={"unit_code": unit} if unit else {},
        )
        try:
            store.save(updated, report.version, event)
            return status
        except ConcurrentChange:
            continue
    raise ConcurrentChange(report_id)
