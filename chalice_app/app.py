"""CivicBridge HTTP API (Chalice). Routes only: parse, call the core in `civic`, shape the answer."""

from chalice import Chalice

from chalicelib.http import (
    BODY_TYPES,
    CORS,
    authorizer,
    bind_app,
    claims,
    endpoint,
    groups,
    idempotency_key,
    image_format,
    json_body,
    json_response,
    language,
    optional_viewer,
    query,
    require_group,
    seen_version,
    staff_member,
)
from civic import __version__
from civic.bootstrap import services
from civic.clock import now_iso
from civic.domain import moderation, statuses
from civic.observability import count
from civic.services import intake, staff
from civic.services import units as directory

# configure_logs=False: Powertools owns the "civicbridge" logger (same name as the app).
app = Chalice(app_name="civicbridge", configure_logs=False)
app.api.binary_types.append("multipart/form-data")  # Open311 clients may POST the photo itself
bind_app(app)


@app.route("/v1/health", methods=["GET"], cors=CORS)
@endpoint
def health():
    return {"status": "ok", "version": __version__}


@app.route("/v1/config", methods=["GET"], cors=CORS)
@endpoint
def public_config():
    s = services().settings
    return {
        "region": s.aws_region,
        "user_pool_id": s.user_pool_id,
        "user_pool_client_id": s.user_pool_client_id,
        "cognito_endpoint_url": s.cognito_endpoint,
        "tracking_prefix": s.tracking_prefix,
        "service_bbox": list(s.service_bbox),
        "feed_default_bbox": list(s.feed_default_bbox or s.service_bbox),
        # The deployment: its name, where maps open, and the base map (none: boundaries and markers only).
        "province_name": {"vi": s.province_name_vi, "en": s.province_name_en or s.province_name_vi},
        "map_center": list(s.map_center) if s.map_center else None,
        "map_zoom": s.map_zoom,
        "tile_url": s.tile_url or None,
        "tile_attribution": s.tile_attribution or None,
        "languages": ["vi", "en"],
        # Kinds the web app shows, from the domain's tables (never re-declared in JavaScript).
        "statuses": [s.as_dict() for s in statuses.TABLE],
        "flag_reasons": [{"code": c, "label": label.as_dict()} for c, label in moderation.FLAG_REASONS.items()],
    }


@app.route("/v1/categories", methods=["GET"], cors=CORS)
@endpoint
def categories():
    return intake.categories(language(app.current_request))


