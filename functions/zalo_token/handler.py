"""Hourly schedule → refresh the Zalo OA's access token before it expires, and keep the new refresh token."""

from civic import observability
from civic.bootstrap import services

logger = observability.logger()
metrics = observability.metrics()
tracer = observability.tracer()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    from civic.adapters.channels.zalo_token import ZaloCredentials, ZaloCredentialsError

    settings = services().settings
    if not settings.zalo_secret_arn:
        return {"outcome": "not_configured"}
    try:
        outcome = ZaloCredentials(settings).refresh(force=bool((event or {}).get("force")))
    except ZaloCredentialsError as exc:  # the code only: never a token
        logger.error("zalo token refresh failed", extra={"code": exc.code})
        observability.count("ZaloTokenRefreshFailed")
        raise  # the schedule's retries, then the failed-events queue and its alarm
    logger.info("zalo token", extra={"outcome": outcome})
    observability.count({"refreshed": "ZaloTokenRefreshed"}.get(outcome, "ZaloTokenChecked"))
    return {"outcome": outcome}
