"""Notifications on DynamoDB (the Notifications and Users tables) and the notify queue on SQS.

Notifications table items (pk / sk):
  inbox#<user>  / <at>.<message id>   an in-app notification (the sk is its public id)
  area#<unit>   / <user>              the user lives there (home_unit) or reported there: alert recipients
  staff#<unit>  / <user>              an officer or leader of the unit (role)
  alerts        / <id>                a government alert
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from civic.adapters.dynamo.models import FollowModel, NotificationModel, UserModel
from civic.adapters.dynamo.reports import condition_failed
from civic.domain.notify import Alert, Device, Message, Preferences

INBOX_TTL_SECONDS = 180 * 24 * 3600
AREA_REPORT_TTL_SECONDS = 365 * 24 * 3600
KEPT_AREA_SOURCES = ("home", "follow")  # chosen by the person: no expiry


def _now() -> str:
    from civic.clock import now_iso

    return now_iso()


def _prefs(model: UserModel) -> Preferences:
    devices = tuple(
        Device(str(d.get("platform")), str(d.get("token")))
        for d in (m.as_dict() if hasattr(m, "as_dict") else dict(m) for m in (model.devices or []))
    )
    kwargs: dict[str, Any] = {"user_id": model.user_id, "role": model.role, "email": model.email,
                              "phone": model.phone, "zalo_user_id": model.zalo_user_id,
                              "home_unit": model.home_unit, "follow_units": tuple(model.follow_units or ()),
                              "devices": devices,
                              "verified": frozenset(model.verified or ())}
    if model.channels is not None:
        kwargs["channels"] = tuple(model.channels)
    if model.language:
        kwargs["language"] = model.language
    if model.quiet_start is not None or model.quiet_end is not None:
        kwargs["quiet_start"], kwargs["quiet_end"] = model.quiet_start or None, model.quiet_end or None
    return Preferences(**kwargs)


def _device_key(token: str) -> str:
    """The Notifications item that names a push token's owner (tokens are long: the key is a hash)."""
    import hashlib

    return "device#" + hashlib.sha256(token.encode()).hexdigest()[:40]


def _device_owner(token: str) -> NotificationModel | None:
    try:
        return NotificationModel.get(_device_key(token), "owner")
    except DoesNotExist:
        return None


