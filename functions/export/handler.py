"""Daily schedule (00:30 Asia/Ho_Chi_Minh) → the previous day's open data, the month's roll-up, the index.

The event is EventBridge's Scheduled Event (the day before the one its `time` falls on, in
Asia/Ho_Chi_Minh), or {"day": "YYYY-MM-DD"} to export a given day (`civic local tick export --day`).
Moderation events from the Timeline stream (hide, redact, a refusal) rewrite the days already exported
that held those reports, so a take-down reaches the open data too, and move hidden photos' files out of
the CDN's reach (back again when they are shown).
"""

from civic import observability
from civic.bootstrap import services
from civic.clock import now_iso

logger = observability.logger()
metrics = observability.metrics()
tracer = observability.tracer()


def _day(event, now: str) -> str | None:
    """The day to export, or None when the event names no valid day."""
    from civic.domain import opendata

    event = event if isinstance(event, dict) else {}
    if "day" in event:
        try:
            return opendata.parse_day(event["day"]).isoformat()
        except ValueError:
            return None
    try:
        return opendata.previous_day(event.get("time") or now)
    except (AttributeError, TypeError, ValueError):
        return None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    from civic.services.exports import export_day

    wired = services()
    now = now_iso()
    if isinstance(event, dict) and "Records" in event:
        return _moderated(event["Records"], now)
    day = _day(event, now)
    if day is None or day > _today(now):
        # Bad input is not worth retrying: answer it and log it (without the event, which is input).
        logger.warning("export refused: not a past or current day")
        observability.count("ExportRefused")
        return {"error": "day must be a YYYY-MM-DD day that has begun in Asia/Ho_Chi_Minh"}
    result = export_day(wired.store, wired.open_data, day, wired.directory.tree, now, stats=wired.stats_store,
                        min_ratings=wired.settings.min_ratings)
    logger.info("export run", extra={k: v for k, v in result.items() if k != "written"} | {"written": len(result["written"])})
    observability.count("ExportedReports", result["rows"])
    observability.count("ExportFilesWritten", len(result["written"]))
    return result


def _moderated(records: list, now: str) -> dict:
    """A stream batch (already filtered to moderation events): re-export the days that held them.
    One run for the whole batch; an error fails the batch and the stream retries it."""
    from civic.services.exports import reexport_moderated

    wired = services()
    ids = sorted({r["dynamodb"]["NewImage"]["report_id"]["S"] for r in records
                  if "NewImage" in r.get("dynamodb", {})})
    from civic.adapters.s3.opendata import S3MediaFiles
    from civic.services.exports import withhold_media

    moved = withhold_media(wired.store, S3MediaFiles(wired.settings), ids)  # photos out of (or back into) reach
    days = reexport_moderated(wired.store, wired.open_data, ids, wired.directory.tree, now, stats=wired.stats_store,
                              min_ratings=wired.settings.min_ratings)
    logger.info("moderation re-export", extra={"reports": len(ids), "days": days, "media_moved": moved})
    observability.count("ExportModerationRewrites", len(days))
    observability.count("MediaWithheldMoves", moved)
    return {"reports": len(ids), "days": days, "media_moved": moved}


def _today(now: str) -> str:
    from civic.clock import local_day

    return local_day(now)
