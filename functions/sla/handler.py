"""EventBridge schedule (every 5 minutes) → deadline warnings, overdue marks, escalation, auto-close."""

from datetime import UTC

from civic import observability
from civic.bootstrap import services
from civic.clock import now_iso
from civic.services.sla import run

logger = observability.logger()
metrics = observability.metrics()
tracer = observability.tracer()


def _event_time(event) -> str | None:
    from datetime import datetime

    from civic.clock import iso_utc

    raw = (event or {}).get("time")
    try:
        return iso_utc(datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)) if raw else None
    except (AttributeError, ValueError):
        return None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    wired = services()
    tree = wired.directory.tree
    # The schedule's own time ("time" of the EventBridge event), so a delayed or replayed run acts
    # as of when it was due; `civic local tick sla --at` sets it to try deadlines locally (a future time
    # decides as of then but writes its events at the real time: civic.services.sla.run).
    clock = now_iso()
    now = _event_time(event) or clock
    outcomes = run(
        wired.store, now,
        parent_of=lambda code: tree.get(code).parent_code if tree.get(code) else None,
        extend=wired.extend_due,
        clock=clock,
    )
    logger.info("sla run", extra={"outcomes": outcomes})
    for name, count in outcomes.items():
        observability.count(f"Sla_{name}", count)
    return {"outcomes": outcomes}
