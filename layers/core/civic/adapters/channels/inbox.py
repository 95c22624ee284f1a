"""The in-app inbox: the message is written to the recipient's inbox in the Notifications table.

The write is conditional on the message's key (its time and id), so it is its own idempotency record:
a redelivered message finds its item and writes nothing (`ONCE_BY_ITSELF`; the send function skips the
separate idempotency record for it)."""

from __future__ import annotations

from civic.adapters.channels.base import ChannelContext
from civic.domain.notify import Message

ONCE_BY_ITSELF = True


def deliver(context: ChannelContext, m: Message) -> dict:
    created = context.store.put_inbox(m)
    return {"provider_id": f"{m.at}.{m.id}", "created": created}
