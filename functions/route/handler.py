"""Timeline stream (submitted events) → route each new report to the unit responsible."""

import time

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from civic import observability
from civic.domain.reports import now_iso
from civic.routing import BOUNDARIES_KEY, RoutingIndex, route_report
from civic.settings import get_settings
from civic.storage import models
from civic.storage.dynamo import DynamoReportStore

logger = observability.logger()
metrics = observability.metrics()
tracer = observability.tracer()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

_INDEX_TTL = 60.0
_cache: dict = {}


def _index(settings) -> RoutingIndex:
    """The boundaries, re-read at most once a minute so an operator's new upload takes effect."""
    if _cache.get("expires", 0) < time.monotonic():
        import boto3

        s3 = boto3.client("s3", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url)
        raw = s3.get_object(Bucket=settings.config_bucket, Key=BOUNDARIES_KEY)["Body"].read()
        _cache.update(index=RoutingIndex.from_bytes(raw), expires=time.monotonic() + _INDEX_TTL)
    return _cache["index"]


def _route(record) -> None:
    image = record.dynamodb.new_image
    if image.get("type") != "submitted":
        return
    settings = get_settings()
    models.bind(settings)
    outcome = route_report(image["report_id"], store=DynamoReportStore(), index=_index(settings), now=now_iso())
    logger.info("routed", extra={"outcome": outcome})
    observability.count(f"Reports_{outcome}")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return process_partial_response(event=event, record_handler=_route, processor=processor, context=context)
