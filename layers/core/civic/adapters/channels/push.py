"""Mobile and web push through SNS platform endpoints, one per registered device."""

from __future__ import annotations

import json

from civic.adapters.channels.base import ChannelContext
from civic.domain.notify import Message

# Our device platforms → SNS platform application platforms.
SNS_PLATFORMS = {"android": "GCM", "web": "GCM", "ios": "APNS"}


def _app_arn(context: ChannelContext, platform: str) -> str:
    """The SNS platform application of a device platform, created at first use if missing."""
    if platform not in context.push_apps:
        name = f"{context.settings.push_app_prefix}-{platform}"
        found = None
        for page in context.sns.get_paginator("list_platform_applications").paginate():
            for app in page.get("PlatformApplications", []):
                if app["PlatformApplicationArn"].rsplit("/", 1)[-1] == name:
                    found = app["PlatformApplicationArn"]
        if found is None:
            found = context.sns.create_platform_application(
                Name=name, Platform=SNS_PLATFORMS.get(platform, "GCM"), Attributes={"PlatformCredential": "local"},
            )["PlatformApplicationArn"]
        context.push_apps[platform] = found
    return context.push_apps[platform]


def deliver(context: ChannelContext, m: Message) -> dict:
    ids = []
    payload = json.dumps({
        "default": m.text,
        "GCM": json.dumps({"notification": {"title": m.title, "body": m.text},
                           "data": {"tracking_code": m.tracking_code or "", "alert_id": m.alert_id or ""}}),
        "APNS": json.dumps({"aps": {"alert": {"title": m.title, "body": m.text}}}),
    }, ensure_ascii=False)
    for device in m.address:
        endpoint = context.sns.create_platform_endpoint(
            PlatformApplicationArn=_app_arn(context, device.get("platform", "android")), Token=device["token"],
        )["EndpointArn"]
        ids.append(context.sns.publish(TargetArn=endpoint, Message=payload, MessageStructure="json")["MessageId"])
    return {"provider_id": ",".join(ids)}
