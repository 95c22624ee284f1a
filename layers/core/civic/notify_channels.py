"""Channel adapters: SES email, SNS SMS, SNS mobile push, Zalo Official Account, the in-app inbox.

Each `deliver` either returns (the channel accepted the message) or raises `ChannelError`; the
sender turns an error into a retry and, after the queue's maxReceiveCount, the dead-letter queue.
Addresses, texts, the Zalo endpoint and its token never appear in logs or error messages.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any

from civic.domain.notify import Message

if TYPE_CHECKING:
    from civic.settings import Settings
    from civic.storage.notify import DynamoNotifyStore

# Our device platforms → SNS platform application platforms.
SNS_PLATFORMS = {"android": "GCM", "web": "GCM", "ios": "APNS"}


class ChannelError(Exception):
    """The channel refused or failed; `code` is safe to log (no personal data, no secrets)."""

    def __init__(self, channel: str, code: str):
        super().__init__(f"{channel}: {code}")
        self.channel = channel
        self.code = code


class Channels:
    def __init__(self, settings: Settings, store: DynamoNotifyStore, ses=None, sns=None, http=None):
        self.settings = settings
        self.store = store
        self._ses, self._sns, self._http = ses, sns, http
        self._apps: dict[str, str] = {}

    def _client(self, service: str):
        import boto3

        s = self.settings
        return boto3.client(service, region_name=s.aws_region, endpoint_url=s.aws_endpoint_url)

    @cached_property
    def ses(self):
        return self._ses or self._client("ses")

    @cached_property
    def sns(self):
        return self._sns or self._client("sns")

    @cached_property
    def http(self):
        import urllib3

        return self._http or urllib3.PoolManager(timeout=urllib3.Timeout(connect=3, read=5), retries=False)

    def deliver(self, message: Message) -> dict[str, Any]:
        handler = getattr(self, f"_{message.channel}", None)
        if handler is None or not message.address:
            raise ChannelError(message.channel, "no_address")
        try:
            return handler(message)
        except ChannelError:
            raise
        except Exception as exc:  # botocore ClientError, urllib3 errors: their type only
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
            raise ChannelError(message.channel, code or type(exc).__name__) from None

    # ---------------------------------------------------------- channels

    def _inbox(self, m: Message) -> dict:
        created = self.store.put_inbox(m)
        return {"provider_id": f"{m.at}.{m.id}", "created": created}

    def _email(self, m: Message) -> dict:
        resp = self.ses.send_email(
            Source=self.settings.email_sender,
            Destination={"ToAddresses": [m.address]},
            Message={"Subject": {"Data": m.title, "Charset": "UTF-8"},
                     "Body": {"Text": {"Data": m.text, "Charset": "UTF-8"}}},
        )
        return {"provider_id": resp["MessageId"]}

    def _sms(self, m: Message) -> dict:
        resp = self.sns.publish(
            PhoneNumber=m.address, Message=m.text,
            MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
        )
        return {"provider_id": resp["MessageId"]}

    def _app_arn(self, platform: str) -> str:
        """The SNS platform application of a device platform, created at first use if missing."""
        if platform not in self._apps:
            name = f"{self.settings.push_app_prefix}-{platform}"
            found = None
            for page in self.sns.get_paginator("list_platform_applications").paginate():
                for app in page.get("PlatformApplications", []):
                    if app["PlatformApplicationArn"].rsplit("/", 1)[-1] == name:
                        found = app["PlatformApplicationArn"]
            if found is None:
                found = self.sns.create_platform_application(
                    Name=name, Platform=SNS_PLATFORMS.get(platform, "GCM"), Attributes={"PlatformCredential": "local"},
                )["PlatformApplicationArn"]
            self._apps[platform] = found
        return self._apps[platform]

    def _push(self, m: Message) -> dict:
        ids = []
        payload = json.dumps({
            "default": m.text,
            "GCM": json.dumps({"notification": {"title": m.title, "body": m.text},
                               "data": {"tracking_code": m.tracking_code or "", "alert_id": m.alert_id or ""}}),
            "APNS": json.dumps({"aps": {"alert": {"title": m.title, "body": m.text}}}),
        }, ensure_ascii=False)
        for device in m.address:
            endpoint = self.sns.create_platform_endpoint(
                PlatformApplicationArn=self._app_arn(device.get("platform", "android")), Token=device["token"],
            )["EndpointArn"]
            ids.append(self.sns.publish(TargetArn=endpoint, Message=payload, MessageStructure="json")["MessageId"])
        return {"provider_id": ",".join(ids)}

    def _zalo(self, m: Message) -> dict:
        token = self.settings.zalo_access_token
        if not token or not self.settings.zalo_api_url:
            raise ChannelError("zalo", "not_configured")
        body = json.dumps({"recipient": {"user_id": m.address}, "message": {"text": f"{m.title}\n{m.text}"}},
                          ensure_ascii=False).encode()
        resp = self.http.request("POST", self.settings.zalo_api_url, body=body,
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
