"""Timeline stream (every new event) → who hears what → one message per recipient and channel on NotifyQueue."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from civic import observability
from civic.domain.reports import now_iso
from civic.notify import event_from_image, on_timeline_event
from civic.settings import get_settings
from civic.storage import models

logger = observability.logger()
metrics = observability.metrics()
tracer = observability.tracer()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
_ports: dict = {}


def _notify(record) -> None:
    event = event_from_image(record.dynamodb.new_image)
    count = on_timeline_event(event, reports=_ports["reports"], store=_ports["store"], queue=_ports["queue"],
                              settings=_ports["settings"], now=now_iso())
    # The event id and type only: never recipients or texts.
    logger.info("notified", extra={"event_id": event.event_id, "type": event.type, "messages": count})
    observability.count("Notify_enqueued", count)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    if not _ports:
        from civic.storage.dynamo import DynamoReportStore
        from civic.storage.notify import DynamoNotifyStore, SqsNotifyQueue

        settings = get_settings()
        models.bind(settings)
        _ports.update(settings=settings, reports=DynamoReportStore(), store=DynamoNotifyStore(),
                      queue=SqsNotifyQueue(settings.notify_queue_url))
    return process_partial_response(event=event, record_handler=_notify, processor=processor, context=context)
