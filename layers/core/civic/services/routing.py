"""Route a submitted report: locate it, apply the rules, set deadlines, spot duplicates.

The administrative unit comes from the routing index (civic.geo.index, published by the boundaries
function); who handles the report comes from civic.domain.units.decide; everything is written in
one transaction with its timeline event, and replaying the same event changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from civic.domain import geo
from civic.domain.ports import ConcurrentChange, FeedQuery, ReportStore, RoutingIndexMissing
from civic.domain.reports import Report, TimelineEvent, change
from civic.domain.statuses import OPEN_STATUSES
from civic.domain.units import Decision, RoutingRule, UnitTree, decide

if TYPE_CHECKING:
    from civic.domain.calendar import WorkCalendar
    from civic.domain.sla import SlaPolicy
    from civic.services.boundaries import RoutingArtifact
    from civic.settings import Settings


class Locator(Protocol):
    def admin_unit(self, lat: float, lon: float) -> tuple[str | None, bool]:
        """The administrative unit at a point and whether it was snapped from just outside."""

    def agencies(self, lat: float, lon: float) -> list[str]:
        """Every agency whose own service area covers the point."""


@dataclass
class ArtifactLocator:
    """A Locator over a published routing artifact (admin and agency layers)."""

    artifact: RoutingArtifact  # imported for type checking only: civic.geo.index pulls in numpy
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


@lru_cache(maxsize=1)
def working_calendar() -> WorkCalendar:
    """Office hours and Vietnamese holidays (civic.domain.calendar); one per container."""
    from civic.domain.calendar import WorkCalendar

    return WorkCalendar()


@lru_cache(maxsize=1)
def sla_policy() -> SlaPolicy:
    """Deadlines per category × priority with unit overrides (defaults until operators configure them)."""
    from civic.domain.sla import SlaPolicy

    return SlaPolicy()


def report_deadlines(tree: UnitTree, category: str, priority: str, unit_code: str | None, start: str) -> tuple[str, str]:
    """Acceptance and resolution deadlines, in working time, of a report handled by `unit_code`."""
    from civic.domain.sla import due_at

    rules = sla_policy().deadlines(category, priority, unit_code, tree.ancestors(unit_code) if unit_code else [])
    calendar = working_calendar()
    return due_at(calendar, start, rules.accept), due_at(calendar, start, rules.resolve)


def due_state_now(due: str | None) -> str:
    """none / on_time / due_soon (within 4 working hours) / overdue, right now."""
    from civic.clock import now_iso
    from civic.domain.sla import due_state

    return due_state(now_iso(), due, working_calendar())


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
        updates: dict[str, Any] = {"status": decision.status, "unit_code": decision.handler}
        data: dict[str, Any] = {"unit_code": decision.handler, "admin_unit": decision.admin_unit, "basis": decision.reason,
                      "category": report.category}
        if decision.rule_id:
            data["rule_id"] = decision.rule_id
        if snapped:
            data["snapped"] = True
        if decision.handler:
            accept_due, due = report_deadlines(tree, report.category, report.priority, decision.handler, now)
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
