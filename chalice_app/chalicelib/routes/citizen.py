"""The citizen's routes: report, see, follow, reply, rate, flag; and where a place belongs."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.http import (
    BODY_TYPES,
    CORS,
    authorizer,
    claims,
    endpoint,
    groups,
    idempotency_key,
    image_format,
    json_body,
    json_response,
    optional_viewer,
    parsed_body,
    query,
    seen_tags,
    tagged_response,
)
from civic.bootstrap import services
from civic.clock import now_iso
from civic.observability import count
from civic.services import intake, staff
from civic.services import units as directory

bp = Blueprint(__name__)


@bp.route("/v1/reports", methods=["POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def submit_report():
    request = bp.current_request
    citizen_id = claims(request)["sub"]
    key = idempotency_key(request)
    # Refuse bad input before any write; the idempotency check compares the validated submission,
    # so 21 and 21.0, or no media and "media": [], count as the same body.
    submission = intake.parse_submission(json_body(request), services().settings)
    body = submission.model_dump(mode="json")
    record = services().idempotent_create(
        request={"key": f"{citizen_id}:{key}", "citizen_id": citizen_id, "body": body}, context=bp.lambda_context
    )
    report = services().store.get(record["id"])
    count("ReportsSubmitted")
    answer = {**record, "uploads": intake.upload_slots(report, services().signer, services().settings)}
    return json_response(answer, 201, {"Location": f"/v1/reports/{record['id']}"})


@bp.route("/v1/reports", methods=["GET"], cors=CORS)
@endpoint
def public_feed():
    request = bp.current_request
    return intake.feed(services().store, query(request), services().settings, image_format(request))


@bp.route("/v1/reports/nearby", methods=["GET"], cors=CORS)
@endpoint
def nearby_reports():
    request = bp.current_request
    return directory.nearby(services().store, query(request), services().settings, image_format(request))


@bp.route("/v1/reports/{report_id}", methods=["GET"], cors=CORS)
@endpoint
def get_report(report_id):
    request = bp.current_request
    # If-None-Match: 304 after reading the report alone (the follower count is not in the ETag).
    return tagged_response(intake.view_report_tagged(
        services().store, report_id, optional_viewer(request), services().settings, follows=services().follows,
        image_format=image_format(request), names=intake.unit_names(services().directory.tree),
        seen=seen_tags(request),
    ))


@bp.route("/v1/track/{code}", methods=["GET"], cors=CORS)
@endpoint
def track(code):
    request = bp.current_request
    # Pages poll this with If-None-Match: 304 after reading the report alone, before its timeline.
    return tagged_response(intake.track_tagged(
        services().store, code, services().settings, image_format(request),
        names=intake.unit_names(services().directory.tree), seen=seen_tags(request),
    ))


@bp.route("/v1/me", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def who_am_i():
    """The signed-in user's role and units (the staff portal defaults its inbox and dashboard to them)."""
    found = claims(bp.current_request)
    found_groups = groups(found)
    units = services().staff_directory.units_of(found["sub"]) if found_groups - {"citizen"} else []
    member = staff.member_from(found["sub"], found_groups, units)
    role = member.role if member else ("admin" if "admin" in found_groups else "citizen")
    return {"user_id": found["sub"], "role": role, "groups": sorted(found_groups), "units": list(units)}


@bp.route("/v1/me/reports", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def my_reports():
    request = bp.current_request
    return intake.my_reports(services().store, claims(request)["sub"], query(request), services().settings, image_format(request))


@bp.route("/v1/reports/{report_id}/follow", methods=["POST", "DELETE"], authorizer=authorizer, cors=CORS)
@endpoint
def follow(report_id):
    request = bp.current_request
    return intake.set_following(
        services().store, services().follows, report_id, claims(request)["sub"], request.method == "POST"
    )


@bp.route("/v1/reports/{report_id}/media/{media_id}/upload", methods=["POST"], authorizer=authorizer, cors=CORS)
@endpoint
def upload_again(report_id, media_id):
    """A new upload slot for one of the author's photos that has not arrived (cut, or its form expired)."""
    request = bp.current_request
    return intake.upload_again(
        services().store, services().signer, services().settings, report_id, media_id, claims(request)["sub"]
    )


@bp.route("/v1/reports/{report_id}/reply", methods=["POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def reply_to_unit(report_id):
    from civic.domain import inputs
    request = bp.current_request
    body = parsed_body(request, inputs.Reply)
    return intake.reply(services().store, report_id, claims(request)["sub"], body, now_iso(), extend=services().extend_due)


@bp.route("/v1/reports/{report_id}/rating", methods=["POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def rate_result(report_id):
    from civic.domain import inputs
    request = bp.current_request
    return intake.rate(services().store, report_id, claims(request)["sub"], parsed_body(request, inputs.RatingInput), now_iso())


@bp.route("/v1/reports/{report_id}/flags", methods=["POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def flag_report(report_id):
    """A citizen flags abuse; flags from enough distinct accounts hide the report pending review."""
    from civic.domain import inputs
    request = bp.current_request
    citizen_id = claims(request)["sub"]
    body = parsed_body(request, inputs.FlagInput)
    services().quotas.flag(citizen_id)  # flaggers are rate-limited too (QUOTA_FLAGS_PER_DAY)
    flagged = intake.flag(services().store, report_id, citizen_id, body, now_iso(), services().settings.flag_threshold)
    return json_response(flagged, 201)


@bp.route("/v1/units/locate", methods=["GET"], cors=CORS)
@endpoint
def locate_unit():
    d = services().directory
    return directory.locate(query(bp.current_request), d.locator, d.tree, d.rules)


@bp.route("/v1/areas", methods=["GET"], cors=CORS)
@endpoint
def list_areas():
    return directory.areas(services().directory.tree)


@bp.route("/v1/units/{code}", methods=["GET"], cors=CORS)
@endpoint
def get_unit(code):
    d = services().directory
    return directory.unit_view(code, d.tree, d.geometry)
