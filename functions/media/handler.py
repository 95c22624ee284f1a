"""S3 ObjectCreated on the uploads bucket → check the file, make renditions, attach to the report."""

from urllib.parse import unquote_plus

from civic import observability
from civic.clock import now_iso
from civic.services.media import Upload, process_upload

logger = observability.logger()
metrics = observability.metrics()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event, context):
    # Settings, storage adapters (pydantic, boto3, PynamoDB) and the X-Ray tracer load on the first
    # event, not at import: a cold start pays for them once, while it already waits for S3.
    from civic.bootstrap import services

    wired = services()
    settings, store, blobs, photos = wired.settings, wired.store, wired.blobs, wired.photos
    outcomes = []
    with observability.traced("media"):
        for record in event.get("Records", []):
            s3 = record["s3"]
            upload = Upload(
                bucket=s3["bucket"]["name"], key=unquote_plus(s3["object"]["key"]), size=int(s3["object"].get("size", 0))
            )
            outcome = process_upload(
                upload, store=store, blobs=blobs, photos=photos, media_bucket=settings.media_bucket, now=now_iso()
            )
            logger.info("media processed", extra={"outcome": outcome})
            observability.count(
                "MediaReady" if outcome == "ready" else "MediaRefused" if outcome.startswith("refused") else "MediaIgnored"
            )
            outcomes.append(outcome)
    return {"outcomes": outcomes}
