"""S3 ObjectCreated on the uploads bucket → check the file, make renditions, attach to the report."""

from urllib.parse import unquote_plus

from civic import observability
from civic.domain.reports import now_iso
from civic.media import Upload, process_upload
from civic.settings import get_settings
from civic.storage import models
from civic.storage.dynamo import DynamoReportStore
from civic.storage.s3 import S3BlobStore

logger = observability.logger()
metrics = observability.metrics()
tracer = observability.tracer()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    settings = get_settings()
    models.bind(settings)
    store, blobs = DynamoReportStore(), S3BlobStore(settings)
    outcomes = []
    for record in event.get("Records", []):
        s3 = record["s3"]
        upload = Upload(
            bucket=s3["bucket"]["name"], key=unquote_plus(s3["object"]["key"]), size=int(s3["object"].get("size", 0))
        )
        outcome = process_upload(upload, store=store, blobs=blobs, media_bucket=settings.media_bucket, now=now_iso())
        logger.info("media processed", extra={"outcome": outcome})
        observability.count("MediaReady" if outcome == "ready" else "MediaRefused" if outcome.startswith("refused") else "MediaIgnored")
        outcomes.append(outcome)
    return {"outcomes": outcomes}
