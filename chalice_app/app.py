"""CivicBridge HTTP API (Chalice). Routes only: parse, call the core in `civic`, shape the answer."""

from chalice import Chalice, CognitoUserPoolAuthorizer

from chalicelib.http import (
    bind_app,
    claims,
    endpoint,
    idempotency_key,
    json_body,
    json_response,
    language,
    optional_viewer,
    ports,
    query,
)
from civic import __version__, intake
from civic.errors import ApiError
from civic.observability import count

# configure_logs=False: Powertools owns the "civicbridge" logger (same name as the app).
app = Chalice(app_name="civicbridge", configure_logs=False)
bind_app(app)

# The provider ARN is replaced by the user pool's at package time (infra/chalice-merge.yaml).
authorizer = CognitoUserPoolAuthorizer(
    "CivicUserPool",
    provider_arns=["arn:aws:cognito-idp:ap-southeast-1:000000000000:userpool/ap-southeast-1_placeholder"],
)


@app.route("/v1/health", methods=["GET"], cors=True)
@endpoint
def health():
    return {"status": "ok", "version": __version__}


@app.route("/v1/config", methods=["GET"], cors=True)
@endpoint
def public_config():
    s = ports.settings
    return {
        "region": s.aws_region,
        "user_pool_id": s.user_pool_id,
        "user_pool_client_id": s.user_pool_client_id,
        "aws_endpoint_url": s.aws_endpoint_url,
        "tracking_prefix": s.tracking_prefix,
        "service_bbox": list(s.service_bbox),
        "feed_default_bbox": list(s.feed_default_bbox or s.service_bbox),
        "languages": ["vi", "en"],
    }


@app.route("/v1/categories", methods=["GET"], cors=True)
@endpoint
def categories():
    return intake.categories(language(app.current_request))


@app.route("/v1/reports", methods=["POST"], authorizer=authorizer, cors=True)
@endpoint
def submit_report():
    request = app.current_request
    citizen_id = claims(request)["sub"]
    key = idempotency_key(request)
    body = json_body(request)
    intake.parse_submission(body, ports.settings)  # refuse bad input before any write
    try:
        created = ports.idempotent_submit(request={"key": f"{citizen_id}:{key}", "citizen_id": citizen_id, "body": body})
    except Exception as exc:  # Powertools' idempotency errors, mapped to the API's
        raise _idempotency_error(exc) from exc
    count("ReportsSubmitted")
    return json_response(created, 201, {"Location": f"/v1/reports/{created['id']}"})


@app.route("/v1/reports", methods=["GET"], cors=True)
@endpoint
def public_feed():
    return intake.feed(ports.store, query(app.current_request), ports.settings)


@app.route("/v1/reports/{report_id}", methods=["GET"], cors=True)
@endpoint
def get_report(report_id):
    viewer = optional_viewer(app.current_request)
    return intake.view_report(ports.store, report_id, viewer, ports.settings)


@app.route("/v1/track/{code}", methods=["GET"], cors=True)
@endpoint
def track(code):
    return intake.track(ports.store, code, ports.settings)


@app.route("/v1/me/reports", methods=["GET"], authorizer=authorizer, cors=True)
@endpoint
def my_reports():
    request = app.current_request
    return intake.my_reports(ports.store, claims(request)["sub"], query(request), ports.settings)


def _idempotency_error(exc: Exception) -> Exception:
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    from civic.i18n import text

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, IdempotencyValidationError):
        return ApiError(
            422,
            "idempotency_key_reused",
            text(
                "Idempotency-Key này đã được dùng cho một phản ánh khác",
                "This Idempotency-Key was already used with a different body",
            ),
        )
    if isinstance(exc, IdempotencyAlreadyInProgressError):
        return ApiError(
            409,
            "submission_in_progress",
            text("Phản ánh này đang được gửi, vui lòng đợi", "This submission is still in progress; retry shortly"),
        )
    return exc
