"""SMS through SNS Publish to a phone number, as a transactional message."""

from __future__ import annotations

from civic.adapters.channels.base import ChannelContext
from civic.domain.notify import Message


def deliver(context: ChannelContext, m: Message) -> dict:
    resp = context.sns.publish(
        PhoneNumber=m.address, Message=m.text,
        MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
    )
    return {"provider_id": resp["MessageId"]}
