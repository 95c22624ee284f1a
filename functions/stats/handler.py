"""Timeline stream → statistics counters, each event counted exactly once (civic.stats.count_event)."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from civic import observability
from civic.settings import get_settings
from civic.stats import count_event
from civic.storage import models
from civic.storage.directory import Directory
from civic.storage.dynamo import DynamoReportStore, event_from_image
from civic.storage.stats import DynamoStatsStore

logger = observability.logger()
metrics = observability.metrics()
tracer = observability.tracer()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
_directory: Directory | None = None  # per container: the unit tree, refreshed every minute


def _facts(report_id: str) -> dict:
    """Immutable facts of a report, for events written before the core put them into events."""
    report = DynamoReportStore().get(report_id)
    return {"category": report.category, "created_at": report.created_at} if report else {}


def _count(record) -> None:
    event = event_from_image(record.dynamodb.new_image)
    counted = count_event(event, DynamoStatsStore(), _directory.tree, _facts)
    logger.info("stats", extra={"event_type": event.type, "counted": counted})
    observability.count("StatsEventsCounted" if counted else "StatsEventsSkipped")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    global _directory
    if _directory is None:
        settings = get_settings()
        models.bind(settings)
        _directory = Directory(settings)
    return process_partial_response(event=event, record_handler=_count, processor=processor, context=context)
