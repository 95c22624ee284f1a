"""civic_dev.local.persist: the journal around moto's server keeps accepted changes (DynamoDB items,
S3 objects, presigned-POST uploads included) and not reads or refusals, and a replay into a freshly
created table and bucket gives them back; a line cut short by a kill is dropped."""

from __future__ import annotations

import json

import boto3
import pytest
import requests

from civic_dev.local.embedded_aws import EmbeddedAWS
from civic_dev.local.persist import KeptState

REGION = "ap-southeast-1"


def _resources(url: str):
    ddb = boto3.client("dynamodb", endpoint_url=url, region_name=REGION, aws_access_key_id="local",
                       aws_secret_access_key="local")
    s3 = boto3.client("s3", endpoint_url=url, region_name=REGION, aws_access_key_id="local",
                      aws_secret_access_key="local")
    return ddb, s3


def _deploy(ddb, s3) -> None:
    """What the template deploy creates on every start: a table and a bucket, empty."""
    ddb.create_table(TableName="kept", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    s3.create_bucket(Bucket="kept-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})


@pytest.fixture
def aws(tmp_path):
    kept = KeptState(tmp_path, REGION)
    kept.prepare()
    from civic_dev.local import ports

    server = EmbeddedAWS(ports.bind("127.0.0.1", 0, "AWS", "--aws-port"), wrap=kept.wrap).start()
    requests.post(server.url + "/moto-api/reset", timeout=10)
    try:
        yield kept, server
    finally:
        kept.close()
        server.stop()


def test_accepted_changes_are_journaled_and_replayed(aws):
    kept, server = aws
    ddb, s3 = _resources(server.url)
    _deploy(ddb, s3)
    kept.open_journal()
    ddb.put_item(TableName="kept", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    ddb.update_item(TableName="kept", Key={"pk": {"S": "a"}}, UpdateExpression="ADD n :one",
                    ExpressionAttributeValues={":one": {"N": "1"}})
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):  # refused: not journaled
        ddb.put_item(TableName="kept", Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)")
    ddb.get_item(TableName="kept", Key={"pk": {"S": "a"}})  # a read: not journaled
    s3.put_object(Bucket="kept-bucket", Key="put/one.txt", Body=b"one")
    post = s3.generate_presigned_post("kept-bucket", "posted/photo.jpg")
    assert requests.post(post["url"], data=post["fields"], files={"file": b"\xff\xd8jpeg"}, timeout=10).status_code == 204
    lines = kept.journal_path.read_text().splitlines()
    assert len(lines) == 4, [json.loads(line)["env"].get("HTTP_X_AMZ_TARGET") for line in lines]

    # a restart: moto empty, the template deployed again, then the journal (its last line cut by a kill)
    with open(kept.journal_path, "ab") as journal:
        journal.write(b'{"t":"http","env":{"REQUEST_METH')
    requests.post(server.url + "/moto-api/reset", timeout=10)
    _deploy(ddb, s3)
    assert kept.replay(server.app) == (4, 0)
    assert len(kept.journal_path.read_text().splitlines()) == 4 and kept.journal_path.read_text().endswith("\n")
    assert ddb.get_item(TableName="kept", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "2"}
    assert s3.get_object(Bucket="kept-bucket", Key="put/one.txt")["Body"].read() == b"one"
    assert s3.get_object(Bucket="kept-bucket", Key="posted/photo.jpg")["Body"].read() == b"\xff\xd8jpeg"
    # the replay went around the journal: nothing was written twice
    assert len(kept.journal_path.read_text().splitlines()) == 4