class DynamoNotifyStore:
    # ---------------------------------------------------------- people

    def preferences(self, user_ids: Iterable[str]) -> dict[str, Preferences]:
        ids = sorted(set(user_ids))
        out: dict[str, Preferences] = {}
        for start in range(0, len(ids), 100):
            for model in UserModel.batch_get(ids[start:start + 100]):
                out[model.user_id] = _prefs(model)
        return out

    def get_preferences(self, user_id: str) -> Preferences | None:
        try:
            return _prefs(UserModel.get(user_id))
        except DoesNotExist:
            return None

    def save_preferences(self, user_id: str, changes: dict[str, Any]) -> Preferences:
        """Set the given fields (None removes one); a new user row is a citizen's."""
        actions = [UserModel.role.set(UserModel.role | "citizen")]
        for name, value in changes.items():
            attr = getattr(UserModel, name)
            actions.append(attr.remove() if value is None else attr.set(value))
        UserModel(user_id).update(actions=actions)
        saved = self.get_preferences(user_id)
        assert saved is not None  # the row was just written
        return saved

    def add_device(self, user_id: str, platform: str, token: str) -> bool:
        """True when the device is new for this user. A push token belongs to one person: the phone
        changed hands, or someone else signed in on it, so it leaves its previous owner's devices."""
        owner = _device_owner(token)
        if owner is not None and owner.user_id != user_id:
            self._drop_device(owner.user_id, token)
        NotificationModel(pk=_device_key(token), sk="owner", user_id=user_id).save()
        current = self.get_preferences(user_id)
        devices = list(current.devices) if current else []
        if any(d.token == token for d in devices):
            return False
        devices = [*devices, Device(platform, token)][-10:]  # the ten most recent devices
        self.save_preferences(user_id, {"devices": [{"platform": d.platform, "token": d.token} for d in devices]})
        return True

    def remove_device(self, user_id: str, token: str) -> bool:
        """Stop pushing to this device for this user (sign-out on the phone); False when it is not theirs."""
        owner = _device_owner(token)
        removed = self._drop_device(user_id, token)
        if owner is not None and owner.user_id == user_id:
            try:  # only while it is still theirs: someone may have registered the phone meanwhile
                owner.delete(condition=NotificationModel.user_id == user_id)
            except DeleteError:
                pass
        return removed

    def _drop_device(self, user_id: str, token: str) -> bool:
        current = self.get_preferences(user_id)
        devices = list(current.devices) if current else []
        kept = [d for d in devices if d.token != token]
        if len(kept) == len(devices):
            return False
        self.save_preferences(user_id, {"devices": [{"platform": d.platform, "token": d.token} for d in kept]})
        return True

    def followers(self, report_id: str, since: str | None = None) -> list[str]:
        return [f.user_id for f in FollowModel.query(report_id) if since is None or f.at <= since]

    # ---------------------------------------------------------- indexes

    def staff_of(self, unit_code: str) -> list[tuple[str, str]]:
        return [(m.sk, m.role or "officer") for m in NotificationModel.query(f"staff#{unit_code}")]

    def index_staff(self, user_id: str, role: str, units: Iterable[str]) -> None:
        for unit in units:
            NotificationModel(pk=f"staff#{unit}", sk=user_id, user_id=user_id, role=role).save()

    def unindex_staff(self, user_id: str, units: Iterable[str]) -> None:
        """They stop hearing about these units' reports (moved elsewhere, or disabled)."""
        for unit in units:
            NotificationModel(f"staff#{unit}", user_id).delete()

    def index_area(self, unit_code: str, user_id: str, source: str, at: str) -> None:
        """`source` "home" or "follow" (chosen in the preferences, kept) or "report" (where they reported:
        kept a year after the last report there, then DynamoDB's TTL drops it). A chosen entry is never
        downgraded."""
        from pynamodb.exceptions import PutError

        item = NotificationModel(pk=f"area#{unit_code}", sk=user_id, user_id=user_id, source=source, at=at)
        if source in KEPT_AREA_SOURCES:
            item.save()
            return
        item.expires = int(time.time()) + AREA_REPORT_TTL_SECONDS
        try:
            item.save(condition=NotificationModel.source.does_not_exist()
                      | ~NotificationModel.source.is_in(*KEPT_AREA_SOURCES))
        except PutError as exc:
            if not condition_failed(exc):
                raise

    def unindex_area(self, unit_code: str, user_id: str) -> None:
        NotificationModel(pk=f"area#{unit_code}", sk=user_id).delete()

    def area_members(self, unit_code: str, after: str | None = None, limit: int = 1000) -> tuple[list[str], str | None]:
        """One page of the people of an area, and where the next page starts (None at the end)."""
        kwargs: dict[str, Any] = {"limit": limit, "attributes_to_get": ["pk", "sk"]}  # the ids only
        if after:
            kwargs["last_evaluated_key"] = {"pk": {"S": f"area#{unit_code}"}, "sk": {"S": after}}
        result = NotificationModel.query(f"area#{unit_code}", **kwargs)
        ids = [m.sk for m in result]
        last = result.last_evaluated_key
        return ids, (last["sk"]["S"] if last else None)

    # ---------------------------------------------------------- inbox

    def put_inbox(self, message: Message) -> bool:
        """Write an in-app notification once: False if this message id is already there."""
        sk = f"{message.at}.{message.id}"
        try:
            NotificationModel(
                pk=f"inbox#{message.user_id}", sk=sk, user_id=message.user_id, kind=message.kind,
                event_type=message.event_type, title=message.title, text=message.text,
                report_id=message.report_id, tracking_code=message.tracking_code, alert_id=message.alert_id,
                read=False, at=message.at, expires=int(time.time()) + INBOX_TTL_SECONDS, sent_at=_now(),
            ).save(condition=NotificationModel.sk.does_not_exist())
            return True
        except PutError as exc:
            if not condition_failed(exc):
                raise
            return False

    def inbox(self, user_id: str, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
        kwargs: dict[str, Any] = {"scan_index_forward": False, "limit": limit}
        if cursor:
            kwargs["last_evaluated_key"] = {"pk": {"S": f"inbox#{user_id}"}, "sk": {"S": cursor}}
        result = NotificationModel.query(f"inbox#{user_id}", **kwargs)
        items = [
            {"id": m.sk, "at": m.at, "event_type": m.event_type, "report_id": m.report_id,
             "tracking_code": m.tracking_code, "alert_id": m.alert_id, "title": m.title, "text": m.text,
             "read": bool(m.read)}
            for m in result
        ]
        last = result.last_evaluated_key
        return items, (last["sk"]["S"] if last else None)

    def unread(self, user_id: str, cap: int = 1000) -> int:
        return NotificationModel.count(f"inbox#{user_id}", filter_condition=NotificationModel.read == False,  # noqa: E712
                                       limit=cap)

    def mark_read(self, user_id: str, item_id: str) -> bool:
        from pynamodb.exceptions import UpdateError

        try:
            NotificationModel(pk=f"inbox#{user_id}", sk=item_id).update(
                actions=[NotificationModel.read.set(True)], condition=NotificationModel.sk.exists())
            return True
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            return False

    # ---------------------------------------------------------- alerts

    def put_alert(self, alert: Alert) -> None:
        from datetime import datetime

        expires = int(datetime.fromisoformat(alert.expires_at.replace("Z", "+00:00")).timestamp()) + 30 * 86400
        NotificationModel(pk="alerts", sk=alert.id, kind=alert.kind, at=alert.created_at,
                          data={"alert": json.dumps(alert.public() | {"created_at": alert.created_at,
                                                                      "created_by": alert.created_by})},
                          expires=expires).save()

    def get_alert(self, alert_id: str) -> Alert | None:
        try:
            return _alert(NotificationModel.get("alerts", alert_id))
        except DoesNotExist:
            return None

    def alerts(self) -> list[Alert]:
        return [_alert(m) for m in NotificationModel.query("alerts")]


def _alert(model: NotificationModel) -> Alert:
    raw = json.loads((model.data.as_dict() if hasattr(model.data, "as_dict") else dict(model.data))["alert"])
    return Alert(id=raw["id"], kind=raw["kind"], severity=raw["severity"], title=raw["title"], body=raw["body"],
                 starts_at=raw["starts_at"], expires_at=raw["expires_at"], units=tuple(raw.get("units") or ()),
                 polygon=raw.get("polygon"), created_at=raw.get("created_at", ""), created_by=raw.get("created_by", ""))


class SqsNotifyQueue:
    """SendMessageBatch, 10 messages a request; a message waiting for quiet hours gets DelaySeconds."""

    def __init__(self, queue_url: str, client=None):
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self):
        if self._client is None:
            import boto3

            from civic.settings import get_settings

            s = get_settings()
            self._client = boto3.client("sqs", region_name=s.aws_region, endpoint_url=s.aws_endpoint_url)
        return self._client

    def send(self, bodies: list[tuple[str, int]]) -> int:
        """(body, delay seconds) pairs; returns the number of requests made. Raises if any entry
        still fails after one retry, so the caller's batch is retried (ids keep it exactly once)."""
        requests = 0
        for start in range(0, len(bodies), 10):
            chunk = {str(i): body for i, body in enumerate(bodies[start:start + 10])}
            for _attempt in range(2):
                entries = [{"Id": i, "MessageBody": b, **({"DelaySeconds": d} if d else {})}
                           for i, (b, d) in chunk.items()]
                resp = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
                requests += 1
                failed = {f["Id"] for f in resp.get("Failed", [])}
                chunk = {i: v for i, v in chunk.items() if i in failed}
                if not chunk:
                    break
            if chunk:
                raise RuntimeError(f"{len(chunk)} notify messages could not be enqueued")
        return requests

    def send_messages(self, messages: list[Message], now: str) -> int:
        from civic.domain.notify import delay_seconds

        return self.send([(m.to_json(), delay_seconds(now, m.not_before)) for m in messages])

    def send_job(self, job: dict) -> int:
        return self.send([(json.dumps(job, separators=(",", ":")), 0)])
