"""HTTP glue between Chalice and the core: errors as JSON, language, identity, per-process services().

Routes in app.py stay one-liners: parse the request with these helpers, call `civic`, return.
"""

from __future__ import annotations

import functools
import json
import re
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from chalice import CognitoUserPoolAuthorizer, CORSConfig, Response

from civic import observability
from civic.adapters.dynamo.idempotency import IdempotencyConflict
from civic.bootstrap import services
from civic.domain.errors import Conflict, DomainError, Forbidden, Invalid, TooMany, unauthenticated
from civic.i18n import pick_language, text

# Browsers may send the headers our API reads, and read the ones it answers with.
CORS = CORSConfig(
    allow_origin="*",
    allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Accept-Language", "X-Request-Id", "If-Match",
                   "If-None-Match"],
    expose_headers=["X-Request-Id", "Location", "Retry-After", "ETag"],
    max_age=600,
)
# JSON is what we read; other declared types reach the handler, which answers invalid_json itself
# (Chalice's own 415 would not have the API's error shape).
BODY_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded"]

# The provider ARN is replaced by the user pool's at package time (infra/chalice-merge.yaml).
authorizer = CognitoUserPoolAuthorizer(
    "CivicUserPool",
    provider_arns=["arn:aws:cognito-idp:ap-southeast-1:000000000000:userpool/ap-southeast-1_placeholder"],
)

# The one place a domain error's kind becomes an HTTP status.
STATUS = {"invalid": 400, "unauthenticated": 401, "forbidden": 403, "not_found": 404, "conflict": 409,
          "too_large": 413, "too_many": 429, "not_ready": 503}
# Reads never counted against the anonymous quota: they make no AWS call (health checks, documents the
# web app loads once), so counting them would cost more than serving them; the stage throttle covers them.
UNCOUNTED_READS = {"health", "public_config", "categories", "openapi_document"}


def status_of(error: DomainError) -> int:
    return STATUS[error.kind]


# Powertools idempotency's refusals (an edge concern): (status, error).
IDEMPOTENCY_ERRORS = {
    "reused": (422, Invalid(
        "idempotency_key_reused",
        text("Idempotency-Key này đã được dùng với một nội dung khác",
             "This Idempotency-Key was already used with a different body"),
    )),
    "in_progress": (409, Conflict(
        "submission_in_progress",
        text("Yêu cầu này đang được xử lý, vui lòng đợi", "This request is still in progress; retry shortly"),
    )),
}
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{8,128}$")
JSON_TYPE = "application/json; charset=utf-8"




def language(request) -> str:
    return pick_language(request.headers.get("accept-language"))


def image_format(request) -> str:
    """Rendition URLs in WebP for clients that accept it (phones save data), JPEG otherwise."""
    return "webp" if "image/webp" in (request.headers.get("accept") or "") else "jpeg"


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        headers={"Content-Type": JSON_TYPE, **(headers or {})},
    )


def error_headers(error: DomainError) -> dict[str, str]:
    """A used-up quota says when to come back (seconds until its window ends)."""
    return {"Retry-After": str(error.retry_after)} if isinstance(error, TooMany) else {}


def error_response(error: DomainError, lang: str, status: int | None = None) -> Response:
    return json_response(error.body(lang), status or status_of(error), error_headers(error))


def _signed_in(request) -> bool:
    """Claims from the Cognito authorizer, or a bearer token that verifies (a made-up header must not
    be a way around the anonymous quota)."""
    from civic.auth import InvalidToken, bearer_token

    if (((request.context or {}).get("authorizer") or {}).get("claims") or {}).get("sub"):
        return True
    token = bearer_token(request.headers)
    if not token:
        return False
    try:
        return bool(services().verifier.verify(token).get("sub"))
    except InvalidToken:
        return False


def count_anonymous_read(request, route: str) -> None:
    """A GET without a sign-in counts against its source address's quota; TooMany past it."""
    if request.method != "GET" or route in UNCOUNTED_READS:
        return
    quotas = services().quotas
    source = ((request.context or {}).get("identity") or {}).get("sourceIp")
    if not source or not quotas.enabled("anonymous_read"):
        return
    try:
        if not _signed_in(request):
            quotas.anonymous_read(source)
    except TooMany:
        raise
    except Exception as exc:  # counters or JWKS unreachable: public reads stay up (the stage throttle remains)
        observability.count("QuotaErrors")
        observability.logger().warning("quota not counted", extra={"error": type(exc).__name__})


