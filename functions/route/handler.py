"""Timeline stream (submitted events) → route each new report to the unit responsible."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from civic import observability
from civic.bootstrap import services
from civic.clock import now_iso
from civic.services.routing import route_report

logger = observability.logger()
metrics = observability.metrics()
tracer = observability.tracer()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def _route(record) -> None:
    image = record.dynamodb.new_image
    if image.get("type") != "submitted":
        return
    wired = services()
    directory = wired.directory  # per container: units, rules and the index, refreshed cheaply
    outcome = route_report(
        image["report_id"],
        store=wired.store,
        locator=directory.locator(),
        tree=directory.tree,
        rules=directory.rules,
        now=now_iso(),
        settings=directory.settings,
    )
    logger.info("routed", extra={"outcome": outcome})
    observability.count(f"Reports_{outcome}")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return process_partial_response(event=event, record_handler=_route, processor=processor, context=context)
