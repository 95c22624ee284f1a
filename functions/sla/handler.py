"""EventBridge schedule (every 5 minutes) → deadline warnings, overdue marks, escalation, auto-close."""

from civic import observability
from civic.domain.reports import now_iso
from civic.sla_run import run
from civic.settings import get_settings
from civic.storage import models

logger = observability.logger()
metrics = observability.metrics()
tracer = observability.tracer()


def _event_time(event) -> str | None:
    from datetime import datetime, timezone

    from civic.i18n import iso_utc

    raw = (event or {}).get("time")
    try:
        return iso_utc(datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(timezone.utc)) if raw else None
    except (AttributeError, ValueError):
        return None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    from civic.storage.directory import Directory
    from civic.storage.dynamo import DynamoReportStore

    settings = get_settings()
    models.bind(settings)
    tree = Directory(settings).tree
    # The schedule's own time ("time" of the EventBridge event), so a delayed or replayed run acts
    # as of when it was due; `civic local tick sla --at` sets it to try deadlines locally.
    now = _event_time(event) or now_iso()
    from civic.domain.sla import extend_due
    from civic.routing import working_calendar

    outcomes = run(
        DynamoReportStore(), now,
        parent_of=lambda code: tree.get(code).parent_code if tree.get(code) else None,
        extend=lambda due, since, resumed: extend_due(working_calendar(), due, since, resumed),
    )
    logger.info("sla run", extra={"outcomes": outcomes})
    for name, count in outcomes.items():
        observability.count(f"Sla_{name}", count)
    return {"outcomes": outcomes}
