"""Delivery channels: one module per channel, one interface, one registry.

A channel module defines `deliver(context, message) -> {"provider_id": ...}` and raises `ChannelError`
when the channel refuses or fails; the sender turns an error into a retry and, after the queue's
maxReceiveCount, the dead-letter queue. Addresses, texts, endpoints and tokens never appear in logs or
error messages. Adding a channel: its module here, a line in REGISTRY, its name in
`civic.domain.notify.CHANNELS` (a test checks they agree), its settings and the template's permissions.
"""

from __future__ import annotations

import importlib
from typing import Any

from civic.adapters.channels.base import ChannelContext, ChannelError
from civic.domain.notify import Message

__all__ = ["REGISTRY", "ChannelContext", "ChannelError", "Channels"]

# Channel name → its module (imported on first use: a cold start loads only the channels it sends on).
REGISTRY = {
    "inbox": "civic.adapters.channels.inbox",
    "email": "civic.adapters.channels.email",
    "sms": "civic.adapters.channels.sms",
    "push": "civic.adapters.channels.push",
    "zalo": "civic.adapters.channels.zalo",
}


class Channels:
    """Delivers a message on its channel, through the registry."""

    def __init__(self, settings, store, ses=None, sns=None, http=None):
        self.context = ChannelContext(settings, store, ses=ses, sns=sns, http=http)

    @staticmethod
    def once_by_itself(channel: str) -> bool:
        """Whether the channel's delivery is a conditional write keyed by the message, so delivering a
        message twice changes nothing (the in-app inbox): it needs no idempotency record of its own."""
        module = REGISTRY.get(channel)
        return bool(module and getattr(importlib.import_module(module), "ONCE_BY_ITSELF", False))

    def deliver(self, message: Message) -> dict[str, Any]:
        module = REGISTRY.get(message.channel)
        if module is None or not message.address:
            raise ChannelError(message.channel, "no_address")
        try:
            return importlib.import_module(module).deliver(self.context, message)
        except ChannelError:
            raise
        except Exception as exc:  # botocore ClientError, urllib3 errors: their type only
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
            raise ChannelError(message.channel, code or type(exc).__name__) from None
