"""Timeline stream → statistics counters, each event counted exactly once (civic.services.stats.count_event)."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from civic import observability
from civic.adapters.dynamo.reports import event_from_image
from civic.bootstrap import services
from civic.services.stats import count_event

logger = observability.logger()
metrics = observability.metrics()
tracer = observability.tracer()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def _facts(report_id: str) -> dict:
    """Immutable facts of a report, for events written before the core put them into events."""
    report = services().store.get(report_id)
    return {"category": report.category, "created_at": report.created_at} if report else {}


def _count(record) -> None:
    event = event_from_image(record.dynamodb.new_image)
    wired = services()
    counted = count_event(event, wired.stats_store, wired.directory.tree, _facts)  # the tree: refreshed every minute
    logger.info("stats", extra={"event_type": event.type, "counted": counted})
    observability.count("StatsEventsCounted" if counted else "StatsEventsSkipped")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return process_partial_response(event=event, record_handler=_count, processor=processor, context=context)
