"""The channel adapters against moto in-process (SES, SNS SMS and mobile push, the inbox table) and
a real local HTTP endpoint standing in for the Zalo OA API (civic_dev.local.outbox's capture)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from moto import mock_aws

from civic.adapters.channels import ChannelError, Channels
from civic.domain.notify import Message
from civic_dev.local import outbox

REGION = "ap-southeast-1"


@pytest.fixture(scope="module")
def zalo():
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            status, body = outbox.serve("POST", self.path, self.headers, self.rfile.read(int(self.headers["Content-Length"])))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def channels(zalo, monkeypatch):
    import boto3

    from civic.adapters.dynamo import models
    from civic.adapters.dynamo.notify import DynamoNotifyStore
    from civic.settings import Settings
    from civic_dev.local.deploy import deploy_stack

    outbox.install()
    outbox.reset()
    with mock_aws():
        deployed = deploy_stack(endpoint_url=None, region=REGION)
        fields = {k.lower(): v for k, v in deployed.env.items() if k.lower() in Settings.model_fields}
        settings = Settings(**{**fields, "zalo_api_url": f"{zalo}/_local/zalo", "zalo_oauth_url": f"{zalo}/_local/zalo/oauth"})
        models.bind(settings)
        # The OA's credentials in Secrets Manager, as an operator puts them (the template declares the secret).
        boto3.client("secretsmanager", region_name=REGION).put_secret_value(
            SecretId=settings.zalo_secret_arn, SecretString=json.dumps(outbox.zalo_credentials("2099-01-01T00:00:00.000Z")))
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=settings.email_sender)
        yield Channels(settings, DynamoNotifyStore())


def message(channel, address, **kw):
    return Message(id=f"m-{channel}", user_id="u1", channel=channel, kind="accepted", event_type="accept",
                   title="Phản ánh HN-AAAAA2 đã được tiếp nhận", text="Theo dõi: http://x/track/HN-AAAAA2",
                   language="vi", at="2026-11-23T03:00:00.000Z", address=address, report_id="r1",
                   tracking_code="HN-AAAAA2", **kw)


def test_every_channel_delivers_and_is_captured(channels):
    channels.deliver(message("email", "a@example.vn"))
    channels.deliver(message("sms", "+84900000001"))
    channels.deliver(message("push", [{"platform": "android", "token": "fcm-abcdefgh"},
                                      {"platform": "ios", "token": "apns-12345678"}]))
    channels.deliver(message("zalo", "zalo-u1"))
    assert channels.deliver(message("inbox", "u1"))["created"] is True
    assert channels.deliver(message("inbox", "u1"))["created"] is False  # the same id: one inbox item
    env = {"NOTIFICATIONS_TABLE": channels.context.settings.notifications_table, "AWS_REGION": REGION}
    got = sorted((i["channel"], str(i["recipient"])) for i in outbox.collect(env))
    assert got == [("email", "a@example.vn"), ("inbox", "u1"), ("push", "apns-12345678"), ("push", "fcm-abcdefgh"),
                   ("sms", "+84900000001"), ("zalo", "zalo-u1")]
    # the platform applications were created once, at first use
    apps = channels.context.sns.list_platform_applications()["PlatformApplications"]
    assert sorted(a["PlatformApplicationArn"].rsplit("/", 1)[-1] for a in apps) == ["civicbridge-android", "civicbridge-ios"]


def test_failures_are_channel_errors_without_personal_data(channels):
    outbox.zalo_state["fail"] = True
    try:
        with pytest.raises(ChannelError) as failed:
            channels.deliver(message("zalo", "zalo-secret-user"))
    finally:
        outbox.zalo_state["fail"] = False
    assert failed.value.code == "http_503" and "zalo-secret-user" not in str(failed.value)
    channels.context.settings.zalo_access_token = "wrong"
    with pytest.raises(ChannelError) as refused:
        channels.deliver(message("zalo", "zalo-u1"))
    assert refused.value.code == "error_-216" and "wrong" not in str(refused.value)
    channels.context.ses.delete_identity(Identity=channels.context.settings.email_sender)
    with pytest.raises(ChannelError) as rejected:
        channels.deliver(message("email", "private@example.vn"))
    assert rejected.value.code == "MessageRejected" and "private@example.vn" not in str(rejected.value)
    with pytest.raises(ChannelError):
        channels.deliver(message("sms", None))


def test_store_preferences_area_index_and_alerts(channels):
    from civic.domain.notify import Alert

    store = channels.context.store
    saved = store.save_preferences("u9", {"channels": ["inbox", "sms"], "phone": "+84900000009", "home_unit": "W01",
                                          "quiet_start": "", "quiet_end": ""})
    assert saved.role == "citizen" and saved.channels == ("inbox", "sms") and saved.quiet_start is None
    assert store.add_device("u9", "android", "fcm-u9-token") is True
    assert store.add_device("u9", "android", "fcm-u9-token") is False
    assert store.preferences(["u9", "nobody"])["u9"].devices[0].token == "fcm-u9-token"
    # The phone changes hands: the token moves to its new owner and leaves the old one's devices.
    assert store.add_device("u7", "android", "fcm-u9-token") is True
    assert [d.token for d in store.preferences(["u9"])["u9"].devices] == []
    assert [d.token for d in store.preferences(["u7"])["u7"].devices] == ["fcm-u9-token"]
    # Only its owner removes it (sign-out on the phone); then nobody has it.
    assert store.remove_device("u9", "fcm-u9-token") is False
    assert store.remove_device("u7", "fcm-u9-token") is True
    assert store.preferences(["u7"])["u7"].devices == ()
    assert store.add_device("u9", "android", "fcm-u9-token") is True  # back on u9's phone
    # a home entry is never downgraded by a report there; report entries may expire
    store.index_area("W01", "u9", "home", "2026-11-23T00:00:00.000Z")
    store.index_area("W01", "u9", "report", "2026-11-24T00:00:00.000Z")
    store.index_area("W01", "u8", "report", "2026-11-24T00:00:00.000Z")
    from civic.adapters.dynamo.models import NotificationModel

    assert NotificationModel.get("area#W01", "u9").source == "home"
    assert NotificationModel.get("area#W01", "u8").expires is not None
    page, after = store.area_members("W01", limit=1)
    rest, end = store.area_members("W01", after=after, limit=10)
    assert page + rest == ["u8", "u9"] and end is None
    alert = Alert("a9", "storm", "severe", {"vi": "Bão", "en": "Storm"}, {"vi": "Ở trong nhà", "en": "Stay in"},
                  "2026-11-23T00:00:00.000Z", "2026-11-24T00:00:00.000Z", ("W01",), created_at="2026-11-23T00:00:00.000Z")
    store.put_alert(alert)
    assert store.get_alert("a9") == alert and [a.id for a in store.alerts()] == ["a9"]


def test_contact_store_limits_are_all_or_nothing_on_dynamodb(channels):
    """The verification store's transaction on moto: one message per address a day, the account's
    cap, a token that confirms once, wrong codes counted up to the limit."""
    from dataclasses import replace

    from civic.adapters.dynamo.contacts import DynamoContactStore
    from civic.domain.contacts import Pending, contact_key

    store, people = DynamoContactStore(), channels.context.store
    for uid in ("c1", "c2", "c3"):
        people.save_preferences(uid, {"email": f"{uid}@example.vn"})
    first = Pending("c1", "email", contact_key("email", "c1@example.vn"), "t" * 64, "h" * 64, expires=2_000_000_000)
    assert store.start(first, day="2026-11-23", account="user#c1", cap=2, now_epoch=1_900_000_000)
    # The same address for another account the same day: refused, and nothing of it was written.
    twin = replace(first, user_id="c2", token_hash="u" * 64)
    assert not store.start(twin, day="2026-11-23", account="user#c2", cap=2, now_epoch=1_900_000_000)
    assert store.pending("c2", "email") is None and store.pending_by_token("u" * 64) is None
    assert store.start(twin, day="2026-11-24", account="user#c2", cap=2, now_epoch=1_900_000_000)  # the next day
    # The account's cap: c1 may cause two messages that day.
    second = replace(first, contact_key=contact_key("email", "x@example.vn"), token_hash="v" * 64)
    third = replace(first, contact_key=contact_key("email", "y@example.vn"), token_hash="w" * 64)
    assert store.start(second, day="2026-11-23", account="user#c1", cap=2, now_epoch=1_900_000_000)
    assert not store.start(third, day="2026-11-23", account="user#c1", cap=2, now_epoch=1_900_000_000)
    # The newer pending verification replaced the first: its token no longer confirms anything.
    assert store.pending_by_token("t" * 64) is None and store.pending_by_token("v" * 64) == second
    assert [store.wrong_attempt(second, 2) for _ in range(3)] == [1, 2, 2]
    store.confirm(store.pending("c1", "email"))
    assert contact_key("email", "x@example.vn") in people.get_preferences("c1").verified
    assert store.pending("c1", "email") is None and store.pending_by_token("v" * 64) is None


def test_the_zalo_token_is_refreshed_with_the_single_use_refresh_token_and_kept(channels):
    """The refresher (functions/zalo_token) against Zalo's token endpoint (the stand-in, over HTTP): fresh
    tokens are left alone; near expiry both tokens are replaced in Secrets Manager, the old refresh token
    no longer works, and messages go out with the new access token."""
    import boto3

    from civic.adapters.channels.zalo_token import ZaloCredentials, ZaloCredentialsError

    settings = channels.context.settings
    secrets = boto3.client("secretsmanager", region_name=REGION)
    refresher = ZaloCredentials(settings, client=secrets)
    assert refresher.refresh() == "fresh"  # expires in 2099
    before = json.loads(secrets.get_secret_value(SecretId=settings.zalo_secret_arn)["SecretString"])
    assert refresher.refresh(force=True) == "refreshed"
    after = json.loads(secrets.get_secret_value(SecretId=settings.zalo_secret_arn)["SecretString"])
    assert after["access_token"] != before["access_token"] and after["refresh_token"] != before["refresh_token"]
    assert after["app_id"] == before["app_id"] and after["expires_at"] > "2026"
    channels.deliver(message("zalo", "zalo-u2"))  # the send function's cache may hold either valid token
    sender = ZaloCredentials(settings, client=secrets)
    assert sender.access_token() == after["access_token"]
    # The old refresh token was single-use: written back wrongly, the next refresh fails loudly (alarmed).
    secrets.put_secret_value(SecretId=settings.zalo_secret_arn, SecretString=json.dumps(before))
    with pytest.raises(ZaloCredentialsError) as failed:
        refresher.refresh(force=True)
    assert failed.value.code == "error_-14014" and before["refresh_token"] not in str(failed.value)
