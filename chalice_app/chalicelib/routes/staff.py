"""Staff routes (officer, leader, coordinator, moderator): the inbox, a report, its actions and evidence."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.http import (
    BODY_TYPES,
    CORS,
    authorizer,
    endpoint,
    json_body,
    json_response,
    parsed_body,
    query,
    seen_version,
    staff_member,
)
from civic.bootstrap import services
from civic.clock import now_iso
from civic.services import staff

bp = Blueprint(__name__)


@bp.route("/v1/staff/inbox", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def staff_inbox():
    request = bp.current_request
    member = staff_member(request)
    return staff.inbox(services().store, member, query(request), services().directory.tree, services().settings, services().due_state)


@bp.route("/v1/staff/reports/{report_id}", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def staff_report(report_id):
    member = staff_member(bp.current_request)
    return staff.detail(services().store, member, report_id, services().directory.tree, services().settings)


@bp.route("/v1/staff/reports/{report_id}/actions", methods=["POST"], authorizer=authorizer, cors=CORS,
           content_types=BODY_TYPES)
@endpoint
def staff_action(report_id):
    request = bp.current_request
    member = staff_member(request)
    now = now_iso()
    return staff.act(
        services().store, member, report_id, json_body(request), seen_version(request), services().directory.tree,
        services().workflow_context(now), services().settings,
    )


@bp.route("/v1/staff/reports/{report_id}/evidence", methods=["POST"], authorizer=authorizer, cors=CORS,
           content_types=BODY_TYPES)
@endpoint
def staff_evidence(report_id):
    from civic.domain import inputs
    request = bp.current_request
    member = staff_member(request)
    return json_response(
        staff.request_evidence(services().store, services().signer, member, report_id,
                               parsed_body(request, inputs.EvidenceRequest),
                               services().directory.tree, services().settings, now_iso()),
        201,
    )


@bp.route("/v1/staff/templates", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def answer_templates():
    request = bp.current_request
    staff_member(request)
    return staff.templates(query(request).get("category"))
