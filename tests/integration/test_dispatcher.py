"""The local dispatcher against moto in server mode: S3, DynamoDB streams, SQS and schedules are
delivered to handlers (written to a tmp dir) in Lambda's event shapes, with Lambda's retry semantics."""

from __future__ import annotations

import json
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from civic_dev.local.dispatcher import Dispatcher
from civic_dev.local.embedded_aws import EmbeddedAWS
from civic_dev.local.event_filters import event_matches_pattern
from civic_dev.local.schedules import parse_schedule

REGION = "ap-southeast-1"

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory):
    mp = pytest.MonkeyPatch()
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": REGION}.items():
        mp.setenv(k, v)
    server = EmbeddedAWS.on_free_port()
    yield server.url
    server.stop()
    mp.undo()


def client(endpoint: str, svc: str):
    return boto3.client(svc, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def deploy(endpoint: str, sam: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """A tiny stand-in for civic_dev.local.deploy: create the template's tables, buckets and queues."""
    suffix = uuid.uuid4().hex[:8]
    ids: dict[str, str] = {}
    streams: dict[str, str] = {}
    ddb, s3, sqs = client(endpoint, "dynamodb"), client(endpoint, "s3"), client(endpoint, "sqs")
    resources = sam["Resources"]
    order = sorted(resources, key=lambda k: "RedrivePolicy" in (resources[k].get("Properties") or {}))
    for logical in order:
        res = resources[logical]
        props = res.get("Properties") or {}
        name = f"{logical.lower()}-{suffix}"
        if res["Type"] == "AWS::DynamoDB::Table":
            out = ddb.create_table(TableName=name, KeySchema=props["KeySchema"],
                                   AttributeDefinitions=props["AttributeDefinitions"],
                                   BillingMode="PAY_PER_REQUEST",
                                   StreamSpecification={"StreamEnabled": True,
                                                        **props["StreamSpecification"]})
            ids[logical] = name
            streams[logical] = out["TableDescription"]["LatestStreamArn"]
        elif res["Type"] == "AWS::S3::Bucket":
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
            ids[logical] = name
        elif res["Type"] == "AWS::SQS::Queue":
            attrs = {}
            if "RedrivePolicy" in props:
                dlq_logical = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
                dlq_url = ids[dlq_logical]
                dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
                    "Attributes"]["QueueArn"]
                attrs["RedrivePolicy"] = json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": props["RedrivePolicy"]["maxReceiveCount"]})
            ids[logical] = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    return ids, streams


def write_handler(tmp_path: Path, folder: str, body: str) -> str:
    d = tmp_path / folder
    d.mkdir(parents=True, exist_ok=True)
    (d / "handler.py").write_text(textwrap.dedent(body))
    return f"{folder}/"


def read_log(path: Path) -> list[Any]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


RECORDER = """
import json
OUT = {out!r}

def handler(event, context):
    with open(OUT, "a") as f:
        f.write(json.dumps({{"event": event, "fn": context.function_name,
                            "mem": context.memory_limit_in_mb, "arn": context.invoked_function_arn,
                            "left": context.get_remaining_time_in_millis(),
                            "rid": context.aws_request_id}}) + "\\n")
    {extra}
"""


def recorder(out: Path, extra: str = "return None") -> str:
    return RECORDER.format(out=str(out), extra=extra)


def make_dispatcher(endpoint: str, sam: dict, tmp_path: Path, ids: dict, streams: dict, **kw) -> Dispatcher:
    kw.setdefault("poll_interval", 0.1)
    return Dispatcher(sam, tmp_path, ids, streams, endpoint, REGION, **kw)


# ----------------------------------------------------------------------------------------------


def test_s3_put_is_one_invocation_with_lambda_shape_and_prefix_filter(endpoint, tmp_path):
    out = tmp_path / "s3.jsonl"
    sam = {"Resources": {
        "Uploads": {"Type": "AWS::S3::Bucket"},
        "MediaFn": {"Type": "AWS::Serverless::Function", "Properties": {
            "CodeUri": write_handler(tmp_path, "fn_media", recorder(out)),
            "Handler": "handler.handler", "MemorySize": 512, "Timeout": 30,
            "Events": {"Upload": {"Type": "S3", "Properties": {
                "Bucket": {"Ref": "Uploads"}, "Events": "s3:ObjectCreated:*",
                "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "uploads/"},
                                               {"Name": "suffix", "Value": ".jpg"}]}}}}}}},
    }}
    ids, streams = deploy(endpoint, sam)
    s3 = client(endpoint, "s3")
    bucket = ids["Uploads"]
    s3.put_object(Bucket=bucket, Key="uploads/before-start.jpg", Body=b"old")
    d = make_dispatcher(endpoint, sam, tmp_path, ids, streams)
    d.start()
    try:
        s3.put_object(Bucket=bucket, Key="uploads/phố cổ 1.jpg", Body=b"x" * 1234)
        s3.put_object(Bucket=bucket, Key="other/x.jpg", Body=b"nope")
        s3.put_object(Bucket=bucket, Key="uploads/readme.txt", Body=b"nope")
        assert d.drain(10)
    finally:
        d.stop()
    got = read_log(out)
    assert len(got) == 1
    assert d.invocation_count("MediaFn", "S3", "ok") == 1
    (rec,) = got[0]["event"]["Records"]
    assert rec["eventSource"] == "aws:s3" and rec["eventName"] == "ObjectCreated:Put"
    assert rec["awsRegion"] == REGION and rec["eventVersion"] == "2.1"
    assert rec["s3"]["bucket"] == {"name": bucket, "ownerIdentity": {"principalId": "LOCAL"},
                                   "arn": f"arn:aws:s3:::{bucket}"}
    obj = rec["s3"]["object"]
    assert obj["key"] == "uploads/ph%E1%BB%91+c%E1%BB%95+1.jpg"  # URL-encoded as AWS does
    assert obj["size"] == 1234 and len(obj["eTag"]) == 32 and obj["sequencer"]
    assert got[0]["fn"] == "MediaFn" and got[0]["mem"] == 512 and 0 < got[0]["left"] <= 30000
    assert got[0]["arn"].startswith(f"arn:aws:lambda:{REGION}:") and got[0]["arn"].endswith(":function:MediaFn")


