"""Email through SES SendEmail, from EMAIL_SENDER (an SES identity)."""

from __future__ import annotations

from civic.adapters.channels.base import ChannelContext
from civic.domain.notify import Message


def deliver(context: ChannelContext, m: Message) -> dict:
    resp = context.ses.send_email(
        Source=context.settings.email_sender,
        Destination={"ToAddresses": [m.address]},
        Message={"Subject": {"Data": m.title, "Charset": "UTF-8"},
                 "Body": {"Text": {"Data": m.text, "Charset": "UTF-8"}}},
    )
    return {"provider_id": resp["MessageId"]}
