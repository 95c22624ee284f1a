"""The in-app inbox: the message is written to the recipient's inbox in the Notifications table."""

from __future__ import annotations

from civic.adapters.channels.base import ChannelContext
from civic.domain.notify import Message


def deliver(context: ChannelContext, m: Message) -> dict:
    created = context.store.put_inbox(m)
    return {"provider_id": f"{m.at}.{m.id}", "created": created}