def _stream_sam(tmp_path: Path, out: Path, handler_extra: str, **event_props) -> dict:
    return {"Resources": {
        "Timeline": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"}}},
        "RouteFn": {"Type": "AWS::Serverless::Function", "Properties": {
            "CodeUri": write_handler(tmp_path, "fn_route", recorder(out, handler_extra)),
            "Handler": "handler.handler",
            "Events": {"Stream": {"Type": "DynamoDB", "Properties": {
                "Stream": {"Fn::GetAtt": ["Timeline", "StreamArn"]},
                "StartingPosition": "TRIM_HORIZON", "BatchSize": 10,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "FilterCriteria": {"Filters": [{"Pattern": json.dumps(
                    {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": ["submitted"]}}}})}]},
                **event_props}}}}},
    }}


FAIL_ONCE = """marker = OUT + ".failed"
    import os
    for r in event["Records"]:
        if r["dynamodb"]["NewImage"]["pk"]["S"].startswith("fail") and not os.path.exists(marker):
            open(marker, "w").close()
            return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]}]}
    return {"batchItemFailures": []}"""


def test_stream_in_order_filtered_and_partial_failure_retried_from_failed_record(endpoint, tmp_path):
    out = tmp_path / "stream.jsonl"
    sam = _stream_sam(tmp_path, out, FAIL_ONCE)
    ids, streams = deploy(endpoint, sam)
    ddb = client(endpoint, "dynamodb")
    table = ids["Timeline"]
    for pk, typ in [("r1", "submitted"), ("r2", "draft"), ("fail3", "submitted"), ("r4", "submitted")]:
        ddb.put_item(TableName=table, Item={"pk": {"S": pk}, "type": {"S": typ}})
    ddb.update_item(TableName=table, Key={"pk": {"S": "r1"}}, UpdateExpression="SET n = :n",
                    ExpressionAttributeValues={":n": {"N": "1"}})  # MODIFY: filtered out by eventName
    d = make_dispatcher(endpoint, sam, tmp_path, ids, streams)
    d.start()
    try:
        assert d.drain(10)
        ddb.put_item(TableName=table, Item={"pk": {"S": "r5"}, "type": {"S": "submitted"}})
        assert d.drain(10)
    finally:
        d.stop()
    batches = [[r["dynamodb"]["NewImage"]["pk"]["S"] for r in g["event"]["Records"]] for g in read_log(out)]
    # first batch fails at fail3: r1 is committed, the retry starts at fail3 and r1 is not re-sent
    assert batches == [["r1", "fail3", "r4"], ["fail3", "r4"], ["r5"]]
    rec = read_log(out)[0]["event"]["Records"][0]
    assert rec["eventSource"] == "aws:dynamodb" and rec["eventName"] == "INSERT"
    assert rec["eventSourceARN"] == streams["Timeline"] and rec["awsRegion"] == REGION
    assert rec["dynamodb"]["Keys"] == {"pk": {"S": "r1"}}
    assert rec["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(rec["dynamodb"]["ApproximateCreationDateTime"], int)
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in read_log(out)[0]["event"]["Records"]]
    assert seqs == sorted(seqs)
    outcomes = [r.outcome for r in d.invocations]
    assert outcomes == ["partial", "ok", "ok"]


def test_stream_poison_batch_skipped_after_maximum_retry_attempts(endpoint, tmp_path, caplog):
    out = tmp_path / "poison.jsonl"
    extra = """if any(r["dynamodb"]["NewImage"]["pk"]["S"] == "bad" for r in event["Records"]):
        raise RuntimeError("boom")"""
    sam = _stream_sam(tmp_path, out, extra, MaximumRetryAttempts=1, BatchSize=1)
    ids, streams = deploy(endpoint, sam)
    ddb = client(endpoint, "dynamodb")
    d = make_dispatcher(endpoint, sam, tmp_path, ids, streams, stream_retry_delay=0.01)
    d.start()
    try:
        for pk in ["a", "bad", "c"]:
            ddb.put_item(TableName=ids["Timeline"], Item={"pk": {"S": pk}, "type": {"S": "submitted"}})
        with caplog.at_level("ERROR", logger="civic_dev.local.dispatcher"):
            assert d.drain(10)
    finally:
        d.stop()
    seen = [g["event"]["Records"][0]["dynamodb"]["NewImage"]["pk"]["S"] for g in read_log(out)]
    assert seen == ["a", "bad", "bad", "c"]  # one try + MaximumRetryAttempts=1, then skipped
    assert any("skipped after 2 attempts" in m for m in caplog.messages)
    assert not any("bad" in m for m in caplog.messages)  # no payloads in logs


def test_sqs_failures_go_to_dlq_and_successes_are_deleted_once(endpoint, tmp_path):
    out = tmp_path / "sqs.jsonl"
    extra = """return {"batchItemFailures": [{"itemIdentifier": r["messageId"]}
                                  for r in event["Records"] if json.loads(r["body"]).get("poison")]}"""
    sam = {"Resources": {
        "NotifyDlq": {"Type": "AWS::SQS::Queue"},
        "NotifyQueue": {"Type": "AWS::SQS::Queue", "Properties": {"RedrivePolicy": {
            "deadLetterTargetArn": {"Fn::GetAtt": ["NotifyDlq", "Arn"]}, "maxReceiveCount": 3}}},
        "NotifyFn": {"Type": "AWS::Serverless::Function", "Properties": {
            "CodeUri": write_handler(tmp_path, "fn_notify", recorder(out, extra)), "Handler": "handler.handler",
            "Events": {"Queue": {"Type": "SQS", "Properties": {
                "Queue": {"Fn::GetAtt": ["NotifyQueue", "Arn"]}, "BatchSize": 10,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"body": {"kind": [{"prefix": "notify"}]}})}]},
            }}}}},
    }}
    ids, streams = deploy(endpoint, sam)
    sqs = client(endpoint, "sqs")
    q = ids["NotifyQueue"]
    for body in [{"kind": "notify.sms", "n": 1}, {"kind": "notify.push", "poison": True},
                 {"kind": "notify.email", "n": 2}, {"kind": "other"}]:
        sqs.send_message(QueueUrl=q, MessageBody=json.dumps(body),
                         MessageAttributes={"lang": {"DataType": "String", "StringValue": "vi"}})
    d = make_dispatcher(endpoint, sam, tmp_path, ids, streams, sqs_retry_delay=0)
    d.start()
    try:
        assert d.drain(20)
    finally:
        t0 = time.monotonic()
        d.stop()
    assert time.monotonic() - t0 < 10  # stop does not wait out the queue: the long poll is 1 s (margin for a loaded CI)
    got = read_log(out)
    bodies = [json.loads(r["body"]) for g in got for r in g["event"]["Records"]]
    assert sum(1 for b in bodies if b.get("n") == 1) == 1
    assert sum(1 for b in bodies if b.get("n") == 2) == 1
    assert sum(1 for b in bodies if b.get("poison")) == 3  # maxReceiveCount
    assert not any(b["kind"] == "other" for b in bodies)  # filtered (and deleted)
    rec = got[0]["event"]["Records"][0]
    assert rec["eventSource"] == "aws:sqs" and rec["awsRegion"] == REGION
    assert rec["eventSourceARN"].endswith(":" + q.rsplit("/", 1)[-1])
    assert rec["attributes"]["ApproximateReceiveCount"] == "1" and "SentTimestamp" in rec["attributes"]
    assert rec["messageAttributes"]["lang"]["stringValue"] == "vi"
    assert rec["messageAttributes"]["lang"]["dataType"] == "String"
    assert rec["md5OfBody"] and rec["receiptHandle"] and rec["messageId"]
    attrs = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
    dlq = sqs.receive_message(QueueUrl=ids["NotifyDlq"], MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in dlq] == [{"kind": "notify.push", "poison": True}]


