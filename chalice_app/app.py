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
    image_format,
    idempotency_key,
    json_body,
    json_response,
    language,
    optional_viewer,
    ports,
    query,
    require_group,
    seen_version,
    staff_member,
)
from civic import __version__, directory, intake, staff
from civic.domain.reports import now_iso
from civic.observability import count

# configure_logs=False: Powertools owns the "civicbridge" logger (same name as the app).
app = Chalice(app_name="civicbridge", configure_logs=False)
bind_app(app)


@app.route("/v1/health", methods=["GET"], cors=CORS)
@endpoint
def health():
    return {"status": "ok", "version": __version__}


@app.route("/v1/config", methods=["GET"], cors=CORS)
@endpoint
def public_config():
    s = ports.settings
    return {
        "region": s.aws_region,
        "user_pool_id": s.user_pool_id,
        "user_pool_client_id": s.user_pool_client_id,
        "cognito_endpoint_url": s.cognito_endpoint,
        "tracking_prefix": s.tracking_prefix,
        "service_bbox": list(s.service_bbox),
        "feed_default_bbox": list(s.feed_default_bbox or s.service_bbox),
        "languages": ["vi", "en"],
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
    submission = intake.parse_submission(json_body(request), ports.settings)
    body = submission.model_dump(mode="json")
    record = ports.idempotent_create(
        request={"key": f"{citizen_id}:{key}", "citizen_id": citizen_id, "body": body}, context=app.lambda_context
    )
    report = ports.store.get(record["id"])
    count("ReportsSubmitted")
    answer = {**record, "uploads": intake.upload_slots(report, ports.signer, ports.settings)}
    return json_response(answer, 201, {"Location": f"/v1/reports/{record['id']}"})


@app.route("/v1/reports", methods=["GET"], cors=CORS)
@endpoint
def public_feed():
    request = app.current_request
    return intake.feed(ports.store, query(request), ports.settings, image_format(request))


@app.route("/v1/reports/nearby", methods=["GET"], cors=CORS)
@endpoint
def nearby_reports():
    request = app.current_request
    return directory.nearby(ports.store, query(request), ports.settings, image_format(request))


@app.route("/v1/reports/{report_id}", methods=["GET"], cors=CORS)
@endpoint
def get_report(report_id):
    request = app.current_request
    return intake.view_report(
        ports.store, report_id, optional_viewer(request), ports.settings, follows=ports.follows,
        image_format=image_format(request),
    )


@app.route("/v1/track/{code}", methods=["GET"], cors=CORS)
@endpoint
def track(code):
    return intake.track(ports.store, code, ports.settings, image_format(app.current_request))


@app.route("/v1/me", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def who_am_i():
    """The signed-in user's role and units (the staff portal defaults its inbox and dashboard to them)."""
    found = claims(app.current_request)
    found_groups = groups(found)
    units = ports.staff_directory.units_of(found["sub"]) if found_groups - {"citizen"} else []
    member = staff.member_from(found["sub"], found_groups, units)
    role = member.role if member else ("admin" if "admin" in found_groups else "citizen")
    return {"user_id": found["sub"], "role": role, "groups": sorted(found_groups), "units": list(units)}


@app.route("/v1/me/reports", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def my_reports():
    request = app.current_request
    return intake.my_reports(ports.store, claims(request)["sub"], query(request), ports.settings, image_format(request))


@app.route("/v1/reports/{report_id}/follow", methods=["POST", "DELETE"], authorizer=authorizer, cors=CORS)
@endpoint
def follow(report_id):
    request = app.current_request
    return intake.set_following(
        ports.store, ports.follows, report_id, claims(request)["sub"], request.method == "POST"
    )


@app.route("/v1/reports/{report_id}/reply", methods=["POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def reply_to_unit(report_id):
    request = app.current_request
    return intake.reply(ports.store, report_id, claims(request)["sub"], json_body(request), now_iso(), extend=ports.extend_due)


@app.route("/v1/reports/{report_id}/rating", methods=["POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def rate_result(report_id):
    request = app.current_request
    return intake.rate(ports.store, report_id, claims(request)["sub"], json_body(request), now_iso())


@app.route("/v1/units/locate", methods=["GET"], cors=CORS)
@endpoint
def locate_unit():
    d = ports.directory
    return directory.locate(query(app.current_request), d.locator, d.tree, d.rules)


@app.route("/v1/units/{code}", methods=["GET"], cors=CORS)
@endpoint
def get_unit(code):
    d = ports.directory
    return directory.unit_view(code, d.tree, d.geometry)


# ---------------------------------------------------------------- staff (officer, leader, coordinator)


@app.route("/v1/staff/inbox", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def staff_inbox():
    request = app.current_request
    member = staff_member(request)
    return staff.inbox(ports.store, member, query(request), ports.directory.tree, ports.settings, ports.due_state)


@app.route("/v1/staff/reports/{report_id}", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def staff_report(report_id):
    member = staff_member(app.current_request)
    return staff.detail(ports.store, member, report_id, ports.directory.tree, ports.settings)


@app.route("/v1/staff/reports/{report_id}/actions", methods=["POST"], authorizer=authorizer, cors=CORS,
           content_types=BODY_TYPES)
@endpoint
def staff_action(report_id):
    request = app.current_request
    member = staff_member(request)
    now = now_iso()
    return staff.act(
        ports.store, member, report_id, json_body(request), seen_version(request), ports.directory.tree,
        ports.workflow_context(now), ports.settings,
    )


@app.route("/v1/staff/reports/{report_id}/evidence", methods=["POST"], authorizer=authorizer, cors=CORS,
           content_types=BODY_TYPES)
@endpoint
def staff_evidence(report_id):
    request = app.current_request
    member = staff_member(request)
    return json_response(
        staff.request_evidence(ports.store, ports.signer, member, report_id, json_body(request),
                               ports.directory.tree, ports.settings, now_iso()),
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
        return {"items": [u.public() for u in ports.units.units()]}
    created = directory.put_unit(json_body(request), ports.units)
    ports.directory.invalidate()
    return json_response(created, 201)


@app.route("/v1/admin/units/{code}", methods=["GET", "PUT", "DELETE"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_unit(code):
    request = app.current_request
    require_group(request, "admin")
    if request.method == "GET":
        return directory.unit_view(code, ports.units.tree(), lambda _code: None)
    if request.method == "PUT":
        saved = directory.put_unit(json_body(request), ports.units, code)
    else:
        directory.delete_unit(code, ports.units)
        saved = {"deleted": code}
    ports.directory.invalidate()
    return saved


@app.route("/v1/admin/rules", methods=["GET", "POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_rules():
    request = app.current_request
    require_group(request, "admin")
    if request.method == "GET":
        return {"items": [r.public() for r in ports.units.rules()]}
    created = directory.put_rule(json_body(request), ports.units)
    ports.directory.invalidate()
    return json_response(created, 201)


@app.route("/v1/admin/rules/{rule_id}", methods=["PUT", "DELETE"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_rule(rule_id):
    request = app.current_request
    require_group(request, "admin")
    if request.method == "PUT":
        saved = directory.put_rule(json_body(request), ports.units, rule_id)
    else:
        directory.delete_rule(rule_id, ports.units)
        saved = {"deleted": rule_id}
    ports.directory.invalidate()
    return saved


# ---------------------------------------------------------------- blueprints (one module per feature)

from chalicelib.exports_routes import bp as exports_bp  # noqa: E402

app.register_blueprint(exports_bp)

from chalicelib.openapi_routes import bp as openapi_bp  # noqa: E402

app.register_blueprint(openapi_bp)

from chalicelib.stats_routes import bp as stats_bp  # noqa: E402

app.register_blueprint(stats_bp)

from chalicelib.open311_routes import bp as open311_bp  # noqa: E402

app.register_blueprint(open311_bp)

from chalicelib.notify_routes import bp as notify_bp  # noqa: E402

app.register_blueprint(notify_bp)
