"""Open311 GeoReport v2 under /open311/v2, and the admin routes that issue its API keys.

API Gateway path parameters are whole segments, so `services.json` arrives as one `{resource}` and the
format is split off here (`open311.split_format`). Answers and errors are in the specification's
XML or JSON; the mapping itself is the rest of this package (pure, unit-tested).
"""

from __future__ import annotations

import functools
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from chalice import Blueprint, Response

from chalicelib import open311
from chalicelib.http import (
    BODY_TYPES,
    CORS,
    authorizer,
    count_anonymous_read,
    endpoint,
    error_headers,
    json_response,
    language,
    parsed_body,
    require_group,
    status_of,
)
from civic.adapters.dynamo.idempotency import IdempotencyConflict
from civic.bootstrap import services
from civic.clock import iso_utc, utc_now
from civic.domain.errors import DomainError
from civic.i18n import text
from civic.observability import count, logger

bp = Blueprint(__name__)

PREFIX = "/open311/v2"
CHANGESET = "2026-11-23T00:00:00+07:00"  # when this endpoint's behaviour last changed
# A filtered listing evaluates at most this many reports of the window (service_code/status filters
# are applied to the ByDay pages), so one request can never read a whole year's history.
MAX_EVALUATED = 20000
_TIMELINE_READERS = 8
RECENT_EVENTS = 3  # events read per listed request (without extensions) to find its latest public note




def _respond(status: int, body: str, content_type: str, headers: dict | None = None) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": content_type, **(headers or {})})