def request_id(request) -> str:
    context = request.context or {}
    return request.headers.get("x-request-id") or context.get("requestId") or uuid.uuid4().hex


def endpoint(view: Callable[..., Any]) -> Callable[..., Response]:
    """Wrap a route: JSON answers, a domain error → its kind's status, anything else → a 500 without internals.

    Logs one line per request with the correlation id; never the body, claims or query (they may
    carry personal data).
    """

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        request = _current_request()
        log = observability.logger()
        rid = request_id(request)
        log.clear_state()  # keys appended by an earlier invocation in this process
        log.set_correlation_id(rid)
        lang = language(request)
        try:
            if not getattr(view, "counts_own_reads", False):  # Open311 answers its refusals in its format
                count_anonymous_read(request, view.__name__)
            with observability.traced(view.__name__):
                result = view(*args, **kwargs)
            response = result if isinstance(result, Response) else json_response(result)
        except IdempotencyConflict as exc:
            observability.count("RefusedInputs")
            status, error = IDEMPOTENCY_ERRORS[exc.kind]
            response = error_response(error, lang, status)
        except DomainError as exc:
            status = status_of(exc)
            if status < 500:
                observability.count("QuotaRefusals" if isinstance(exc, TooMany) else "RefusedInputs")
            log.info("refused", extra={"route": view.__name__, "status": status, "code": exc.code})
            response = error_response(exc, lang, status)
        except Exception as exc:
            observability.count("HandlerErrors")
            # The exception's type and where it happened, not its message: messages can echo input.
            log.error(
                "handler error",
                extra={"route": view.__name__, "error": type(exc).__name__,
                       "where": traceback.format_list(traceback.extract_tb(exc.__traceback__)[-3:])},
            )
            response = json_response(
                {
                    "error": {
                        "code": "internal_error",
                        "message": text(
                            "Đã có lỗi, vui lòng thử lại sau", "Something went wrong; please try again later"
                        ).get(lang),
                        "fields": {},
                        "request_id": rid,
                    }
                },
                500,
            )
        response.headers["X-Request-Id"] = rid
        observability.flush_metrics()
        return response

    return wrapper


_app = None


def bind_app(app) -> None:
    """The Chalice app whose `current_request` the endpoint wrapper reads; Chalice's own refusals (a
    content type no route takes) answered in the API's shapes."""
    global _app
    _app = app
    app.register_middleware(_own_shapes, "http")


UNSUPPORTED_TYPE = text("Kiểu nội dung không được hỗ trợ", "Unsupported content type")


def _own_shapes(event, get_response):
    """Chalice answers a body type no route declares with its own `{"Code", "Message"}` 415, before any
    view runs. Clients get the API's error shape instead, or Open311's `errors` under /open311."""
    response = get_response(event)
    if response.status_code != 415:
        return response
    lang = language(event)
    path = event.path or ""
    if path.startswith("/open311/"):
        from chalicelib import open311

        segment = next(iter((event.uri_params or {}).values()), "")  # `path` is the route's pattern
        fmt = "json" if segment.endswith(".json") else "xml"
        status, body, content_type = open311.render_error(open311.Open311Error(415, UNSUPPORTED_TYPE), fmt, lang)
        return Response(body=body, status_code=status, headers={**response.headers, "Content-Type": content_type})
    error = Invalid("unsupported_media_type", UNSUPPORTED_TYPE,
                    {"Content-Type": text("Gửi application/json", "Send application/json")})
    return Response(body=json.dumps(error.body(lang), ensure_ascii=False), status_code=415,
                    headers={**response.headers, "Content-Type": JSON_TYPE})


def _current_request():
    return _app.current_request


def json_body(request) -> Any:
    raw = request.raw_body
    if not raw:
        raise Invalid("invalid_json", text("Thiếu nội dung JSON", "A JSON body is required"))
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly nested input
        raise Invalid(
            "invalid_json", text("Nội dung không phải JSON hợp lệ", "The body is not valid JSON")
        ) from None


