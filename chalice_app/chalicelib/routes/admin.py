"""Operators' routes (the admin group): units, routing rules, and staff without a terminal.

Staff management is the same use cases as `civic staff …` (civic.services.staff_admin). People are
named by email in the body, never in a URL, so addresses stay out of access logs.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.http import BODY_TYPES, CORS, authorizer, endpoint, json_response, parsed_body, require_group
from civic.bootstrap import services
from civic.domain.errors import Invalid
from civic.i18n import text
from civic.services import units as directory

bp = Blueprint(__name__)


def _wired():
    from civic.services import staff_admin

    wired = services()
    return staff_admin, wired.people, wired.staff_directory, wired.notify_store


def _body(request, model):
    """An admin body validated by its edge model (chalicelib.schemas.bodies), as the dict the core reads:
    only the fields sent, so a PUT's absent field and an explicit null stay different."""
    return parsed_body(request, model).model_dump(exclude_unset=True)


@bp.route("/v1/admin/staff", methods=["GET", "POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_staff():
    from chalicelib.schemas import bodies  # pydantic models: imported when an admin writes

    request = bp.current_request
    require_group(request, "admin")
    staff_admin, people, directory, index = _wired()
    if request.method == "GET":
        return staff_admin.listing(people, directory)
    body = parsed_body(request, bodies.StaffInput)
    units, name = body.units, body.name
    tree = services().directory.tree
    # The local stack sends no email: the admin is shown the new person's temporary password once.
    local = services().settings.stage == "local"
    saved = staff_admin.set_membership(people, directory, index, body.email, body.role, units, name,
                                       lambda code: code in tree, staff_admin.temporary_password() if local else None)
    return json_response(saved, 201 if saved["created"] else 200)


@bp.route("/v1/admin/staff/disable", methods=["POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_disable_staff():
    return _enabled(False)


@bp.route("/v1/admin/staff/enable", methods=["POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_enable_staff():
    return _enabled(True)


def _enabled(enabled: bool):
    from chalicelib.schemas import bodies

    request = bp.current_request
    found = require_group(request, "admin")
    staff_admin, people, directory, index = _wired()
    email = parsed_body(request, bodies.StaffEmail).email
    if isinstance(email, str) and email.strip().lower() == (found.get("email") or "").lower() and not enabled:
        raise Invalid("invalid_request", text("Không thể tự khóa tài khoản của mình", "You cannot disable yourself"),
                      {"email": text("Email của người khác", "Someone else's email")})
    return staff_admin.set_enabled(people, directory, index, email, enabled)


@bp.route("/v1/admin/units", methods=["GET", "POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_units():
    from chalicelib.schemas import bodies

    request = bp.current_request
    require_group(request, "admin")
    if request.method == "GET":
        return {"items": [u.public() for u in services().units.units()]}
    created = directory.put_unit(_body(request, bodies.UnitInput), services().units)
    services().directory.invalidate()
    return json_response(created, 201)


@bp.route("/v1/admin/units/{code}", methods=["GET", "PUT", "DELETE"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_unit(code):
    from chalicelib.schemas import bodies

    request = bp.current_request
    require_group(request, "admin")
    if request.method == "GET":
        return directory.unit_view(code, services().units.tree(), lambda _code: None)
    if request.method == "PUT":
        saved = directory.put_unit(_body(request, bodies.UnitInput), services().units, code)
    else:
        directory.delete_unit(code, services().units)
        saved = {"deleted": code}
    services().directory.invalidate()
    return saved


@bp.route("/v1/admin/rules", methods=["GET", "POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_rules():
    from chalicelib.schemas import bodies

    request = bp.current_request
    require_group(request, "admin")
    if request.method == "GET":
        return {"items": [r.public() for r in services().units.rules()]}
    created = directory.put_rule(_body(request, bodies.RuleInput), services().units)
    services().directory.invalidate()
    return json_response(created, 201)


@bp.route("/v1/admin/rules/{rule_id}", methods=["PUT", "DELETE"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_rule(rule_id):
    from chalicelib.schemas import bodies

    request = bp.current_request
    require_group(request, "admin")
    if request.method == "PUT":
        saved = directory.put_rule(_body(request, bodies.RuleInput), services().units, rule_id)
    else:
        directory.delete_rule(rule_id, services().units)
        saved = {"deleted": rule_id}
    services().directory.invalidate()
    return saved
