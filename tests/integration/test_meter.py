"""The local stack's call meter (`make cost`): every AWS call counted once per HTTP attempt, by who
made it, with DynamoDB's capacity units estimated from the items' sizes; requests from outside the
process (a phone's presigned upload) counted at moto's door."""

import boto3
import pytest
import requests

from civic_dev.local import meter
from civic_dev.local.embedded_aws import EmbeddedAWS
from civic_dev.local.ports import bind


@pytest.fixture
def metered_aws():
    meter.install()
    server = EmbeddedAWS(bind("127.0.0.1", 0, "AWS", "--aws-port"), wrap=meter.wsgi).start()
    try:
        yield server
    finally:
        server.stop()
        meter.uninstall()


def client(server, name):
    return boto3.client(name, endpoint_url=server.url, region_name="ap-southeast-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def test_calls_by_caller_operation_and_units(metered_aws):
    ddb, s3 = client(metered_aws, "dynamodb"), client(metered_aws, "s3")
    ddb.create_table(TableName="T", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    s3.create_bucket(Bucket="meter-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-southeast-1"})
    meter.reset()
    big = "x" * 2500  # 3 KB with its name and key: 3 write units, 1 read unit
    with meter.caller("SendFunction", "SQS", 256):
        ddb.put_item(TableName="T", Item={"pk": {"S": "a"}, "body": {"S": big}})
        ddb.get_item(TableName="T", Key={"pk": {"S": "a"}})
        ddb.get_item(TableName="T", Key={"pk": {"S": "a"}}, ConsistentRead=True)
        ddb.update_item(TableName="T", Key={"pk": {"S": "a"}}, UpdateExpression="SET n = :n",
                        ExpressionAttributeValues={":n": {"N": "1"}})
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "T", "Item": {"pk": {"S": "b"}}}},
            {"Update": {"TableName": "T", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET n = :n",
                        "ExpressionAttributeValues": {":n": {"N": "2"}}}},
        ])
    form = s3.generate_presigned_post("meter-bucket", "up/photo.jpg")
    assert requests.post(form["url"], data=form["fields"], files={"file": ("p.jpg", b"jpeg", "image/jpeg")},
                         timeout=10).status_code in (200, 204)
    s3.get_object(Bucket="meter-bucket", Key="up/photo.jpg")  # this thread, outside any invocation

    rows = {(r["caller"], r["service"], r["operation"]): r for r in meter.snapshot()["calls"]}
    fn = "SendFunction"
    assert rows[(fn, "dynamodb", "PutItem")]["calls"] == 1 and rows[(fn, "dynamodb", "PutItem")]["units"] == 3
    get = rows[(fn, "dynamodb", "GetItem")]
    assert get["calls"] == 2 and get["units"] == 0.5 + 1.0  # eventually consistent, then strongly
    assert rows[(fn, "dynamodb", "UpdateItem")]["units"] == 3  # the item's size, not the update's
    assert rows[(fn, "dynamodb", "TransactWriteItems")]["units"] == 2 * 1 + 2 * 3
    assert rows[("client", "s3", "PostObject")]["calls"] == 1  # the presigned upload, seen at moto's door
    import threading

    assert rows[(threading.current_thread().name, "s3", "GetObject")]["calls"] == 1
    assert not any(r[1] == "s3" and r[2] == "PostObject" and r[0] != "client" for r in rows)
    [invocation] = meter.snapshot()["invocations"]
    assert invocation["function"] == fn and invocation["memory_mb"] == 256 and invocation["duration_ms"] > 0


def test_caller_is_free_when_the_meter_is_off():
    meter.uninstall()
    with meter.caller("Api", "API", 512):
        pass
    assert meter.snapshot() == {"calls": [], "invocations": []}
