"""One run of the SLA schedule: act on every report whose checkpoint has passed."""

from __future__ import annotations

from collections import Counter

from civic.domain.ports import ConcurrentChange, ReportStore
from civic.domain.sla_watch import step


def run(store: ReportStore, now: str, parent_of=lambda code: None, days_back: int = 30) -> dict[str, int]:
    """Counts of what happened. A report changed meanwhile by someone else is left for the next run."""
    outcomes: Counter[str] = Counter()
    for report in store.due(now, days_back):
        planned = step(report, now, parent_of)
        if planned is None:
            outcomes["not_due"] += 1
            continue
        updated, event = planned
        try:
            store.save(updated, report.version, event)
            outcomes[event.type] += 1
        except ConcurrentChange:
            outcomes["changed_meanwhile"] += 1
    return dict(outcomes)
