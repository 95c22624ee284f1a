"""Notification use cases: timeline events → queued messages; messages → channels (exactly once);
preferences, devices and the in-app inbox; government alerts and their fan-out.

Written against small ports (the report store, `DynamoNotifyStore`, the queue, `Channels`), all
passed in, so the handlers and routes stay thin.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from civic.domain import notify as core
from civic.domain.categories import all_categories
from civic.domain.errors import Forbidden, Invalid, NotFound
from civic.domain.moderation import is_public
from civic.domain.notify import Alert, Event, Message, ReportFacts
from civic.domain.ports import NotifyQueue, NotifyStore, ReportStore
from civic.domain.units import UnitTree
from civic.i18n import text

if TYPE_CHECKING:
    from civic.domain.inputs import DeviceInput, PreferencesInput
    from civic.services.contacts import Verification
    from civic.services.routing import Locator
    from civic.settings import Settings

FANOUT_PAGE = 1000  # recipients read per fan-out step (one Query, ten BatchGetItem)


# ------------------------------------------------------------------ stream → queue


def event_from_image(image: Mapping[str, Any]) -> Event:
    """A Timeline NEW_IMAGE (already deserialised by Powertools) as the core's Event."""
    from civic.adapters.dynamo.reports import event_from_image as timeline_event

    e = timeline_event(dict(image))
    return Event(report_id=e.report_id, seq=e.seq, type=e.type, at=e.at, status=e.status, actor_id=e.actor_id,
                 data=e.data, public=e.public)


def on_timeline_event(event: Event, *, reports: ReportStore, store: NotifyStore, queue: NotifyQueue,
                      settings: Settings, now: str, withheld: Counter[str] | None = None,
                      tree: UnitTree | None = None) -> int:
    """Decide who hears about one event and enqueue their messages; returns how many.

    Replaying an event enqueues the same message ids again: the sender delivers each id once.
    Messages for unconfirmed contacts are dropped, counted by channel in `withheld`.
    """
    report = reports.get(event.report_id)
    if report is None:
        return 0
    if event.type == "routed" and event.data.get("admin_unit"):
        # The author's last known report area: alerts for that ward reach them.
        store.index_area(str(event.data["admin_unit"]), report.citizen_id, "report", event.at)
    facts = ReportFacts(id=report.id, tracking_code=report.tracking_code, citizen_id=report.citizen_id,
                        unit_code=report.unit_code, assignee=report.assignee, due_at=report.due_at,
                        accept_due_at=report.accept_due_at, resolved_by=report.resolved_by,
                        senders=tuple(report.transferred_from))
    cache: dict[str, list[tuple[str, str]]] = {}

    def staff_of(unit: str) -> list[tuple[str, str]]:
        if unit not in cache:
            cache[unit] = store.staff_of(unit)
        return cache[unit]

    # Followers are told only of what the public may see: public events, nothing while the report is hidden,
    # and only what happened after they followed (a replayed old event is not news to a new follower).
    needs_followers = event.public and is_public(report, all_categories().get(report.category))
    followers = store.followers(report.id, since=event.at) if needs_followers else []
    targets = core.audience(event, facts, followers, staff_of)
    if not targets:
        return 0
    people = store.preferences(t.user_id for t in targets)
    messages = core.compose(event, facts, targets, people, settings.web_base_url, now, withheld,
                            unit_name=lambda code, lang: unit_name(tree, code, lang))
    if messages:
        queue.send_messages(messages, now)
    return len(messages)


# ------------------------------------------------------------------ queue → channels


def deliver(message: Message, *, send_once: Callable[[Message], dict[str, Any]], queue: NotifyQueue, now: str) -> str:
    """Deliver one message now, or put it back until the end of the recipient's quiet hours.

    `send_once` is the channel call behind the idempotency record (see functions/send): a message
    id that was delivered before is not sent again; a failure leaves no record, so it is retried.
    """
    if message.not_before and message.not_before > now:
        queue.send_messages([message], now)  # SQS holds it up to 15 minutes a hop, until not_before
        return "deferred"
    send_once(message)
    return "sent"