def test_schedule_fire_and_async_retries_then_dead_letter_queue(endpoint, tmp_path):
    out = tmp_path / "sla.jsonl"
    bad = tmp_path / "bad.jsonl"
    sam = {"Resources": {
        "SlaDlq": {"Type": "AWS::SQS::Queue"},
        "SlaFn": {"Type": "AWS::Serverless::Function", "Properties": {
            "CodeUri": write_handler(tmp_path, "fn_sla", recorder(out)), "Handler": "handler.handler",
            "Events": {"Every15": {"Type": "Schedule", "Properties": {"Schedule": "rate(15 minutes)"}}}}},
        "DigestFn": {"Type": "AWS::Serverless::Function", "Properties": {
            "CodeUri": write_handler(tmp_path, "fn_digest", recorder(bad, 'raise ValueError("nope")')),
            "Handler": "handler.handler",
            "DeadLetterQueue": {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["SlaDlq", "Arn"]}},
            "Events": {"Nightly": {"Type": "ScheduleV2", "Properties": {
                "ScheduleExpression": "cron(0 1 * * ? *)", "ScheduleExpressionTimezone": "Asia/Ho_Chi_Minh"}}}}},
    }}
    ids, streams = deploy(endpoint, sam)
    d = make_dispatcher(endpoint, sam, tmp_path, ids, streams, async_retry_delay=0.01)
    # not started: runs inline (what the CLI does)
    rec = d.fire_schedule("SlaFn")
    assert rec is not None and rec.outcome == "ok" and rec.trigger == "Schedule"
    d.start()
    try:
        assert d.fire_schedule("SlaFn") is None  # queued
        d.fire_schedule("DigestFn")
        assert d.drain(10)
    finally:
        d.stop()
    events = [g["event"] for g in read_log(out)]
    assert len(events) == 2
    ev = events[0]
    assert ev["detail-type"] == "Scheduled Event" and ev["source"] == "aws.events" and ev["detail"] == {}
    assert ev["region"] == REGION and ev["resources"][0].startswith(f"arn:aws:events:{REGION}:")
    assert len(read_log(bad)) == 3  # first try + 2 async retries
    assert d.invocation_count("DigestFn", outcome="error") == 3
    sqs = client(endpoint, "sqs")
    msgs = sqs.receive_message(QueueUrl=ids["SlaDlq"], MaxNumberOfMessages=10)["Messages"]
    assert len(msgs) == 1 and json.loads(msgs[0]["Body"])["source"] == "aws.scheduler"


