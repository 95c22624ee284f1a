"""`civic staff set` on the running local stack: the Cognito group, the Users table's units and the
notification index move together, so a new officer sees and hears about their unit's reports, and
a moved one stops hearing about the old unit."""

import json
import subprocess
import sys

import boto3
import pytest

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e
EMAIL = "new.officer@demo.civicbridge.vn"


def civic_staff(stack, *args):
    done = subprocess.run([sys.executable, "-m", "civic_dev.cli", "staff", "set", *args, "--state-dir", str(stack.state_dir)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    return done.returncode, done.stdout, done.stderr


def staff_index(stack, unit):
    table = boto3.resource("dynamodb", endpoint_url=stack.info["aws_endpoint_url"], region_name=stack.info["region"],
                           aws_access_key_id="local", aws_secret_access_key="local").Table(stack.info["env"]["NOTIFICATIONS_TABLE"])
    return {item["sk"] for item in table.query(KeyConditionExpression="pk = :pk",
                                               ExpressionAttributeValues={":pk": f"staff#{unit}"})["Items"]}


def test_staff_set_creates_moves_and_refuses_bad_input(stack):
    code, out, err = civic_staff(stack, EMAIL, "--role", "officer", "--unit", "DEMO-W03", "--name", "Cán bộ Mới")
    assert code == 0, err
    made = json.loads(out)
    # The local stack sends no email: the temporary password is printed, once, for the operator to hand over.
    assert made["created"] and made["units"] == ["DEMO-W03"] and len(made["temporary_password"]) >= 12
    sub = made["user_id"]
    assert sub in staff_index(stack, "DEMO-W03")
    groups = stack.cognito.admin_list_groups_for_user(UserPoolId=stack.info["user_pool_id"], Username=EMAIL)["Groups"]
    assert [g["GroupName"] for g in groups] == ["officer"]

    code, out, err = civic_staff(stack, EMAIL, "--role", "leader", "--unit", "DEMO-W04")
    assert code == 0, err
    moved = json.loads(out)
    assert moved["user_id"] == sub and not moved["created"]
    assert sub not in staff_index(stack, "DEMO-W03") and sub in staff_index(stack, "DEMO-W04")
    groups = stack.cognito.admin_list_groups_for_user(UserPoolId=stack.info["user_pool_id"], Username=EMAIL)["Groups"]
    assert [g["GroupName"] for g in groups] == ["leader"]

    for bad in (["--role", "officer", "--unit", "NOPE"], ["--role", "officer"]):
        code, out, err = civic_staff(stack, EMAIL, *bad)
        assert code != 0 and out == "" and err.strip()
    assert sub in staff_index(stack, "DEMO-W04")  # a refused change changed nothing
