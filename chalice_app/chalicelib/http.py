"""HTTP glue between Chalice and the core: errors as JSON, language, identity, per-process ports.

Routes in app.py stay one-liners: parse the request with these helpers, call `civic`, return.
"""

from __future__ import annotations

import functools
import json
import re
import traceback
import uuid
from functools import cached_property
from typing import Any, Callable

from chalice import CognitoUserPoolAuthorizer, CORSConfig, Response

from civic import observability
from civic.errors import ApiError, bad_request, unauthorized
from civic.i18n import pick_language, text
from civic.storage.idempotency import IdempotencyConflict

# Browsers may send the headers our API reads, and read the ones it answers with.
CORS = CORSConfig(
    allow_origin="*",
    allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Accept-Language", "X-Request-Id", "If-Match"],
    expose_headers=["X-Request-Id", "Location"],
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

IDEMPOTENCY_ERRORS = {
    "reused": ApiError(
        422, "idempotency_key_reused",
        text("Idempotency-Key này đã được dùng cho một phản ánh khác",
             "This Idempotency-Key was already used with a different body"),
    ),
    "in_progress": ApiError(
        409, "submission_in_progress",
        text("Phản ánh này đang được gửi, vui lòng đợi", "This submission is still in progress; retry shortly"),
    ),
}
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{8,128}$")
JSON_TYPE = "application/json; charset=utf-8"


class Ports:
    """The adapters one process uses, built on first use (moto must be able to intercept them)."""

    @cached_property
    def settings(self):
        # Imported here, not at module level: pydantic-settings is a large share of a cold start.
        from civic.settings import get_settings
        from civic.storage import models

        settings = get_settings()
        models.bind(settings)
        return settings

    @cached_property
    def store(self):
        from civic.storage.dynamo import DynamoReportStore

        self.settings  # binds the models
        return DynamoReportStore()

    @cached_property
    def units(self):
        from civic.storage.units import DynamoUnitStore

        self.settings  # binds the models
        return DynamoUnitStore()

    @cached_property
    def follows(self):
        from civic.storage.units import DynamoFollowStore

        self.settings
        return DynamoFollowStore()

    def extend_due(self, due: str, paused_from: str, resumed: str) -> str:
        """A deadline pushed back by the working time the unit waited for the citizen."""
        from civic.domain.sla import extend_due
        from civic.routing import working_calendar

        return extend_due(working_calendar(), due, paused_from, resumed)

    def due_state(self, due_at: str | None) -> str:
        """on_time / due_soon / overdue / none, right now."""
        from civic.routing import due_state_now

        return due_state_now(due_at)

    @cached_property
    def staff_directory(self):
        from civic.storage.units import DynamoStaffDirectory

        self.settings
        return DynamoStaffDirectory()

    def workflow_context(self, now: str):
        """What staff actions need to know: units (transfer, approval) and deadlines."""
        from civic.domain.workflow import Context
        from civic.routing import report_deadlines

        tree = self.directory.tree
        return Context(
            now=now,
            unit_exists=lambda code: code in tree,
            parent_of=lambda code: (tree.get(code).parent_code if tree.get(code) else None),
            requires_approval=lambda code: bool(tree.get(code) and tree.get(code).requires_approval),
            deadlines=lambda report, priority, start: report_deadlines(
                tree, report.category, priority, report.unit_code, start
            ),
        )

    @cached_property
    def directory(self):
        from civic.storage.directory import Directory

        return Directory(self.settings, units_store=self.units)

    @cached_property
    def signer(self):
        from civic.storage.s3 import S3UploadSigner

        return S3UploadSigner(self.settings)

    @cached_property
    def verifier(self):
        from civic.auth import TokenVerifier

        return TokenVerifier.from_settings(self.settings)

    @cached_property
    def idempotent_create(self) -> Callable[..., dict]:
        """`create_report` behind Powertools idempotency: one report per (citizen, Idempotency-Key)."""
        from civic.domain.submission import ReportSubmission
        from civic.intake import create_report, created
        from civic.storage.idempotency import idempotent

        s = self.settings

        @idempotent(s)
        def create_once(request: dict) -> dict:
            submission = ReportSubmission.model_validate(request["body"])
            report = create_report(submission, citizen_id=request["citizen_id"], store=self.store, settings=s)
            return created(report)

        return create_once


ports = Ports()


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


def error_response(error: ApiError, lang: str) -> Response:
    return json_response(error.body(lang), error.status)


def request_id(request) -> str:
    context = request.context or {}
    return request.headers.get("x-request-id") or context.get("requestId") or uuid.uuid4().hex


def endpoint(view: Callable[..., Any]) -> Callable[..., Response]:
    """Wrap a route: JSON answers, ApiError → its status, anything else → a 500 without internals.

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
            with observability.traced(view.__name__):
                result = view(*args, **kwargs)
            response = result if isinstance(result, Response) else json_response(result)
        except IdempotencyConflict as exc:
            observability.count("RefusedInputs")
            response = error_response(IDEMPOTENCY_ERRORS[exc.kind], lang)
        except ApiError as exc:
            if exc.status < 500:
                observability.count("RefusedInputs")
            log.info("refused", extra={"route": view.__name__, "status": exc.status, "code": exc.code})
            response = error_response(exc, lang)
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
    """The Chalice app whose `current_request` the endpoint wrapper reads."""
    global _app
    _app = app


def _current_request():
    return _app.current_request


def json_body(request) -> Any:
    raw = request.raw_body
    if not raw:
        raise bad_request("invalid_json", text("Thiếu nội dung JSON", "A JSON body is required"))
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly nested input
        raise bad_request(
            "invalid_json", text("Nội dung không phải JSON hợp lệ", "The body is not valid JSON")
        ) from None


def query(request) -> dict[str, str]:
    return dict(request.query_params or {})


def claims(request) -> dict:
    """Claims of a route behind the Cognito authorizer (API Gateway, or the local gateway)."""
    found = ((request.context or {}).get("authorizer") or {}).get("claims")
    if not found or not found.get("sub"):
        raise unauthorized()
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
        raise ApiError(403, "forbidden", text("Bạn không có quyền thực hiện thao tác này", "You are not allowed to do this"))
    return found


def staff_member(request):
    """The signed-in staff member (role from Cognito groups, units from the Users table); 403 otherwise."""
    from civic.staff import member_from

    found = claims(request)
    member = member_from(found["sub"], groups(found), ports.staff_directory.units_of(found["sub"]))
    if member is None:
        raise ApiError(403, "forbidden", text("Chỉ dành cho cán bộ", "For staff only"))
    return member


def seen_version(request) -> int | None:
    """The report version from an If-Match header ("7" or a quoted ETag "\"7\""), if any."""
    raw = (request.headers.get("if-match") or "").strip().removeprefix("W/").strip('"')
    return int(raw) if re.fullmatch(r"[0-9]{1,11}", raw) else None


def optional_viewer(request) -> str | None:
    """The signed-in user's id on a public route, verified here (API Gateway does not on these)."""
    from civic.auth import InvalidToken, bearer_token

    token = bearer_token(request.headers)
    if not token:
        return None
    try:
        return ports.verifier.verify(token).get("sub")
    except InvalidToken:
        raise unauthorized() from None


def idempotency_key(request) -> str:
    key = request.headers.get("idempotency-key")
    if not key or not IDEMPOTENCY_KEY.match(key):
        raise bad_request(
            "idempotency_key_required",
            text(
                "Cần tiêu đề Idempotency-Key (8–128 ký tự chữ, số, - _ . :)",
                "An Idempotency-Key header is required (8–128 letters, digits, - _ . :)",
            ),
            {"Idempotency-Key": text("Thiếu hoặc sai định dạng", "Missing or malformed")},
        )
    return key