def parsed_body(request, model):
    """The JSON body as its model (civic.domain.inputs, or an edge model of chalicelib.schemas): the
    domain's bilingual `invalid_request`, one message per field, when it does not fit. Routes import
    civic.domain.inputs inside the view: pydantic is not paid for by a cold start that serves a read."""
    from pydantic import ValidationError

    from civic.domain.submission import validation_error

    body = json_body(request)
    if hasattr(model, "parse"):  # civic.domain.inputs.Input: its own per-field hints
        return model.parse(body)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from None


def query(request) -> dict[str, str]:
    return dict(request.query_params or {})


def claims(request) -> dict:
    """Claims of a route behind the Cognito authorizer (API Gateway, or the local gateway)."""
    found = ((request.context or {}).get("authorizer") or {}).get("claims")
    if not found or not found.get("sub"):
        raise unauthenticated()
    return found


def groups(found: dict) -> set[str]:
    """`cognito:groups` as API Gateway passes it ("a,b" or "[a b]") or as a JWT list."""
    raw = found.get("cognito:groups") or ""
    if isinstance(raw, list):
        return {str(g) for g in raw}
    return {g for g in raw.strip("[]").replace(",", " ").split() if g}


def require_group(request, group: str) -> dict:
    found = claims(request)
    if group not in groups(found):
        raise Forbidden(text("Bạn không có quyền thực hiện thao tác này", "You are not allowed to do this"))
    if services().staff_directory.is_disabled(found["sub"]):
        raise _disabled()
    return found


def _disabled() -> Forbidden:
    """A disabled person's id token stays valid until it expires (≤ 1 h): staff and admin routes refuse it now."""
    return Forbidden(text("Tài khoản đã bị khóa", "This account is disabled"), code="account_disabled")


def staff_member(request):
    """The signed-in staff member (role from Cognito groups, units from the Users table); 403 otherwise."""
    from civic.services.staff import member_from

    found = claims(request)
    role, units = services().staff_directory.membership(found["sub"])  # one read: units, and whether disabled
    member = member_from(found["sub"], groups(found), [] if role == "disabled" else units)
    if member is None:
        raise Forbidden(text("Chỉ dành cho cán bộ", "For staff only"))
    if role == "disabled":
        raise _disabled()
    return member


def seen_version(request) -> int | None:
    """The report version from an If-Match header ("7" or a quoted ETag "\"7\""), if any."""
    raw = (request.headers.get("if-match") or "").strip().removeprefix("W/").strip('"')
    return int(raw) if re.fullmatch(r"[0-9]{1,11}", raw) else None


def seen_tags(request) -> set[str]:
    """The entity tags of an If-None-Match header, compared weakly (RFC 9110: W/ is ignored). A list too
    long to be a client's is ignored: the answer is then sent in full."""
    raw = request.headers.get("if-none-match") or ""
    if not raw or len(raw) > 1024:
        return set()
    tags = {part.strip().removeprefix("W/") for part in raw.split(",") if part.strip()}
    return {f"W/{t}" for t in tags if re.fullmatch(r'"[\x21\x23-\x7e]{1,64}"', t)}


def tagged_response(found, max_age: int = 0) -> Response:
    """200 with the view and its ETag, or 304 with only the ETag when the client's tag is current. The
    client revalidates every time (no-cache): a report may change at any moment."""
    headers = {"ETag": found.tag, "Cache-Control": f"no-cache, max-age={max_age}", "Vary": "Accept, Authorization"}
    if found.view is None:
        return Response(body="", status_code=304, headers=headers)
    return json_response(found.view, 200, headers)


def optional_viewer(request) -> str | None:
    """The signed-in user's id on a public route, verified here (API Gateway does not on these)."""
    from civic.auth import InvalidToken, bearer_token

    token = bearer_token(request.headers)
    if not token:
        return None
    try:
        return services().verifier.verify(token).get("sub")
    except InvalidToken:
        raise unauthenticated() from None


def idempotency_key(request) -> str:
    key = request.headers.get("idempotency-key")
    if not key or not IDEMPOTENCY_KEY.match(key):
        raise Invalid(
            "idempotency_key_required",
            text(
                "Cần tiêu đề Idempotency-Key (8–128 ký tự chữ, số, - _ . :)",
                "An Idempotency-Key header is required (8–128 letters, digits, - _ . :)",
            ),
            {"Idempotency-Key": text("Thiếu hoặc sai định dạng", "Missing or malformed")},
        )
    return key