def unit_name(tree: UnitTree | None, code: str, language: str) -> str:
    """A unit's name in a language (its code when the tree does not know it)."""
    unit = tree.get(code) if tree is not None else None
    return code if unit is None else unit.name_en if language == "en" else unit.name_vi


def fan_out(job: Mapping[str, Any], *, store: NotifyStore, queue: NotifyQueue, now: str,
            withheld: Counter[str] | None = None) -> int:
    """One step of an alert's fan-out: a page of the area's people → their messages (batched by 10),
    and the next step as a new job. Steps are idempotent (message ids are alert + person + channel)."""
    alert = store.get_alert(str(job["alert_id"]))
    if alert is None or alert.expires_at <= now:  # an alert that starts later is announced at once
        return 0
    unit = str(job["unit"])
    members, after = store.area_members(unit, after=job.get("after"), limit=int(job.get("page", FANOUT_PAGE)))
    people = store.preferences(members)
    # Someone indexed by a report's ward who never saved preferences gets the defaults (the in-app
    # inbox at least), as report notifications do.
    messages = core.alert_messages(alert, (people.get(m) or core.Preferences(user_id=m) for m in members), now,
                                   withheld)
    if messages:
        queue.send_messages(messages, now)
    if after:
        queue.send_job({**job, "after": after})
    return len(messages)


# ------------------------------------------------------------------ preferences, devices, inbox



def preferences_view(prefs: core.Preferences | None, user_id: str, claims_email: str | None = None,
                     verification: dict[str, str] | None = None) -> dict[str, Any]:
    p = prefs or core.Preferences(user_id=user_id)
    return {
        "channels": list(p.channels), "language": p.language,
        "quiet_hours": {"start": p.quiet_start, "end": p.quiet_end} if p.quiet_start and p.quiet_end else None,
        "email": p.email or claims_email, "phone": p.phone, "zalo_user_id": p.zalo_user_id,
        "home_unit": p.home_unit, "follow_units": list(p.follow_units), "devices": len(p.devices),
        "verification": dict(verification or {}),
    }


def _view(prefs: core.Preferences | None, user_id: str, claims: Mapping[str, Any], verification: Verification,
          now: str) -> dict[str, Any]:
    from civic.domain.contacts import cognito_verified
    from civic.services import contacts

    status = contacts.statuses(prefs, store=verification.store, now=now)
    if not (prefs and prefs.email) and claims.get("email"):  # the view shows the sign-in address
        status["email"] = "verified" if "email" in cognito_verified(dict(claims)) else "unverified"
    return preferences_view(prefs, user_id, claims.get("email"), status)


def my_preferences(user_id: str, claims: Mapping[str, Any], *, store: NotifyStore, verification: Verification,
                   now: str) -> dict[str, Any]:
    """GET /v1/me/preferences, with each contact's verification status."""
    from civic.services import contacts

    prefs = contacts.with_cognito(store.get_preferences(user_id), dict(claims), store=verification.store)
    return _view(prefs, user_id, claims, verification, now)


def parse_preferences(body: PreferencesInput, unit_exists: Callable[[str], bool]) -> dict[str, Any]:
    """PUT /v1/me/preferences → the Users table fields to set (None: remove); only the fields sent.
    The model checked their shapes; what is left is whether the units exist."""
    sent = body.model_fields_set
    out: dict[str, Any] = {name: getattr(body, name) for name in sent
                           if name in ("channels", "language", "email", "phone", "zalo_user_id")}
    if "quiet_hours" in sent:
        quiet = body.quiet_hours
        out["quiet_start"], out["quiet_end"] = (quiet.start, quiet.end) if quiet else ("", "")
    errors: dict[str, Any] = {}
    if "home_unit" in sent:
        out["home_unit"] = body.home_unit or None
        if body.home_unit and not unit_exists(body.home_unit):
            errors["home_unit"] = body.HINTS["home_unit"]
    if "follow_units" in sent:
        out["follow_units"] = body.follow_units or None
        if not all(unit_exists(code) for code in body.follow_units or ()):
            errors["follow_units"] = body.HINTS["follow_units"]
    if errors:
        raise Invalid("invalid_request", body.TITLE, errors)
    return out


