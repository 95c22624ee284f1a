"""NotifyQueue → channel adapters, each message id delivered once: Powertools idempotency on the
Idempotency table for the channels that leave AWS (two writes a message), and for the in-app inbox the
inbox write itself, conditional on the message's key (no extra write); alert fan-out jobs → recipients' messages. Failures are reported per message
(partial batch response) after pushing their next attempt back (exponential backoff); the queue's
redrive policy moves a message to NotifyDeadLetterQueue after maxReceiveCount receives."""

import json
from collections import Counter

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from civic import observability
from civic.bootstrap import services
from civic.clock import now_iso
from civic.domain.notify import Message
from civic.services.notify import deliver, fan_out

logger = observability.logger()
metrics = observability.metrics()
tracer = observability.tracer()
processor = BatchProcessor(event_type=EventType.SQS)
BACKOFF_BASE_SECONDS = 10
_ports: dict = {}


def _setup() -> None:
    import boto3
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    wired = services()
    settings, channels = wired.settings, wired.channels
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table,
        boto3_client=boto3.client("dynamodb", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url),
    )
    # The record is completed only after the channel accepted the message; a failure deletes it.
    config = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=14 * 24 * 3600,
                               raise_on_no_idempotency_key=True)

    @idempotent_function(data_keyword_argument="message", persistence_store=persistence, config=config)
    def send(message: dict) -> dict:
        return channels.deliver(Message.from_json(message))

    _ports.update(settings=settings, store=wired.notify_store, config=config, send=send, queue=wired.notify_queue,
                  channels=channels,
                  sqs=boto3.client("sqs", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url))


def _backoff(record) -> None:
    """Exponential backoff before the next attempt (Lambda leaves the visibility we set)."""
    receives = int(record.attributes.approximate_receive_count or 1)
    try:
        _ports["sqs"].change_message_visibility(
            QueueUrl=_ports["settings"].notify_queue_url, ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=min(900, BACKOFF_BASE_SECONDS * 2 ** (receives - 1)))
    except Exception:  # the retry still happens, only sooner
        logger.warning("backoff not set", extra={"message_id": record.message_id})


def _send(record) -> None:
    body = json.loads(record.body)
    now = now_iso()
    if body.get("job") == "alert_fanout":
        withheld: Counter[str] = Counter()
        count = fan_out(body, store=_ports["store"], queue=_ports["queue"], now=now, withheld=withheld)
        logger.info("alert fan-out step", extra={"alert_id": body.get("alert_id"), "messages": count,
                                                 "unverified_dropped": sum(withheld.values())})
        observability.count("Notify_alert_messages", count)
        for channel, dropped in withheld.items():
            observability.count(f"Notify_unverified_{channel}", dropped)
        return
    message = Message.from_json(body)
    if _ports["channels"].once_by_itself(message.channel):
        def send_once(m: Message) -> dict:
            return _ports["channels"].deliver(m)
    else:
        def send_once(m: Message) -> dict:
            return _ports["send"](message=body)
    try:
        outcome = deliver(message, send_once=send_once, queue=_ports["queue"], now=now)
    except Exception as exc:
        # The message id, channel and error code only: never the address, the text or a token.
        logger.warning("delivery failed", extra={"id": message.id, "channel": message.channel,
                                                 "error": getattr(exc, "code", type(exc).__name__)})
        observability.count(f"Notify_failed_{message.channel}")
        _backoff(record)
        raise
    observability.count(f"Notify_{outcome}_{message.channel}")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    if not _ports:
        _setup()
    _ports["config"].register_lambda_context(context)
    return process_partial_response(event=event, record_handler=_send, processor=processor, context=context)
