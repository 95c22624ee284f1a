"""`civic local` keeps its data: a stack killed with SIGKILL and started again on the same state dir
answers as before (issue #18 item 4): the report, the token, the Idempotency-Key, the user and pool ids,
the queued notification (delivered once) and the dead-letter queue, and no stream record twice."""

from __future__ import annotations

import base64
import json
import os
import signal
import time
import uuid

import boto3
import pytest
import requests

from tests.e2e.conftest import running_stack

pytestmark = pytest.mark.e2e

CITIZEN = "citizen1@demo.civicbridge.vn"
KEY = "kept-state-0001"
BODY = {"category": "traffic", "description": "Đèn đường hỏng — kept across a kill", "lat": 21.0285, "lon": 105.8542}


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _inbox(stack, headers) -> list[dict]:
    return requests.get(stack.api + "/v1/me/notifications", params={"limit": 100}, headers=headers,
                        timeout=30).json()["items"]


def _scan(client, table: str) -> list:
    items, kw = [], {}
    while True:
        page = client.scan(TableName=table, ConsistentRead=True, **kw)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: json.dumps(i, sort_keys=True))
        kw = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def test_a_killed_stack_comes_back_with_its_data(tmp_path):
    with running_stack(tmp_path, fresh=False) as first:
        info = first.info
        aws = {"endpoint_url": info["aws_endpoint_url"], "region_name": info["region"]}
        auth = first.cognito.initiate_auth(
            ClientId=info["user_pool_client_id"], AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": CITIZEN, "PASSWORD": "Demo@2026!"})["AuthenticationResult"]
        token, refresh = auth["IdToken"], auth["RefreshToken"]
        sub = _claims(token)["sub"]
        headers = {"Authorization": f"Bearer {token}"}
        me = requests.get(first.api + "/v1/me", headers=headers, timeout=30).json()
        created = requests.post(first.api + "/v1/reports", json=BODY, headers={**headers, "Idempotency-Key": KEY},
                                timeout=30)
        assert created.status_code == 201, created.text
        report = created.json()
        first.settle()  # routed, counted, its notifications delivered
        routed = requests.get(f"{first.api}/v1/reports/{report['id']}", headers=headers, timeout=30).json()
        inbox = _inbox(first, headers)
        ddb = boto3.client("dynamodb", **aws)
        stats = _scan(ddb, info["env"]["STATS_TABLE"])
        # A notification on the queue, due a few seconds from now (so still queued at the kill), and a
        # message on the dead-letter queue.
        sqs = boto3.client("sqs", **aws)
        queued = {"id": uuid.uuid4().hex, "user_id": sub, "channel": "inbox", "kind": "accepted",
                  "event_type": "accept", "title": "Kept across a kill", "text": "queued before the kill",
                  "language": "vi", "at": "2026-01-02T03:04:05.000Z", "report_id": report["id"],
                  "tracking_code": report["tracking_code"], "address": sub}
        sqs.send_message(QueueUrl=info["env"]["NOTIFY_QUEUE_URL"], MessageBody=json.dumps(queued), DelaySeconds=8)
        sqs.send_message(QueueUrl=info["env"]["NOTIFY_DLQ_URL"], MessageBody=json.dumps({"dead": "letter"}))
        time.sleep(1.0)  # what was answered more than a second before the kill is kept
        os.kill(info["pid"], signal.SIGKILL)  # the stack is one process (no children)
        first_pid = info["pid"]

    with running_stack(tmp_path, fresh=False) as second:
        info2 = second.info
        assert info2["pid"] != first_pid and info2["restored"] is True
        assert (info2["user_pool_id"], info2["user_pool_client_id"]) == (info["user_pool_id"], info["user_pool_client_id"])
        # the same token works, for the same user
        again = requests.get(second.api + "/v1/me", headers=headers, timeout=30)
        assert again.status_code == 200 and again.json() == me
        signed_in = second.cognito.initiate_auth(ClientId=info2["user_pool_client_id"], AuthFlow="USER_PASSWORD_AUTH",
                                                 AuthParameters={"USERNAME": CITIZEN, "PASSWORD": "Demo@2026!"})
        assert _claims(signed_in["AuthenticationResult"]["IdToken"])["sub"] == sub
        refreshed = second.cognito.initiate_auth(ClientId=info2["user_pool_client_id"], AuthFlow="REFRESH_TOKEN_AUTH",
                                                 AuthParameters={"REFRESH_TOKEN": refresh})
        assert _claims(refreshed["AuthenticationResult"]["IdToken"])["sub"] == sub
        # the report, with what the functions did to it before the kill
        kept = requests.get(f"{second.api}/v1/reports/{report['id']}", headers=headers, timeout=30)
        assert kept.status_code == 200 and kept.json() == routed
        assert kept.json()["description"] == BODY["description"]
        # the same Idempotency-Key answers the first report
        retried = requests.post(second.api + "/v1/reports", json=BODY, headers={**headers, "Idempotency-Key": KEY},
                                timeout=30)
        assert retried.status_code in (200, 201) and retried.json()["id"] == report["id"]
        mine = requests.get(second.api + "/v1/me/reports", headers=headers, timeout=30).json()["items"]
        assert [r["id"] for r in mine].count(report["id"]) == 1
        assert len(mine) > 1  # and the demo reports seeded for this citizen before the kill
        # the queued notification is delivered, once; nothing delivered before is delivered again
        after = second.wait_for(lambda: _inbox(second, headers), lambda items: len(items) > len(inbox))
        second.settle()
        after = _inbox(second, headers)
        new = [i for i in after if i not in inbox]
        assert [i["title"] for i in new] == ["Kept across a kill"], new
        assert len(after) == len(inbox) + 1
        # no stream record was counted twice, and the dead-letter queue still holds its message
        assert _scan(boto3.client("dynamodb", endpoint_url=info2["aws_endpoint_url"],
                                  region_name=info2["region"]), info2["env"]["STATS_TABLE"]) == stats
        dlq = boto3.client("sqs", endpoint_url=info2["aws_endpoint_url"], region_name=info2["region"])
        got = dlq.receive_message(QueueUrl=info2["env"]["NOTIFY_DLQ_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=1)
        assert [json.loads(m["Body"]) for m in got.get("Messages", [])] == [{"dead": "letter"}]


def test_fresh_starts_empty(tmp_path):
    (tmp_path / "aws").mkdir()
    (tmp_path / "aws" / "seed.json").write_text('{"demo_users": [], "open311_api_key": null}')
    (tmp_path / "aws" / "journal.jsonl").write_text("not json\n")
    with running_stack(tmp_path, "--no-demo") as stack:  # --fresh, as every test's stack
        assert stack.info["restored"] is False and stack.info["demo_users"] == []
        assert (tmp_path / "aws" / "journal.jsonl").read_text() == ""
