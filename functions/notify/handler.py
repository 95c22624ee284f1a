"""Timeline stream (every new event) → who hears what → one message per recipient and channel on NotifyQueue."""

from collections import Counter

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from civic import observability
from civic.bootstrap import services
from civic.clock import now_iso
from civic.services.notify import event_from_image, on_timeline_event

logger = observability.logger()
metrics = observability.metrics()
tracer = observability.tracer()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def _notify(record) -> None:
    event = event_from_image(record.dynamodb.new_image)
    wired = services()
    withheld: Counter[str] = Counter()
    count = on_timeline_event(event, reports=wired.store, store=wired.notify_store, queue=wired.notify_queue,
                              settings=wired.settings, now=now_iso(), withheld=withheld,
                              tree=wired.directory.tree)
    # The event id and type only: never recipients or texts.
    logger.info("notified", extra={"event_id": event.event_id, "type": event.type, "messages": count,
                                   "unverified_dropped": sum(withheld.values())})
    observability.count("Notify_enqueued", count)
    for channel, dropped in withheld.items():  # contacts not confirmed: dropped, not held (README)
        observability.count(f"Notify_unverified_{channel}", dropped)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return process_partial_response(event=event, record_handler=_notify, processor=processor, context=context)