def test_filter_patterns_and_schedule_parsing():
    rec = {"eventName": "INSERT", "dynamodb": {"NewImage": {"type": {"S": "submitted"}, "n": {"N": "3"}}}}
    assert event_matches_pattern({"dynamodb": {"NewImage": {"type": {"S": ["submitted", "routed"]}}}}, rec)
    assert not event_matches_pattern({"dynamodb": {"NewImage": {"type": {"S": ["routed"]}}}}, rec)
    assert event_matches_pattern({"dynamodb": {"NewImage": {"type": {"S": [{"prefix": "sub"}]}}}}, rec)
    assert event_matches_pattern({"dynamodb": {"NewImage": {"unit": [{"exists": False}]}}}, rec)
    assert not event_matches_pattern({"dynamodb": {"NewImage": {"type": {"S": [{"exists": False}]}}}}, rec)
    assert event_matches_pattern({"dynamodb": {"OldImage": {"type": [{"exists": False}]}}}, rec)
    assert event_matches_pattern({"eventName": [{"anything-but": ["REMOVE"]}]}, rec)
    assert event_matches_pattern({"x": [{"numeric": [">", 1, "<=", 3]}]}, {"x": 3})
    assert parse_schedule("rate(5 minutes)") == ("rate", 300.0)
    kind, cron = parse_schedule("cron(0/15 1-3 ? * MON-FRI *)")
    import datetime as dt

    assert kind == "cron" and cron.matches(dt.datetime(2024, 1, 1, 2, 30))  # a Monday
    assert not cron.matches(dt.datetime(2024, 1, 6, 2, 30))  # a Saturday