def _areas(prefs: core.Preferences | None) -> dict[str, str]:
    """The areas a person chose, and why (home wins over follow): alerts for them reach the person."""
    if prefs is None:
        return {}
    chosen = {code: "follow" for code in prefs.follow_units}
    if prefs.home_unit:
        chosen[prefs.home_unit] = "home"
    return chosen


def save_preferences(user_id: str, body: PreferencesInput, *, store: NotifyStore, unit_exists: Callable[[str], bool], now: str,
                     claims_email: str | None = None, claims: Mapping[str, Any] | None = None,
                     verification: Verification | None = None) -> dict[str, Any]:
    """PUT /v1/me/preferences. A new email, phone or Zalo id is saved, gets one verification message
    (civic.services.contacts) and nothing else until confirmed."""
    changes = parse_preferences(body, unit_exists)
    before = store.get_preferences(user_id)
    if before is None and claims_email and "email" not in changes:
        changes["email"] = claims_email  # the signed-in address, so email works without retyping it
    after = store.save_preferences(user_id, changes) if changes else before
    old, new = _areas(before), _areas(after)
    for code in old.keys() - new.keys():  # the area index follows the chosen areas
        store.unindex_area(code, user_id)
    for code, source in new.items():
        if old.get(code) != source:
            store.index_area(code, user_id, source, now)
    if verification is None:
        return preferences_view(after, user_id, claims_email)
    from civic.domain.contacts import VERIFIABLE
    from civic.services import contacts

    claims = dict(claims or {})
    after = contacts.with_cognito(after, claims, store=verification.store)
    given = [channel for channel, name in VERIFIABLE.items() if changes.get(name)]
    if after is not None and given:
        verification.for_user(after, given, now)
    return _view(after, user_id, claims, verification, now)


def add_device(user_id: str, device: DeviceInput, *, store: NotifyStore) -> dict[str, Any]:
    created = store.add_device(user_id, device.platform, device.token)
    return {"platform": device.platform, "registered": True, "new": created}


def remove_device(user_id: str, token: str, *, store: NotifyStore) -> dict[str, Any]:
    if not 8 <= len(token) <= 4096 or not store.remove_device(user_id, token):
        raise NotFound("Không có thiết bị này trong tài khoản", "No such device on this account")
    return {"token_removed": True}


def inbox(user_id: str, params: Mapping[str, str], *, store: NotifyStore) -> dict[str, Any]:
    try:
        limit = int(params.get("limit", "20"))
        if not 1 <= limit <= 100:
            raise ValueError
    except ValueError:
        raise Invalid("invalid_request", text("limit từ 1 đến 100", "limit must be 1–100"),
                          {"limit": text("1–100", "1–100")}) from None
    cursor = params.get("cursor")
    if cursor is not None and (len(cursor) > 200 or "." not in cursor):
        raise Invalid("invalid_request", text("cursor không hợp lệ", "Invalid cursor"), {"cursor": text("", "")})
    items, next_cursor = store.inbox(user_id, cursor, limit)
    return {"items": items, "unread": store.unread(user_id), "next_cursor": next_cursor}


def mark_read(user_id: str, item_id: str, *, store: NotifyStore) -> dict[str, Any]:
    if len(item_id) > 200 or not store.mark_read(user_id, item_id):
        raise NotFound("Không tìm thấy thông báo", "Notification not found")
    return {"id": item_id, "read": True}