def open311_view(view):
    """Answer in the format the path asked for; refusals as the specification's `errors`."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        request = bp.current_request
        lang = language(request)
        fmt = "xml"
        try:
            segment = next(iter(kwargs.values()), "")
            fmt = segment.rpartition(".")[2] if segment.rpartition(".")[2] in open311.FORMATS else "xml"
            count_anonymous_read(request, view.__name__)
            root, payload, status = view(*args, lang=lang, **kwargs)
            body, content_type = open311.render(root, payload, fmt)
            return _respond(status, body, content_type)
        except (open311.Open311Error, DomainError) as exc:
            count("RefusedInputs")
            headers = {}
            if isinstance(exc, DomainError):
                headers = error_headers(exc)  # Retry-After past a quota
                exc = open311.from_domain_error(exc, status_of(exc))
            status, body, content_type = open311.render_error(exc, fmt, lang)
            return _respond(status, body, content_type, headers)
        except IdempotencyConflict as exc:
            error = open311.Open311Error(409, text("Yêu cầu này đang được xử lý hoặc trùng khóa với yêu cầu khác",
                                                   "This request is in progress, or its key was used for another"))
            del exc
            status, body, content_type = open311.render_error(error, fmt, lang)
            return _respond(status, body, content_type)

    wrapper.counts_own_reads = True  # type: ignore[attr-defined]  # so `endpoint` leaves the count to it
    return wrapper


def _params(request) -> dict[str, list[str]]:
    params = request.query_params
    if not params:
        return {}
    return {name: list(params.getlist(name)) for name in params}


def _unit_name(lang: str):
    tree = services().directory.tree

    def name(code: str | None) -> str | None:
        unit = tree.get(code) if code else None
        if unit is None:
            return code
        return unit.name_en if lang == "en" else unit.name_vi

    return name


def _api_url(request) -> str:
    headers = request.headers
    host = headers.get("host") or (request.context or {}).get("domainName") or "localhost"
    proto = headers.get("x-forwarded-proto") or "http"
    context = request.context or {}
    stage = context.get("stage")
    # On API Gateway's own domain the stage is part of the path; on a custom domain or locally it is not.
    prefix = f"/{stage}" if stage and host.endswith(".amazonaws.com") else ""
    return f"{proto}://{host}{prefix}"


def _timelines(reports) -> list:
    if len(reports) <= 1:
        return [services().store.timeline(r.id) for r in reports]
    with ThreadPoolExecutor(max_workers=min(_TIMELINE_READERS, len(reports))) as pool:
        return list(pool.map(lambda r: services().store.timeline(r.id), reports))


def _requests_payload(reports, lang: str, extensions: bool) -> list[dict]:
    unit_name = _unit_name(lang)
    base = services().settings.media_base_url
    if extensions or len(reports) <= 1:
        timelines = _timelines(reports)  # every public note: the whole timeline of each
    else:
        # status_notes is the latest public note: almost always among the last few events, read in
        # batches of 100 keys; only a report whose recent events carry none has its timeline read.
        timelines = services().open311_store.recent_events(reports, RECENT_EVENTS)
        for index, (report, events) in enumerate(zip(reports, timelines)):
            if report.version > len(events) and not open311.public_notes(events, lang, unit_name):
                timelines[index] = services().store.timeline(report.id)
    return [
        open311.service_request(report, events, lang, base, unit_name, extensions)
        for report, events in zip(reports, timelines)
    ]


# ---------------------------------------------------------------- /open311/v2/{resource}


@bp.route(PREFIX + "/{resource}", methods=["GET"], cors=CORS)
@endpoint
@open311_view
def open311_get(resource, lang):
    request = bp.current_request
    name, _ = open311.split_format(resource)
    if name == "discovery":
        return "discovery", open311.discovery(_api_url(request), CHANGESET, lang), 200
    if name == "services":
        return "services", open311.services(lang), 200
    if name == "requests":
        return "service_requests", _list_requests(_params(request), lang), 200
    if name == "servicerequestupdates":
        return "service_requests_updates", _updates(_params(request), lang), 200
    raise open311.Open311Error(404, text("Không có tài nguyên này", "No such resource"))


# A client may send the photo itself (multipart `media`); app.py declares the type binary for API Gateway.
POST_TYPES = [*BODY_TYPES, "multipart/form-data"]


@bp.route(PREFIX + "/{resource}", methods=["POST"], cors=CORS, content_types=POST_TYPES)
@endpoint
@open311_view
def open311_post(resource, lang):
    request = bp.current_request
    name, _ = open311.split_format(resource)
    if name == "servicerequestupdates":
        return _post_update(request, lang)
    open311.split_format(resource, "requests")
    content_type = request.headers.get("content-type") or ""
    if content_type.lower().startswith("multipart/form-data"):
        form, upload = open311.parse_multipart(request.raw_body, content_type)
    else:
        form, upload = open311.parse_form(request.raw_body), None
    api_key = (form.get("api_key") or [None])[-1] or (_params(request).get("api_key") or [None])[-1]
    client_id = _client_of(api_key, text("api_key không hợp lệ hoặc đã bị thu hồi: không thể tạo yêu cầu",
                                         "Invalid or revoked api_key: cannot create the request"))
    submission = open311.parse_submission(form, client_id, lang, locate_address=_ward_named)
    if upload is not None:  # declared like any photo: the size limit, then a media item waiting for its file
        submission.body["media"] = [{"content_type": upload.content_type, "size": len(upload.data)}]
    # The same checks as POST /v1/reports (service area, text rules), before anything is written.
    from civic.services.intake import parse_submission

    checked = parse_submission(submission.body, services().settings).model_dump(mode="json")
    citizen_id = open311.citizen_id(client_id, submission.identity)
    contact = None
    if submission.identity != "anonymous":
        contact = {"details": submission.contact, "name": open311.display_name(submission.contact)}
    body = {"report": checked, "citizen_id": citizen_id, "event_data": submission.event_data}
    # The client's own Idempotency-Key when it sends one (a retry gets the first answer); otherwise every
    # POST is a new request: two citizens sending the same words through one aggregator are two reports.
    key = request.headers.get("idempotency-key") or uuid.uuid4().hex
    # The client's quota and the contact are taken inside, after the replay check: a retry counts nothing.
    record = services().open311_create(
        request={"key": f"open311:{client_id}:{key[:128]}", "body": body, "client_id": client_id, "contact": contact},
        context=bp.lambda_context)
    count("ReportsSubmitted")
    count("Open311Submissions")
    if upload is not None:
        _hand_over(record["id"], upload)
    if submission.identity != "anonymous":
        _ask_to_verify(citizen_id, client_id)
    return "service_requests", open311.created(record["id"], record["tracking_code"], lang), 201


def _ward_named(address: str) -> tuple[float, float, str] | None:
    """A point inside the ward or commune an address names (its boundary's representative point)."""
    from civic.domain.units import unit_named_in

    directory = services().directory
    code = unit_named_in(address, directory.tree)
    geometry = directory.geometry(code) if code else None
    if geometry is None:
        return None
    inside = geometry.representative_point()
    return round(inside.y, 6), round(inside.x, 6), code


def _client_of(api_key: str | None, refusal) -> str:
    """The client an api_key belongs to; a 403 in the specification's format otherwise."""
    client_id = services().open311_store.client_for_key(api_key)
    if client_id is None:
        raise open311.Open311Error(403, refusal)
    return client_id


def _post_update(request, lang: str):
    """mySociety's POST servicerequestupdates: a partner's comment reaches the unit's staff (internal)."""
    from civic.clock import now_iso
    from civic.services.intake import partner_update

    form = open311.parse_form(request.raw_body)
    api_key = (form.get("api_key") or [None])[-1]
    client_id = _client_of(api_key, text("api_key không hợp lệ hoặc đã bị thu hồi", "Invalid or revoked api_key"))
    update = open311.parse_update(form)
    if not open311.published(services().store.get(update.service_request_id)):
        raise open311.Open311Error(404, text("Không tìm thấy yêu cầu", "Service request not found"))
    services().quotas.open311_post(client_id)
    ours = partner_update(services().store, update.service_request_id, client_id, update.update_id, update.text,
                          now_iso(), update.media_url)
    count("Open311Updates")
    return "service_request_updates", open311.update_created(ours), 201


def _hand_over(report_id: str, upload) -> None:
    """The photo goes where a presigned POST would have put it; the media function checks and renders
    it like any other (a replayed POST writes the same object again, which changes nothing)."""
    from civic.domain.reports import upload_key

    report = services().store.get(report_id)
    for item in report.media if report else []:
        if item.role == "report" and item.status == "pending":
            services().blobs.put_upload(upload_key(report.id, item.media_id), upload.data, upload.content_type,
                                        report.citizen_id)


def _ask_to_verify(citizen_id: str, client_id: str) -> None:
    """The submitter's email or phone gets one verification message (rate-limited per address and per
    client) and nothing else until confirmed. The report is in whatever happens here."""
    wired = services()
    try:
        prefs = wired.notify_store.get_preferences(citizen_id)
        if prefs is not None:
            asked = wired.verification.for_open311(prefs, client_id, iso_utc(utc_now()))
            for outcome in asked.values():
                count(f"ContactVerification_{outcome}")
    except Exception as exc:  # never the address: the error's type only
        logger().warning("contact verification not requested", extra={"error": type(exc).__name__})


@bp.route(PREFIX + "/services/{service}", methods=["GET"], cors=CORS)
@endpoint
@open311_view
def open311_service_definition(service, lang):
    code, _ = open311.split_format(service)
    return "service_definition", open311.service_definition(code, lang), 200


@bp.route(PREFIX + "/requests/{request_id}", methods=["GET"], cors=CORS)
@endpoint
@open311_view
def open311_request(request_id, lang):
    request = bp.current_request
    raw, _ = open311.split_format(request_id)
    params = _params(request)
    extensions = open311.parse_flag((params.get("extensions") or [None])[-1])
    report = services().store.get(raw) if open311.valid_request_id(raw) else None
    if report is None:
        from civic.domain.reports import normalise_tracking_code

        report = services().store.get_by_tracking(normalise_tracking_code(raw))  # a token works too
    if not open311.published(report):
        raise open311.Open311Error(404, text("Không tìm thấy yêu cầu", "Service request not found"))
    return "service_requests", _requests_payload([report], lang, extensions), 200


@bp.route(PREFIX + "/tokens/{token}", methods=["GET"], cors=CORS)
@endpoint
@open311_view
def open311_token(token, lang):
    from civic.domain.reports import normalise_tracking_code

    raw, _ = open311.split_format(token)
    report = services().store.get_by_tracking(normalise_tracking_code(raw)) if len(raw) <= 32 else None
    return "service_requests", open311.token_answer(report if open311.published(report) else None, raw), 200


def _list_requests(params: dict[str, list[str]], lang: str) -> list[dict]:
    query = open311.parse_request_query(params, open311.now_utc())
    if query.ids:  # the specification: ids override every other parameter
        reports = [r for r in (services().store.get(i) if open311.valid_request_id(i) else None for i in query.ids)
                   if open311.published(r)]
        return _requests_payload(reports, lang, query.extensions)
    skip = (query.page - 1) * query.page_size
    page = []
    evaluated = 0
    days = open311.local_days(query.start, query.end)
    for report in services().open311_store.reports_between(iso_utc(query.start), iso_utc(query.end), days):
        evaluated += 1
        if evaluated > MAX_EVALUATED:
            break
        if not open311.matches(report, query) or not open311.published(report):
            continue
        if skip:
            skip -= 1
            continue
        page.append(report)
        if len(page) >= query.page_size:
            break
    return _requests_payload(page, lang, query.extensions)


def _updates(params: dict[str, list[str]], lang: str) -> list[dict]:
    """Public changes since `start_date` (default: the last day) of the reports of the window."""
    now = open311.now_utc()
    end_raw, start_raw = (params.get("end_date") or [None])[-1], (params.get("start_date") or [None])[-1]
    end = open311.parse_w3c(end_raw, "end_date", end_of_day=True) if end_raw else now
    start = open311.parse_w3c(start_raw, "start_date") if start_raw else end - timedelta(days=1)
    if start > end or end - start > timedelta(days=open311.MAX_WINDOW_DAYS, seconds=1):
        raise open311.bad("Khoảng thời gian không hợp lệ (tối đa 90 ngày)", "Invalid date range (at most 90 days)")
    # Reports changed in the range were created at most 90 days before its end (the listing window).
    window_start = end - timedelta(days=open311.MAX_WINDOW_DAYS)
    lo = iso_utc(start)
    changed = []
    for index, report in enumerate(services().open311_store.reports_between(iso_utc(window_start), iso_utc(end),
                                                               open311.local_days(window_start, end))):
        if index >= MAX_EVALUATED:
            break
        if report.updated_at >= lo and open311.published(report):
            changed.append(report)
    unit_name = _unit_name(lang)
    out = []
    for report, events in zip(changed, _timelines(changed)):
        out.extend(open311.request_updates(report, events, start, end, lang, unit_name))
    out.sort(key=lambda u: (u["updated_datetime"], u["update_id"]))
    return out[: open311.MAX_ROWS]


# ---------------------------------------------------------------- admin: API keys per client


@bp.route("/v1/admin/open311/clients", methods=["GET", "POST"], authorizer=authorizer, cors=CORS,
          content_types=BODY_TYPES)
@endpoint
def open311_clients():
    request = bp.current_request
    require_group(request, "admin")
    if request.method == "GET":
        return {"items": services().open311_store.clients()}
    from chalicelib.schemas.bodies import Open311ClientInput

    client = parsed_body(request, Open311ClientInput)
    from civic.clock import now_iso

    created = services().open311_store.create_client(client.name, client.contact, now_iso())
    return json_response(created, 201)


@bp.route("/v1/admin/open311/clients/{client_id}", methods=["DELETE"], authorizer=authorizer, cors=CORS)
@endpoint
def open311_revoke(client_id):
    request = bp.current_request
    require_group(request, "admin")
    from civic.clock import now_iso
    from civic.domain.errors import NotFound

    revoked = services().open311_store.revoke(client_id, now_iso()) if len(client_id) <= 64 else None
    if revoked is None:
        raise NotFound("Không có ứng dụng này", "No such client")
    return revoked
