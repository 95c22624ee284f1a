"""Notifications and government alerts: preferences, devices, the in-app inbox, alerts (issue #6)."""

from __future__ import annotations

from functools import lru_cache

from chalice import Blueprint

from chalicelib.http import BODY_TYPES, CORS, authorizer, claims, endpoint, groups, json_body, json_response, ports, query

bp = Blueprint(__name__)


@lru_cache(maxsize=1)
def _store():
    from civic.storage.notify import DynamoNotifyStore

    ports.settings  # binds the models
    return DynamoNotifyStore()


@lru_cache(maxsize=1)
def _queue():
    from civic.storage.notify import SqsNotifyQueue

    return SqsNotifyQueue(ports.settings.notify_queue_url)


def _now() -> str:
    from civic.domain.reports import now_iso

    return now_iso()


@bp.route("/v1/me/preferences", methods=["GET", "PUT"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def my_preferences():
    from civic import notify

    request = bp.current_request
    found = claims(request)
    user_id, email = found["sub"], found.get("email")
    if request.method == "GET":
        return notify.preferences_view(_store().get_preferences(user_id), user_id, email)
    tree = ports.directory.tree
    return notify.save_preferences(user_id, json_body(request), store=_store(), now=_now(), claims_email=email,
                                   unit_exists=lambda code: code in tree and not tree.get(code).is_agency)


@bp.route("/v1/me/devices", methods=["POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def register_device():
    from civic import notify

    request = bp.current_request
    return json_response(notify.add_device(claims(request)["sub"], json_body(request), store=_store()), 201)


@bp.route("/v1/me/notifications", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def my_notifications():
    from civic import notify

    request = bp.current_request
    return notify.inbox(claims(request)["sub"], query(request), store=_store())


@bp.route("/v1/me/notifications/{item_id}/read", methods=["POST"], authorizer=authorizer, cors=CORS,
          content_types=BODY_TYPES)
@endpoint
def read_notification(item_id):
    from urllib.parse import unquote

    from civic import notify

    request = bp.current_request
    return notify.mark_read(claims(request)["sub"], unquote(item_id), store=_store())


@bp.route("/v1/alerts", methods=["GET"], cors=CORS)
@endpoint
def alerts():
    from civic import notify

    directory = ports.directory
    return notify.alerts_at(query(bp.current_request), store=_store(), locator=directory.locator,
                            tree=directory.tree, now=_now())


@bp.route("/v1/staff/alerts", methods=["POST"], authorizer=authorizer, cors=CORS, content_types=BODY_TYPES)
@endpoint
def publish_alert():
    from civic import notify

    request = bp.current_request
    found = claims(request)
    roles = groups(found)
    notify.require_alert_role(roles)
    directory = ports.directory
    within = None if "admin" in roles else ports.staff_directory.units_of(found["sub"])
    published = notify.publish_alert(json_body(request), actor=found["sub"], store=_store(), queue=_queue(),
                                     tree=directory.tree, geometry_of=directory.geometry, now=_now(), within=within)
    return json_response(published, 201)
