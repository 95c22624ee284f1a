"""Notifications end to end on moto (server mode, in this process): the template deployed, the
Timeline stream → functions/notify → NotifyQueue → functions/send → SES / SNS / inbox, run by the
local dispatcher with Lambda's retry and redrive rules. Exactly once on redelivery and replay; a
failing channel lands its messages in the DLQ and a redrive delivers them; nothing is lost."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import boto3
import pytest

from civic_dev.local import outbox

REGION = "ap-southeast-1"
pytestmark = pytest.mark.timeout(240)

AUTHOR, FOLLOWER, OFFICER, LEADER, OTHER = "u-author", "u-follower", "u-officer", "u-leader", "u-other-ward"


@pytest.fixture(scope="module")
def stack():
    from civic.adapters.dynamo import models
    from civic.settings import Settings, get_settings
    from civic_dev.local.deploy import deploy_stack
    from civic_dev.local.dispatcher import Dispatcher
    from civic_dev.local.moto_fixes import serialise_dynamodb_writes
    serialise_dynamodb_writes()
    outbox.install()
    from civic_dev.local.embedded_aws import EmbeddedAWS

    server = EmbeddedAWS.on_free_port()
    endpoint = server.url
    saved = dict(os.environ)
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION,
                      POWERTOOLS_TRACE_DISABLED="true")
    deployed = deploy_stack(endpoint_url=endpoint, region=REGION)
    env = dict(deployed.env, WEB_BASE_URL="http://web.local", AWS_ENDPOINT_URL=endpoint)
    os.environ.update(env)
    get_settings.cache_clear()
    settings = Settings()
    models.bind(settings)
    dispatcher = Dispatcher(deployed.sam, template_dir=Path(__file__).resolve().parents[2] / "infra",
                            physical_ids=deployed.physical_ids, stream_arns=deployed.stream_arns,
                            endpoint_url=endpoint, region=REGION, run_schedules=False,
                            functions=["NotifyFunction", "SendFunction"])
    dispatcher.start()
    yield {"endpoint": endpoint, "env": env, "settings": settings, "dispatcher": dispatcher, "deployed": deployed}
    dispatcher.stop()
    server.stop()
    os.environ.clear()
    os.environ.update(saved)
    get_settings.cache_clear()


def client(stack, service):
    return boto3.client(service, endpoint_url=stack["endpoint"], region_name=REGION)


def seed_people():
    from civic.adapters.dynamo.models import UserModel
    from civic.adapters.dynamo.notify import DynamoNotifyStore

    store = DynamoNotifyStore()
    from civic_dev.local.demo import verified_contacts

    # Their contacts were confirmed (verification has its own tests): this test is about delivery.
    people = [dict(user_id=AUTHOR, role="citizen", email="author@example.vn", phone="+84900000001",
                   channels=["inbox", "email", "sms"], quiet_start="", quiet_end=""),
              dict(user_id=FOLLOWER, role="citizen", email="follower@example.vn", channels=["inbox", "email"]),
              dict(user_id=OFFICER, role="officer", units=["W01"], email="officer@example.vn", channels=["inbox"]),
              dict(user_id=LEADER, role="leader", units=["W01"], email="leader@example.vn", channels=["inbox", "email"]),
              dict(user_id=OTHER, role="citizen", email="other@example.vn", channels=["inbox", "email"])]
    for person in people:
        UserModel(**person, verified=verified_contacts(person["email"], person)).save()
    store.index_staff(OFFICER, "officer", ["W01"])
    store.index_staff(LEADER, "leader", ["W01"])


def lifecycle(code: str, final: str = "resolved"):
    """submitted → routed (W01) → accept → resolve, written as the API and route function would."""
    from civic.adapters.dynamo.models import FollowModel
    from civic.adapters.dynamo.reports import DynamoReportStore
    from civic.domain.reports import TimelineEvent, change, new_report
    from civic.domain.submission import ReportSubmission

    store = DynamoReportStore()
    report, event = new_report(ReportSubmission(category="traffic", description="Ổ gà", lat=21.0, lon=105.8),
                               citizen_id=AUTHOR, tracking_code=code, now="2026-11-23T03:00:00.000Z")
    store.create(report, event)
    FollowModel(report_id=report.id, user_id=FOLLOWER, at="2026-11-23T03:00:00.000Z").save()
    steps = [
        ("routed", "system", None, {"status": "routed", "unit_code": "W01"},
         {"unit_code": "W01", "admin_unit": "W01", "accept_due_at": "2026-11-24T03:00:00.000Z"}),
        ("accept", "officer", OFFICER, {"status": "accepted"}, {"unit_code": "W01"}),
        ("resolve", "officer", OFFICER, {"status": final, "answer": "Đã vá ổ gà."},
         {"unit_code": "W01", "answer": {"text": "Đã vá ổ gà."}, "evidence": []}),
    ]
    for n, (kind, role, actor, updates, data) in enumerate(steps):
        updated = change(report, at=f"2026-11-23T0{4 + n}:00:00.000Z", **updates)
        store.save(updated, report.version, TimelineEvent(report.id, updated.version, kind, updated.updated_at,
                                                          role, actor, True, updated.status, data))
        report = updated
    return report


def sent(stack, code: str) -> list[dict]:
    return [i for i in outbox.collect(stack["env"]) if code in (i["text"] or "") + (i["title"] or "")]


def wait_until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def dlq_bodies(stack) -> list[dict]:
    sqs = client(stack, "sqs")
    url = stack["env"]["NOTIFY_DLQ_URL"]
    seen = {}
    for _ in range(5):
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", []):
            seen[m["MessageId"]] = json.loads(m["Body"])
    return list(seen.values())


def replay_stream(stack, report_id: str) -> None:
    """Read the Timeline stream again from its start and give the report's records to the notify
    function once more, as a replay after an outage would."""
    d = stack["dispatcher"]
    streams = client(stack, "dynamodbstreams")
    arn = stack["deployed"].stream_arns["TimelineTable"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            resp = streams.get_records(ShardIterator=it, Limit=1000)
            records += resp["Records"]
            if not resp["Records"]:
                break
            it = resp.get("NextShardIterator")
    from civic_dev.local.lambda_runtime import jsonable as _jsonable

    mine = [dict(_jsonable(r), eventSource="aws:dynamodb", awsRegion=REGION, eventSourceARN=arn) for r in records
            if r["dynamodb"]["NewImage"]["report_id"]["S"] == report_id]
    assert len(mine) == 4
    rec = d.invoke("NotifyFunction", {"Records": mine}, trigger="DynamoDB", report_failures="DynamoDB",
                   valid_ids=[r["dynamodb"]["SequenceNumber"] for r in mine])
    assert rec.outcome == "ok", rec.error_message


def test_lifecycle_messages_exactly_once_then_dlq_and_redrive(stack):
    ses = client(stack, "ses")
    seed_people()
    report = lifecycle("HN-NTFY22")
    # The SES sender is not verified yet: every email fails (moto refuses it as SES does).
    assert stack["dispatcher"].drain(timeout=60)
    d = stack["dispatcher"]
    assert wait_until(lambda: len([b for b in dlq_bodies(stack) if b.get("tracking_code") == "HN-NTFY22"]) == 7, 60)

    got = sent(stack, "HN-NTFY22")
    pairs = sorted((i["channel"], i["recipient"]) for i in got)
    # Who heard what, on the channels that work: the author (inbox + SMS) and the follower (inbox) of
    # routed, accept and resolve; the ward's staff of the new report (routed); nobody else.
    assert pairs == sorted([
        ("inbox", AUTHOR), ("inbox", AUTHOR), ("inbox", AUTHOR), ("sms", "+84900000001"), ("sms", "+84900000001"),
        ("sms", "+84900000001"), ("inbox", FOLLOWER), ("inbox", FOLLOWER), ("inbox", FOLLOWER), ("inbox", OFFICER),
        ("inbox", LEADER),
    ])
    assert not any(i["recipient"] in (OTHER, "other@example.vn") for i in outbox.collect(stack["env"]))
    # The seven emails (author and follower × routed, accept and resolve; the leader's new report) are in
    # the DLQ, not lost.
    failed = [b for b in dlq_bodies(stack) if b.get("tracking_code") == "HN-NTFY22"]
    assert sorted((b["user_id"], b["kind"]) for b in failed) == sorted(
        [(AUTHOR, "routed"), (AUTHOR, "accepted"), (AUTHOR, "resolved"), (FOLLOWER, "routed"),
         (FOLLOWER, "accepted"), (FOLLOWER, "resolved"), (LEADER, "new_report")])
    assert all(b["channel"] == "email" for b in failed)
    # The SMS is short, plain ASCII and links to the tracking page.
    sms = [i["text"] for i in got if i["channel"] == "sms"]
    assert all(len(t) <= 160 and t.isascii() and "http://web.local/track/HN-NTFY22" in t for t in sms)

    # Replaying the whole stream sends nothing twice.
    replay_stream(stack, report.id)
    assert d.drain(timeout=60)
    time.sleep(6)  # long enough for re-failing emails to go round to the DLQ again
    assert d.drain(timeout=60)
    assert sorted((i["channel"], i["recipient"]) for i in sent(stack, "HN-NTFY22")) == pairs

    # Fix the channel (verify the sender), redrive the DLQ: each email is delivered exactly once.
    ses.verify_email_identity(EmailAddress=stack["settings"].email_sender)
    from civic_dev.cli.dlq import redrive

    moved = redrive(client(stack, "sqs"), stack["env"]["NOTIFY_DLQ_URL"], stack["env"]["NOTIFY_QUEUE_URL"])
    assert moved >= 7
    assert d.drain(timeout=60)
    assert wait_until(lambda: len([i for i in sent(stack, "HN-NTFY22") if i["channel"] == "email"]) >= 7, 30)
    assert d.drain(timeout=30)
    emails = sorted(i["recipient"] for i in sent(stack, "HN-NTFY22") if i["channel"] == "email")
    assert emails == ["author@example.vn"] * 3 + ["follower@example.vn"] * 3 + ["leader@example.vn"]
    assert [b for b in dlq_bodies(stack) if b.get("tracking_code") == "HN-NTFY22"] == []

    # Every message: delivered exactly once, none left anywhere.
    final = sent(stack, "HN-NTFY22")
    assert len(final) == 18
    keys = [(i["channel"], i["recipient"], i["title"], i["text"]) for i in final]
    assert len(set(keys)) == len(keys) == 18


def test_inbox_lists_newest_first_and_marks_read(stack):
    from civic.adapters.dynamo.notify import DynamoNotifyStore

    store = DynamoNotifyStore()
    items, _ = store.inbox(AUTHOR, None, 10)
    assert len(items) >= 2 and items[0]["at"] >= items[-1]["at"]
    assert all(i["read"] is False for i in items)
    unread = store.unread(AUTHOR)
    assert store.mark_read(AUTHOR, items[0]["id"]) is True
    assert store.unread(AUTHOR) == unread - 1
    assert store.mark_read(AUTHOR, "2026-01-01T00:00:00.000Z.nope") is False
    assert store.mark_read(FOLLOWER, items[1]["id"]) is False  # another user's item is not found


def test_inbox_write_is_its_own_idempotency_record(stack):
    """A message delivered twice (SQS redelivers at least once): the inbox item and the SMS are each
    written once; only the SMS, which leaves AWS, takes an Idempotency record (the inbox write is
    conditional on the message's key, so it needs none: two writes a message fewer)."""
    from civic.adapters.dynamo.notify import DynamoNotifyStore
    from civic.domain.notify import Message

    seed_people()
    ddb = client(stack, "dynamodb")
    table = stack["settings"].idempotency_table

    def records() -> int:
        return ddb.scan(TableName=table, Select="COUNT")["Count"]

    base = dict(user_id=AUTHOR, kind="accepted", event_type="accept", title="HN-ONCE77", text="Đã tiếp nhận HN-ONCE77",
                language="vi", at="2026-11-23T05:00:00.000Z", report_id="r-once", tracking_code="HN-ONCE77")
    inbox = Message(id="m-once-inbox", channel="inbox", address=AUTHOR, **base)
    sms = Message(id="m-once-sms", channel="sms", address="+84900000001", **base)
    before = records()
    for attempt in (1, 2):
        event = {"Records": [{"messageId": f"sqs-{m.id}-{attempt}", "receiptHandle": "h", "body": m.to_json(),
                              "attributes": {"ApproximateReceiveCount": str(attempt)}, "messageAttributes": {},
                              "md5OfBody": "", "eventSource": "aws:sqs", "awsRegion": REGION,
                              "eventSourceARN": "arn:aws:sqs:ap-southeast-1:123456789012:notify"}
                             for m in (inbox, sms)]}
        rec = stack["dispatcher"].invoke("SendFunction", event, trigger="SQS", report_failures="SQS",
                                         valid_ids=[r["messageId"] for r in event["Records"]])
        assert rec.outcome == "ok", rec.error_message
    items, _ = DynamoNotifyStore().inbox(AUTHOR, None, 100)
    assert [i["id"] for i in items if i["tracking_code"] == "HN-ONCE77"] == [f"{inbox.at}.{inbox.id}"]
    assert [i["channel"] for i in sent(stack, "HN-ONCE77") if i["channel"] == "sms"] == ["sms"]
    assert records() - before == 1  # the SMS's record; none for the inbox