# ------------------------------------------------------------------ alerts


def _bilingual(body: dict[str, Any], name: str, limit: int, errors: dict[str, Any]) -> dict[str, str] | None:
    value = body.get(name)
    if not isinstance(value, dict) or not all(isinstance(value.get(lang), str) and 1 <= len(value[lang].strip()) <= limit
                                              for lang in ("vi", "en")):
        errors[name] = text(f'{{"vi","en"}}, mỗi bản 1–{limit} ký tự', f'{{"vi","en"}}, 1–{limit} characters each')
        return None
    return {"vi": value["vi"].strip(), "en": value["en"].strip()}


def parse_alert(body: Any, *, tree: UnitTree, now: str, created_by: str) -> Alert:
    from datetime import datetime

    if not isinstance(body, dict):
        raise Invalid("invalid_request", text("Cần một đối tượng JSON", "A JSON object is required"))
    errors: dict[str, Any] = {}
    kind, severity = body.get("kind"), body.get("severity", "warning")
    if kind not in core.ALERT_KINDS:
        errors["kind"] = text(", ".join(core.ALERT_KINDS), ", ".join(core.ALERT_KINDS))
    if severity not in core.ALERT_SEVERITIES:
        errors["severity"] = text(", ".join(core.ALERT_SEVERITIES), ", ".join(core.ALERT_SEVERITIES))
    title = _bilingual(body, "title", 120, errors)
    message = _bilingual(body, "body", 1000, errors)
    area = body.get("area")
    units: list[str] = []
    polygon = None
    if isinstance(area, dict) and isinstance(area.get("units"), list) and area["units"]:
        units = [u for u in area["units"] if isinstance(u, str)]
        if len(units) != len(area["units"]) or len(units) > 200 or any(u not in tree for u in units):
            errors["area"] = text("Mã các đơn vị hiện có", "Codes of existing units")
    elif isinstance(area, dict) and isinstance(area.get("polygon"), dict):
        try:
            from shapely.geometry import shape

            geom = shape(area["polygon"])
            if area["polygon"].get("type") != "Polygon" or not geom.is_valid or geom.is_empty:
                raise ValueError
            polygon = area["polygon"]
        except Exception:
            errors["area"] = text("Một đa giác GeoJSON hợp lệ", "A valid GeoJSON Polygon")
    else:
        errors["area"] = text('{"units":[…]} hoặc {"polygon":{GeoJSON}}', '{"units":[…]} or {"polygon":{GeoJSON}}')

    def stamp(name: str, default: str | None) -> str | None:
        raw = body.get(name, default)
        try:
            moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise ValueError
            from civic.clock import iso_utc

            return iso_utc(moment)
        except (TypeError, ValueError):
            errors[name] = text("Thời điểm ISO-8601 có múi giờ", "An ISO-8601 time with a zone")
            return None

    starts = stamp("starts_at", now)
    expires = stamp("expires_at", None)
    if starts and expires and not (expires > starts and expires > now):
        errors["expires_at"] = text("Sau thời điểm bắt đầu và sau hiện tại", "After the start and in the future")
    if errors:
        raise Invalid("invalid_request", text("Cảnh báo không hợp lệ", "Invalid alert"), errors)
    # Every field was checked above: none of these is None any more.
    return Alert(id=uuid.uuid4().hex, kind=str(kind), severity=severity, title=cast(dict[str, str], title),
                 body=cast(dict[str, str], message), starts_at=cast(str, starts), expires_at=cast(str, expires),
                 units=tuple(units), polygon=polygon, created_at=now, created_by=created_by)