@app.route("/v1/reports", methods=["POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def submit_report():
    request = app.current_request
    citizen_id = claims(request)["sub"]
    key = idempotency_key(request)
    # Refuse bad input before any write; the idempotency check compares the validated submission,
    # so 21 and 21.0, or no media and "media": [], count as the same body.
    submission = intake.parse_submission(json_body(request), services().settings)
    body = submission.model_dump(mode="json")
    record = services().idempotent_create(
        request={"key": f"{citizen_id}:{key}", "citizen_id": citizen_id, "body": body}, context=app.lambda_context
    )
    report = services().store.get(record["id"])
    count("ReportsSubmitted")
    answer = {**record, "uploads": intake.upload_slots(report, services().signer, services().settings)}
    return json_response(answer, 201, {"Location": f"/v1/reports/{record['id']}"})


@app.route("/v1/reports", methods=["GET"], cors=CORS)
@endpoint
def public_feed():
    request = app.current_request
    return intake.feed(services().store, query(request), services().settings, image_format(request))


@app.route("/v1/reports/nearby", methods=["GET"], cors=CORS)
@endpoint
def nearby_reports():
    request = app.current_request
    return directory.nearby(services().store, query(request), services().settings, image_format(request))


@app.route("/v1/reports/{report_id}", methods=["GET"], cors=CORS)
@endpoint
def get_report(report_id):
    request = app.current_request
    return intake.view_report(
        services().store, report_id, optional_viewer(request), services().settings, follows=services().follows,
        image_format=image_format(request),
    )


@app.route("/v1/track/{code}", methods=["GET"], cors=CORS)
@endpoint
def track(code):
    return intake.track(services().store, code, services().settings, image_format(app.current_request))


@app.route("/v1/me", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def who_am_i():
    """The signed-in user's role and units (the staff portal defaults its inbox and dashboard to them)."""
    found = claims(app.current_request)
    found_groups = groups(found)
    units = services().staff_directory.units_of(found["sub"]) if found_groups - {"citizen"} else []
    member = staff.member_from(found["sub"], found_groups, units)
    role = member.role if member else ("admin" if "admin" in found_groups else "citizen")
    return {"user_id": found["sub"], "role": role, "groups": sorted(found_groups), "units": list(units)}


@app.route("/v1/me/reports", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def my_reports():
    request = app.current_request
    return intake.my_reports(services().store, claims(request)["sub"], query(request), services().settings, image_format(request))


@app.route("/v1/reports/{report_id}/follow", methods=["POST", "DELETE"], authorizer=authorizer, cors=CORS)
@endpoint
def follow(report_id):
    request = app.current_request
    return intake.set_following(
        services().store, services().follows, report_id, claims(request)["sub"], request.method == "POST"
    )


@app.route("/v1/reports/{report_id}/reply", methods=["POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def reply_to_unit(report_id):
    request = app.current_request
    return intake.reply(services().store, report_id, claims(request)["sub"], json_body(request), now_iso(), extend=services().extend_due)


@app.route("/v1/reports/{report_id}/rating", methods=["POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def rate_result(report_id):
    request = app.current_request
    return intake.rate(services().store, report_id, claims(request)["sub"], json_body(request), now_iso())


@app.route("/v1/reports/{report_id}/flags", methods=["POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def flag_report(report_id):
    """A citizen flags abuse; flags from enough distinct accounts hide the report pending review."""
    request = app.current_request
    citizen_id = claims(request)["sub"]
    body = json_body(request)
    services().quotas.flag(citizen_id)  # flaggers are rate-limited too (QUOTA_FLAGS_PER_DAY)
    flagged = intake.flag(services().store, report_id, citizen_id, body, now_iso(), services().settings.flag_threshold)
    return json_response(flagged, 201)


@app.route("/v1/units/locate", methods=["GET"], cors=CORS)
@endpoint
def locate_unit():
    d = services().directory
    return directory.locate(query(app.current_request), d.locator, d.tree, d.rules)


@app.route("/v1/units/{code}", methods=["GET"], cors=CORS)
@endpoint
def get_unit(code):
    d = services().directory
    return directory.unit_view(code, d.tree, d.geometry)


# ---------------------------------------------------------------- staff (officer, leader, coordinator)


@app.route("/v1/staff/inbox", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def staff_inbox():
    request = app.current_request
    member = staff_member(request)
    return staff.inbox(services().store, member, query(request), services().directory.tree, services().settings, services().due_state)


@app.route("/v1/staff/reports/{report_id}", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def staff_report(report_id):
    member = staff_member(app.current_request)
    return staff.detail(services().store, member, report_id, services().directory.tree, services().settings)


@app.route("/v1/staff/reports/{report_id}/actions", methods=["POST"], authorizer=authorizer, cors=CORS,
           content_types=BODY_TYPES)
@endpoint
def staff_action(report_id):
    request = app.current_request
    member = staff_member(request)
    now = now_iso()
    return staff.act(
        services().store, member, report_id, json_body(request), seen_version(request), services().directory.tree,
        services().workflow_context(now), services().settings,
    )


@app.route("/v1/staff/reports/{report_id}/evidence", methods=["POST"], authorizer=authorizer, cors=CORS,
           content_types=BODY_TYPES)
@endpoint
def staff_evidence(report_id):
    request = app.current_request
    member = staff_member(request)
    return json_response(
        staff.request_evidence(services().store, services().signer, member, report_id, json_body(request),
                               services().directory.tree, services().settings, now_iso()),
        201,
    )


@app.route("/v1/staff/templates", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def answer_templates():
    request = app.current_request
    staff_member(request)
    return staff.templates(query(request).get("category"))


# ---------------------------------------------------------------- operators (admin group only)


@app.route("/v1/admin/units", methods=["GET", "POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_units():
    request = app.current_request
    require_group(request, "admin")
    if request.method == "GET":
        return {"items": [u.public() for u in services().units.units()]}
    created = directory.put_unit(json_body(request), services().units)
    services().directory.invalidate()
    return json_response(created, 201)


@app.route("/v1/admin/units/{code}", methods=["GET", "PUT", "DELETE"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_unit(code):
    request = app.current_request
    require_group(request, "admin")
    if request.method == "GET":
        return directory.unit_view(code, services().units.tree(), lambda _code: None)
    if request.method == "PUT":
        saved = directory.put_unit(json_body(request), services().units, code)
    else:
        directory.delete_unit(code, services().units)
        saved = {"deleted": code}
    services().directory.invalidate()
    return saved


@app.route("/v1/admin/rules", methods=["GET", "POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_rules():
    request = app.current_request
    require_group(request, "admin")
    if request.method == "GET":
        return {"items": [r.public() for r in services().units.rules()]}
    created = directory.put_rule(json_body(request), services().units)
    services().directory.invalidate()
    return json_response(created, 201)


@app.route("/v1/admin/rules/{rule_id}", methods=["PUT", "DELETE"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_rule(rule_id):
    request = app.current_request
    require_group(request, "admin")
    if request.method == "PUT":
        saved = directory.put_rule(json_body(request), services().units, rule_id)
    else:
        directory.delete_rule(rule_id, services().units)
        saved = {"deleted": rule_id}
    services().directory.invalidate()
    return saved


# ---------------------------------------------------------------- blueprints (one module per feature)

from chalicelib.exports_routes import bp as exports_bp  # noqa: E402

app.register_blueprint(exports_bp)

from chalicelib.openapi_routes import bp as openapi_bp  # noqa: E402

app.register_blueprint(openapi_bp)

from chalicelib.stats_routes import bp as stats_bp  # noqa: E402

app.register_blueprint(stats_bp)

from chalicelib.open311.routes import bp as open311_bp  # noqa: E402

app.register_blueprint(open311_bp)

from chalicelib.notify_routes import bp as notify_bp  # noqa: E402

app.register_blueprint(notify_bp)

from chalicelib.admin_routes import bp as admin_bp  # noqa: E402

app.register_blueprint(admin_bp)
