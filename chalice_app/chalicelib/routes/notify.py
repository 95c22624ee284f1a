"""Notifications and government alerts: preferences, devices, the in-app inbox, alerts (issue #6)."""

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
    json_body,
    json_response,
    parsed_body,
    query,
)
from civic.bootstrap import services

bp = Blueprint(__name__)


def _now() -> str:
    from civic.clock import now_iso

    return now_iso()


@bp.route("/v1/me/preferences", methods=["GET", "PUT"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def my_preferences():
    from civic.domain import inputs
    from civic.services import notify
    request = bp.current_request
    found = claims(request)
    user_id, email = found["sub"], found.get("email")
    wired = services()
    if request.method == "GET":
        return notify.my_preferences(user_id, found, store=wired.notify_store, verification=wired.verification,
                                     now=_now())
    tree = wired.directory.tree
    body = parsed_body(request, inputs.PreferencesInput)
    return notify.save_preferences(user_id, body, store=wired.notify_store, now=_now(), claims_email=email,
                                   unit_exists=lambda code: code in tree and not tree.get(code).is_agency,
                                   claims=found, verification=wired.verification)


@bp.route("/v1/contacts/verify", methods=["POST"], cors=CORS, content_types=BODY_TYPES)
@endpoint
def verify_contact_by_link():
    from civic.domain import inputs

    # Public: the token from the link is the secret, so an Open311 submitter without an account can confirm.
    from civic.services import contacts
    return contacts.confirm_token(parsed_body(bp.current_request, inputs.ContactToken), store=services().verification.store, now=_now())


@bp.route("/v1/me/contacts/verify", methods=["POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def verify_my_contact():
    from civic.domain import inputs
    from civic.services import contacts
    request = bp.current_request
    return contacts.confirm_code(claims(request)["sub"], parsed_body(request, inputs.ContactCode), store=services().verification.store,
                                 notify_store=services().notify_store, now=_now())


@bp.route("/v1/me/devices", methods=["POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def register_device():
    from civic.domain import inputs
    from civic.services import notify
    request = bp.current_request
    return json_response(notify.add_device(claims(request)["sub"], parsed_body(request, inputs.DeviceInput), store=services().notify_store), 201)


@bp.route("/v1/me/devices/{token}", methods=["DELETE"], authorizer=authorizer, cors=CORS)
@endpoint
def remove_device(token):
    from urllib.parse import unquote

    from civic.services import notify
    request = bp.current_request
    return notify.remove_device(claims(request)["sub"], unquote(token), store=services().notify_store)


@bp.route("/v1/me/notifications", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def my_notifications():
    from civic.services import notify
    request = bp.current_request
    return notify.inbox(claims(request)["sub"], query(request), store=services().notify_store)


@bp.route("/v1/me/notifications/{item_id}/read", methods=["POST"], authorizer=authorizer, cors=CORS,
          content_types=BODY_TYPES)
@endpoint
def read_notification(item_id):
    from urllib.parse import unquote

    from civic.services import notify
    request = bp.current_request
    return notify.mark_read(claims(request)["sub"], unquote(item_id), store=services().notify_store)


@bp.route("/v1/alerts", methods=["GET"], cors=CORS)
@endpoint
def alerts():
    from civic.services import notify
    directory = services().directory
    return notify.alerts_at(query(bp.current_request), store=services().notify_store, locator=directory.locator,
                            tree=directory.tree, now=_now(), geometry_of=directory.geometry)


@bp.route("/v1/staff/alerts", methods=["POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def publish_alert():
    from civic.services import notify
    request = bp.current_request
    found = claims(request)
    roles = groups(found)
    notify.require_alert_role(roles)
    key = idempotency_key(request)
    within = None if "admin" in roles else services().staff_directory.units_of(found["sub"])
    body = json_body(request)
    # A retry with the same key and body answers the first alert: nobody is alerted twice.
    published = services().idempotent_alert(
        request={"key": f"alert:{found['sub']}:{key}", "body": body, "actor": found["sub"], "within": within},
        context=bp.lambda_context,
    )
    return json_response(published, 201)