def alert_areas(alert: Alert, tree: UnitTree, geometry_of: Callable[[str], Any]) -> list[str]:
    """The units whose people the alert reaches: the named units and every unit below them; for a
    drawn polygon, the wards (leaf units) whose boundary it touches."""
    leaves = [u.code for u in tree.by_code.values() if not u.is_agency and not tree.children(u.code)]
    if alert.polygon:
        from shapely.geometry import shape

        area = shape(alert.polygon)
        return sorted(code for code in leaves if (g := geometry_of(code)) is not None and g.intersects(area))
    out: set[str] = set()
    for code in alert.units:
        stack = [code]
        while stack:
            current = stack.pop()
            out.add(current)
            stack.extend(c.code for c in tree.children(current))
    return sorted(out)


def publish_alert(body: Any, *, actor: str, store: NotifyStore, queue: NotifyQueue, tree: UnitTree,
                  geometry_of: Callable[[str], Any], now: str, within: Iterable[str] | None = None) -> dict[str, Any]:
    """Publish an alert and queue its fan-out. `within`: the coordinator's units (None for admins);
    an area outside them and the units below them is refused before anything is written."""
    alert = parse_alert(body, tree=tree, now=now, created_by=actor)
    areas = alert_areas(alert, tree, geometry_of)
    if within is not None:
        allowed = set(alert_areas(replace(alert, units=tuple(within), polygon=None), tree, geometry_of))
        if not areas or not set(areas) <= allowed:
            raise Forbidden(text("Chỉ được cảnh báo trong địa bàn đơn vị mình phụ trách",
                                                  "Alerts may only cover the units you coordinate"))
    store.put_alert(alert)
    for unit in areas:  # one fan-out job per area; each pages through its people
        queue.send_job({"job": "alert_fanout", "alert_id": alert.id, "unit": unit})
    return {**alert.public(), "areas": areas}


def alerts_at(params: Mapping[str, str], *, store: NotifyStore, locator: Callable[[], Locator], tree: UnitTree,
              now: str, geometry_of: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """GET /v1/alerts?lat&lon: the active alerts whose area contains the point; ?unit=CODE: those that
    reach that administrative unit (named it or a unit above it, or drawn over its boundary), as the
    fan-out does; all active ones without either."""
    active = [a for a in store.alerts() if a.active(now)]
    if "unit" in params:
        code = params["unit"]
        unit = tree.get(code)
        if unit is None or unit.is_agency or "lat" in params or "lon" in params:
            raise Invalid("invalid_request", text("Đơn vị không hợp lệ", "Invalid unit"),
                          {"unit": text("Mã một đơn vị hành chính (không kèm lat, lon)",
                                        "An administrative unit's code (without lat, lon)")})
        reaches = {code, *tree.ancestors(code)}
        boundary = geometry_of(code) if geometry_of else None

        def over(alert: Alert) -> bool:
            if alert.polygon:
                from shapely.geometry import shape

                return boundary is not None and bool(shape(alert.polygon).intersects(boundary))
            return bool(reaches & set(alert.units))

        active = [a for a in active if over(a)]
    elif "lat" in params or "lon" in params:
        from civic.services.units import _number

        lat, lon = _number(params, "lat", -90, 90), _number(params, "lon", -180, 180)
        try:
            admin, _ = locator().admin_unit(lat, lon)
        except Exception:  # no boundaries published yet: only drawn polygons can match
            admin = None
        chain = set([admin, *tree.ancestors(admin)]) if admin else set()

        def covers(alert: Alert) -> bool:
            if alert.polygon:
                from shapely.geometry import Point, shape

                return bool(shape(alert.polygon).covers(Point(lon, lat)))  # shapely is untyped
            return bool(chain & set(alert.units))

        active = [a for a in active if covers(a)]
    active.sort(key=lambda a: (-core.ALERT_SEVERITIES.index(a.severity), a.starts_at))  # most severe first
    return {"items": [a.public() for a in active]}


def require_alert_role(groups: set[str]) -> None:
    if not groups & {"coordinator", "admin"}:
        raise Forbidden(text("Chỉ điều phối viên hoặc quản trị viên", "Coordinators and admins only"))
