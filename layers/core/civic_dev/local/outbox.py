"""What the local stack "sent": emails (moto SES), SMS and mobile pushes (moto SNS), Zalo OA messages
(a capture endpoint the local web server serves) and in-app inbox items (the Notifications table).

moto keeps sent SES messages and SMS in its backends without times or order across services, so
`install()` wraps the moto backend calls (the real moto code still runs, and still refuses what AWS
refuses, e.g. an unverified SES sender) and notes each accepted message with its time. moto runs in
the `civic local` process, so the web server answers `GET /_local/outbox` from here; the `civic local
outbox` command (another process) reads that over loopback HTTP.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from datetime import UTC
from typing import Any

from civic.clock import iso_utc

_lock = threading.Lock()
_sent: deque[dict[str, Any]] = deque(maxlen=50_000)
_installed = False
# The Zalo stand-in: failure injection (POST /_local/zalo/fail), and the OA's current tokens, which its
# OAuth stand-in (POST /_local/zalo/oauth) replaces as Zalo's does: the refresh token is single-use.
ZALO_APP = {"app_id": "local-oa-app", "secret_key": "local-oa-secret"}
zalo_state: dict[str, Any] = {"fail": False, "token": "local-zalo-token", "refresh": "local-refresh-1", "issued": 1,
                              "valid": {"local-zalo-token"}}  # an access token stays valid until it expires


def zalo_credentials(expires_at: str) -> dict:
    """What the stack puts in the OA's secret (Secrets Manager) at start: the stand-in's current tokens."""
    return {**ZALO_APP, "access_token": zalo_state["token"], "refresh_token": zalo_state["refresh"],
            "expires_at": expires_at}


def zalo_oauth(headers: Any, body: bytes) -> tuple[int, dict]:
    """Zalo's v4 OA token endpoint, stand-in: a valid refresh token (used once) for new tokens."""
    from urllib.parse import parse_qs

    form = {k: v[-1] for k, v in parse_qs((body or b"").decode()).items()}
    if headers.get("secret_key") != ZALO_APP["secret_key"] or form.get("app_id") != ZALO_APP["app_id"]:
        return 200, {"error": -14002, "message": "Invalid app credentials"}
    if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != zalo_state["refresh"]:
        return 200, {"error": -14014, "message": "Invalid refresh token"}
    zalo_state["issued"] += 1
    zalo_state["token"] = f"local-zalo-token-{zalo_state['issued']}"
    zalo_state["valid"].add(zalo_state["token"])
    zalo_state["refresh"] = f"local-refresh-{zalo_state['issued']}"
    return 200, {"access_token": zalo_state["token"], "refresh_token": zalo_state["refresh"], "expires_in": "90000"}


def _note(channel: str, recipient: Any, title: str | None, text: str) -> None:
    from datetime import datetime

    with _lock:
        _sent.append({"at": iso_utc(datetime.now(UTC)), "seq": time.monotonic_ns(), "channel": channel,
                      "recipient": recipient, "title": title, "text": text})


def install() -> None:
    """Wrap moto's SES and SNS backends once per process (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.ses.models import SESBackend
    from moto.sns.models import SNSBackend

    send_email = SESBackend.send_email

    def capture_email(self, source, subject, body, destinations):
        message = send_email(self, source, subject, body, destinations)
        for address in [a for addresses in destinations.values() for a in addresses]:
            _note("email", address, subject, body)
        return message

    publish = SNSBackend.publish

    def capture_publish(self, message, arn, phone_number=None, *args, **kwargs):
        message_id = publish(self, message, arn, phone_number, *args, **kwargs)
        if phone_number:
            _note("sms", phone_number, None, message)
        elif arn and ":endpoint/" in arn:
            endpoint = self.platform_endpoints.get(arn)
            try:
                payload = json.loads(message)
                gcm = json.loads(payload.get("GCM", "{}"))
                title, text = gcm.get("notification", {}).get("title"), payload.get("default", message)
            except (ValueError, AttributeError):
                title, text = None, message
            _note("push", getattr(endpoint, "token", arn), title, text)
        return message_id

    SESBackend.send_email = capture_email
    SNSBackend.publish = capture_publish
    _installed = True


def zalo_receive(headers: Any, body: bytes) -> tuple[int, dict]:
    """The Zalo OA API stand-in: checks the token, records the message, answers like Zalo."""
    if zalo_state["fail"]:
        return 503, {"error": -32, "message": "local failure injection"}
    if headers.get("access_token") not in zalo_state["valid"]:
        return 200, {"error": -216, "message": "Access token is invalid"}
    try:
        payload = json.loads(body or b"{}")
        user = payload["recipient"]["user_id"]
        text = payload["message"]["text"]
    except (ValueError, KeyError, TypeError):
        return 200, {"error": -201, "message": "Parameters are invalid"}
    title, _, rest = text.partition("\n")
    _note("zalo", user, title, rest or title)
    return 200, {"error": 0, "message": "Success", "data": {"message_id": uuid.uuid4().hex}}


def _inbox_items(env: dict) -> list[dict]:
    import boto3

    client = boto3.client("dynamodb", region_name=env.get("AWS_REGION"), endpoint_url=env.get("AWS_ENDPOINT_URL"))
    out = []
    for page in client.get_paginator("scan").paginate(
            TableName=env["NOTIFICATIONS_TABLE"], FilterExpression="begins_with(pk, :p)",
            ExpressionAttributeValues={":p": {"S": "inbox#"}}):
        for item in page.get("Items", []):
            out.append({"at": item.get("sent_at", item.get("at", {})).get("S"), "seq": 0, "channel": "inbox",
                        "recipient": item["pk"]["S"].split("#", 1)[1], "title": item.get("title", {}).get("S"),
                        "text": item.get("text", {}).get("S")})
    return out


def collect(env: dict, limit: int | None = None) -> list[dict]:
    """Everything sent, newest first: {at, channel, recipient, title, text}."""
    with _lock:
        items = list(_sent)
    items += _inbox_items(env)
    items.sort(key=lambda i: (i["at"] or "", i["seq"]), reverse=True)
    items = [{k: v for k, v in i.items() if k != "seq"} for i in items]
    return items[:limit] if limit else items


def reset() -> None:
    with _lock:
        _sent.clear()


def serve(method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict]:
    """The web server's /_local/* routes (loopback only, like the whole local stack):
    GET /_local/outbox[?limit=N]; POST /_local/zalo (the Zalo OA API); POST /_local/zalo/oauth (its token
    endpoint); POST /_local/zalo/fail {"fail"}."""
    import os
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(path)
    if method == "GET" and parts.path == "/_local/outbox":
        raw = parse_qs(parts.query).get("limit", [""])[0]
        limit = int(raw) if raw.isdigit() else None
        return 200, {"items": collect(dict(os.environ), limit)}
    if method == "POST" and parts.path == "/_local/zalo":
        return zalo_receive(headers, body)
    if method == "POST" and parts.path == "/_local/zalo/oauth":
        return zalo_oauth(headers, body)
    if method == "POST" and parts.path == "/_local/zalo/fail":
        try:
            zalo_state["fail"] = bool(json.loads(body or b"{}").get("fail", True))
        except (ValueError, AttributeError):
            return 400, {"error": "invalid_json"}
        return 200, {"fail": zalo_state["fail"]}
    return 404, {"error": "not_found"}
