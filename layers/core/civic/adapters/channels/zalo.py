"""Zalo Official Account: the OA customer-service message API (ZALO_API_URL), with the access token from
Secrets Manager (ZALO_SECRET_ARN, kept fresh by functions/zalo_token) or, in tests, ZALO_ACCESS_TOKEN."""

from __future__ import annotations

import json

from civic.adapters.channels.base import ChannelContext, ChannelError
from civic.domain.notify import Message


def deliver(context: ChannelContext, m: Message) -> dict:
    settings = context.settings
    token = settings.zalo_access_token or (context.zalo_credentials.access_token() if settings.zalo_secret_arn else None)
    if not token or not settings.zalo_api_url:
        raise ChannelError("zalo", "not_configured")
    body = json.dumps({"recipient": {"user_id": m.address}, "message": {"text": f"{m.title}\n{m.text}"}},
                      ensure_ascii=False).encode()
    resp = context.http.request("POST", settings.zalo_api_url, body=body,
                                headers={"Content-Type": "application/json", "access_token": token})
    if resp.status != 200:
        raise ChannelError("zalo", f"http_{resp.status}")
    try:
        answer = json.loads(resp.data or b"{}")
    except ValueError:
        raise ChannelError("zalo", "bad_answer") from None
    if answer.get("error", 0) != 0:
        raise ChannelError("zalo", f"error_{answer.get('error')}")
    return {"provider_id": str((answer.get("data") or {}).get("message_id", ""))}
