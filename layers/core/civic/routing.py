"""Route a submitted report: locate it, apply the rules, set deadlines, spot duplicates.

The administrative unit comes from the routing index (civic.geoindex, published by the boundaries
function); who handles the report comes from civic.domain.units.decide; everything is written in
one transaction with its timeline event, and replaying the same event changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Iterable, Protocol

from civic.domain import geo
from civic.domain.ports import ConcurrentChange, FeedQuery, ReportStore, RoutingIndexMissing
from civic.domain.reports import Report, TimelineEvent, change
from civic.domain.units import Decision, RoutingRule, UnitTree, decide
from civic.i18n import iso_utc

if TYPE_CHECKING:
    from civic.settings import Settings

OPEN_STATUSES = ("submitted", "needs_triage", "routed", "accepted", "in_progress", "pending_approval")

# Deadlines by priority: (acceptance, resolution). Calendar time for now; the staff workflow brings
# working days, Vietnamese holidays and per-unit configuration.
DEADLINES = {
    "normal": (timedelta(days=1), timedelta(days=10)),
    "urgent": (timedelta(hours=4), timedelta(days=2)),
    "complex": (timedelta(days=2), timedelta(days=30)),
}


class Locator(Protocol):
    def admin_unit(self, lat: float, lon: float) -> tuple[str | None, bool]:
        """The administrative unit at a point and whether it was snapped from just outside."""

    def agencies(self, lat: float, lon: float) -> list[str]:
        """Every agency whose own service area covers the point."""


@dataclass
class ArtifactLocator:
    """A Locator over a published routing artifact (admin and agency layers)."""

    artifact: object  # civic.boundaries.RoutingArtifact
    snap_distance_m: float = 500.0

    def admin_unit(self, lat: float, lon: float) -> tuple[str | None, bool]:
        admin = self.artifact.admin
        code = admin.locate(lat, lon)
        if code is not None or self.snap_distance_m <= 0:
            return code, False
        snapped = admin.nearest(lat, lon, self.snap_distance_m)
        return snapped, snapped is not None

    def agencies(self, lat: float, lon: float) -> list[str]:
        covering = self.artifact.agencies_at(lat, lon)
        agency = getattr(self.artifact, "agency", None)
        if covering or agency is None or self.snap_distance_m <= 0:
            return covering
        # Just outside every service area (a point snapped to a ward): the nearest one within reach.
        near = agency.nearest(lat, lon, self.snap_distance_m)
        return [near] if near else []


def deadlines(priority: str, at: str) -> tuple[str, str]:
    accept, resolve = DEADLINES.get(priority, DEADLINES["normal"])
    start = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(timezone.utc)
    return iso_utc(start + accept), iso_utc(start + resolve)


def due_state_now(due_at: str | None, soon: timedelta = timedelta(hours=4)) -> str:
    if not due_at:
        return "none"
    now = datetime.now(timezone.utc)
    due = datetime.fromisoformat(due_at.replace("Z", "+00:00"))
    return "overdue" if now > due else "due_soon" if due - now <= soon else "on_time"


def report_deadlines(tree: UnitTree, category: str, priority: str, unit_code: str | None, start: str) -> tuple[str, str]:
    """Acceptance and resolution deadlines of a report handled by `unit_code`, from `start`."""
    return deadlines(priority, start)


def find_duplicate(report: Report, store: ReportStore, radius_m: float, window_days: int) -> Report | None:
    """The nearest older open report of the same category within the radius and time window."""
    box = geo.bbox_around(report.lat, report.lon, radius_m)
    since = datetime.fromisoformat(report.created_at.replace("Z", "+00:00")) - timedelta(days=window_days)
    candidates = store.feed(
        FeedQuery(cells=geo.cells_covering(box), bbox=box, limit=50, before_key=report.created_key, category=report.category)
    )
    best: tuple[float, Report] | None = None
    for other in candidates:
        if other.id == report.id or other.status not in OPEN_STATUSES or other.duplicate_of:
            continue
        if datetime.fromisoformat(other.created_at.replace("Z", "+00:00")) < since:
            continue
        distance = geo.distance_m(report.lat, report.lon, other.lat, other.lon)
        if distance <= radius_m and (best is None or distance < best[0]):
            best = (distance, other)
    return best[1] if best else None


def locate(locator: Locator, tree: UnitTree, rules: Iterable[RoutingRule], lat: float, lon: float, category: str) -> tuple[Decision, bool]:
    admin, snapped = locator.admin_unit(lat, lon)
    agencies = locator.agencies(lat, lon) if admin else []
    return decide(admin, agencies, category, tree, rules), snapped


def route_report(
    report_id: str,
    *,
    store: ReportStore,
    locator: Locator,
    tree: UnitTree,
    rules: list[RoutingRule],
    now: str,
    settings: Settings,
) -> str:
    """submitted → routed (with deadlines) or needs_triage. Idempotent: only `submitted` moves."""
    for _ in range(5):
        report = store.get(report_id)
        if report is None or report.status != "submitted":
            return "ignored"
        try:
            decision, snapped = locate(locator, tree, rules, report.lat, report.lon, report.category)
        except RoutingIndexMissing:  # no boundaries yet: coordinators triage by hand
            decision, snapped = Decision(admin_unit=None, handler=None, reason="no_index"), False
        duplicate = find_duplicate(report, store, settings.duplicate_radius_m, settings.duplicate_window_days)
        updates: dict = {"status": decision.status, "unit_code": decision.handler}
        data: dict = {"unit_code": decision.handler, "admin_unit": decision.admin_unit, "basis": decision.reason}
        if decision.rule_id:
            data["rule_id"] = decision.rule_id
        if snapped:
            data["snapped"] = True
        if decision.handler:
            accept_due, due = deadlines(report.priority, now)
            updates.update(accept_due_at=accept_due, due_at=due, routed_at=now)
            data.update(accept_due_at=accept_due, due_at=due)
        if duplicate:
            updates.update(duplicate_of=duplicate.id, flags=sorted(set(report.flags) | {"probable_duplicate"}))
            data["duplicate_of"] = duplicate.id
        updated = change(report, at=now, **updates)
        event = TimelineEvent(
            report_id=report.id,
            seq=updated.version,
            type=decision.status,
            at=updated.updated_at,
            actor_role="system",
            status=decision.status,
            data=data,
        )
        try:
            store.save(updated, report.version, event)
            return decision.status
        except ConcurrentChange:
            continue
    raise ConcurrentChange(report_id)
