"""Operators' routes (the admin group): units, routing rules, and staff without a terminal.

Staff management is the same use cases as `civic staff …` (civic.services.staff_admin). People are
named by email in the body, never in a URL, so addresses stay out of access logs.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.http import BODY_TYPES, CORS, authorizer, endpoint, json_body, json_response, require_group
from civic.bootstrap import services
from civic.domain.errors import Invalid
from civic.i18n import text
from civic.services import units as directory

bp = Blueprint(__name__)


def _wired():
    from civic.services import staff_admin

    wired = services()
    return staff_admin, wired.people, wired.staff_directory, wired.notify_store


def _body(request, allowed: set[str]) -> dict:
    body = json_body(request)
    if not isinstance(body, dict) or set(body) - allowed:
        extra = sorted(set(body) - allowed) if isinstance(body, dict) else ["body"]
        raise Invalid("invalid_request", text("Dữ liệu không hợp lệ", "Invalid request"),
                      {name: text("Không hỗ trợ", "Not supported") for name in extra})
    return body


@bp.route("/v1/admin/staff", methods=["GET", "POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_staff():
    request = bp.current_request
    require_group(request, "admin")
    staff_admin, people, directory, index = _wired()
    if request.method == "GET":
        return staff_admin.listing(people, directory)
    body = _body(request, {"email", "role", "units", "name"})
    units = body.get("units", [])
    name = body.get("name")
    if not isinstance(units, list) or not all(isinstance(u, str) for u in units) or (
            name is not None and (not isinstance(name, str) or len(name) > 200)):
        raise Invalid("invalid_request", text("Dữ liệu không hợp lệ", "Invalid request"),
                      {"units": text("Danh sách mã đơn vị", "A list of unit codes"),
                       "name": text("Tối đa 200 ký tự", "At most 200 characters")})
    tree = services().directory.tree
    # The local stack sends no email: the admin is shown the new person's temporary password once.
    local = services().settings.stage == "local"
    saved = staff_admin.set_membership(people, directory, index, body.get("email"), body.get("role"), units, name,
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
    request = bp.current_request
    found = require_group(request, "admin")
    staff_admin, people, directory, index = _wired()
    email = _body(request, {"email"}).get("email")
    if isinstance(email, str) and email.strip().lower() == (found.get("email") or "").lower() and not enabled:
        raise Invalid("invalid_request", text("Không thể tự khóa tài khoản của mình", "You cannot disable yourself"),
                      {"email": text("Email của người khác", "Someone else's email")})
    return staff_admin.set_enabled(people, directory, index, email, enabled)


@bp.route("/v1/admin/units", methods=["GET", "POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_units():
    request = bp.current_request
    require_group(request, "admin")
    if request.method == "GET":
        return {"items": [u.public() for u in services().units.units()]}
    created = directory.put_unit(json_body(request), services().units)
    services().directory.invalidate()
    return json_response(created, 201)


@bp.route("/v1/admin/units/{code}", methods=["GET", "PUT", "DELETE"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_unit(code):
    request = bp.current_request
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


@bp.route("/v1/admin/rules", methods=["GET", "POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_rules():
    request = bp.current_request
    require_group(request, "admin")
    if request.method == "GET":
        return {"items": [r.public() for r in services().units.rules()]}
    created = directory.put_rule(json_body(request), services().units)
    services().directory.invalidate()
    return json_response(created, 201)


@bp.route("/v1/admin/rules/{rule_id}", methods=["PUT", "DELETE"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def admin_rule(rule_id):
    request = bp.current_request
    require_group(request, "admin")
    if request.method == "PUT":
        saved = directory.put_rule(json_body(request), services().units, rule_id)
    else:
        directory.delete_rule(rule_id, services().units)
        saved = {"deleted": rule_id}
    services().directory.invalidate()
    return saved