POWERTOOLS_HANDLER = """
import json
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

OUT = {out!r}
logger = Logger(service="dispatcher-test")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def _record(record):
    pk = record.dynamodb.new_image["pk"]
    if pk == "bad":
        raise ValueError("bad record")
    with open(OUT, "a") as f:
        f.write(json.dumps(pk) + "\\n")


@logger.inject_lambda_context
def handler(event, context):
    return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)
"""


def test_powertools_batch_processor_and_context(endpoint, tmp_path):
    out = tmp_path / "pt.jsonl"
    sam = _stream_sam(tmp_path, out, "", MaximumRetryAttempts=1)
    sam["Resources"]["RouteFn"]["Properties"]["CodeUri"] = write_handler(
        tmp_path, "fn_pt", POWERTOOLS_HANDLER.format(out=str(out)))
    ids, streams = deploy(endpoint, sam)
    ddb = client(endpoint, "dynamodb")
    for pk in ["a", "bad", "c"]:
        ddb.put_item(TableName=ids["Timeline"], Item={"pk": {"S": pk}, "type": {"S": "submitted"}})
    d = make_dispatcher(endpoint, sam, tmp_path, ids, streams, stream_retry_delay=0.01)
    d.start()
    try:
        assert d.drain(10)
    finally:
        d.stop()
    # [a, bad, c] → bad reported → retried from bad: [bad, c] → retries exhausted → skipped
    assert read_log(out) == ["a", "c", "c"]
    assert [r.outcome for r in d.invocations] == ["partial", "partial"]
