"""One run of the SLA schedule: act on every report whose checkpoint has passed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from civic.domain.ports import ConcurrentChange, ReportStore
from civic.domain.sla_watch import step


def run(
    store: ReportStore,
    now: str,
    parent_of: Callable[[str | None], str | None] = lambda code: None,
    extend: Callable[[str, str, str], str] | None = None,
    days_back: int = 30,
    clock: str | None = None,
) -> dict[str, int]:
    """Counts of what happened. Every stage that is due is taken in the same run (a run long after a
    deadline warns, marks overdue and escalates). A report changed meanwhile is left for the next run.

    `now` is the schedule's time; `clock` the real time. A `now` ahead of the clock (`civic local tick sla
    --at` a future time, to try deadlines) decides each report's due state as of `now` but writes its
    events at the real time: simulated time never leaves a future-dated event. A replayed run (`now` in
    the past) acts and stamps as of when it was due."""
    outcomes: Counter[str] = Counter()
    stamp = clock if clock and clock < now else None
    for report in store.due(now, days_back):
        planned = step(report, now, parent_of, extend, stamp)
        if planned is None:
            outcomes["not_due"] += 1
        while planned is not None:
            updated, event = planned
            try:
                store.save(updated, report.version, event)
            except ConcurrentChange:
                outcomes["changed_meanwhile"] += 1
                break
            outcomes[event.type] += 1
            report = updated
            planned = step(report, now, parent_of, extend, stamp)
    return dict(outcomes)
