"""Timeline stream (submitted events) → route each new report to the unit responsible."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from civic import observability
from civic.domain.reports import now_iso
from civic.routing import route_report
from civic.settings import get_settings
from civic.storage import models
from civic.storage.directory import Directory
from civic.storage.dynamo import DynamoReportStore

logger = observability.logger()
metrics = observability.metrics()
tracer = observability.tracer()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
_directory: Directory | None = None  # per container: units, rules and the index, refreshed cheaply


def _route(record) -> None:
    image = record.dynamodb.new_image
    if image.get("type") != "submitted":
        return
    directory = _directory
    outcome = route_report(
        image["report_id"],
        store=DynamoReportStore(),
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
    global _directory
    if _directory is None:
        settings = get_settings()
        models.bind(settings)
        _directory = Directory(settings)
    return process_partial_response(event=event, record_handler=_route, processor=processor, context=context)
