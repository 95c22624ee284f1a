"""S3 ObjectCreated under boundaries/incoming/ on the config bucket → validate, build and switch the routing index."""

from urllib.parse import unquote_plus

from civic import observability
from civic.adapters.s3.routing_index import INCOMING_PREFIX, S3BoundaryStore, s3_client
from civic.bootstrap import services
from civic.services.boundaries import process_upload

logger = observability.logger()
metrics = observability.metrics()
tracer = observability.tracer()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    wired = services()
    settings = wired.settings
    client = s3_client(settings)
    tree = None
    results = []
    for record in event.get("Records", []):
        s3 = record["s3"]
        bucket, key = s3["bucket"]["name"], unquote_plus(s3["object"]["key"])
        if bucket != settings.config_bucket or not key.startswith(INCOMING_PREFIX) or key.endswith("/"):
            logger.info("boundaries: ignored object", extra={"bucket": bucket, "key": key})
            results.append({"source_key": key, "outcome": "ignored"})
            continue
        if tree is None:
            tree = wired.units.tree()  # read anew: the boundaries must match the units as they are now
        status = process_upload(key, store=S3BoundaryStore(client, bucket), tree=tree)
        counts = status["report"]["counts"]
        # Unit codes and counts only: boundaries files hold no personal data, and none is logged.
        logger.info(
            "boundaries processed",
            extra={
                "source_key": key, "outcome": status["outcome"], "active_version": status["active_version"],
                "counts": counts, "problems": sorted({e["problem"] for e in status["report"]["errors"]}),
            },
        )
        observability.count({"published": "BoundariesPublished", "refused": "BoundariesRefused"}.get(
            status["outcome"], "BoundariesSuperseded"))
        results.append(
            {"source_key": key, "outcome": status["outcome"], "ok": status["ok"],
             "active_version": status["active_version"], "errors": counts.get("errors", 0),
             "warnings": counts.get("warnings", 0)}
        )
    return {"results": results}
