"""`civic doctor` on the running local stack: the demo city is ready (every ward has a boundary, every
category a receiving unit with staff from every ward, deadlines compute, nothing stuck), and a unit
added without staff or a boundary is named as a problem with the command that fixes it."""

import json
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e


def civic(stack, *args):
    return subprocess.run([sys.executable, "-m", "civic_dev.cli", *args, "--state-dir", str(stack.state_dir)],
                          capture_output=True, text=True, timeout=180, cwd=ROOT)


def test_the_demo_city_is_ready_and_a_ward_without_boundary_or_staff_is_named(stack):
    done = civic(stack, "doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✘" not in done.stdout
    assert "All 9 wards/communes have a boundary" in done.stdout
    assert "Every category routes to a unit from every ward" in done.stdout
    assert "receiving units have an officer" in done.stdout

    # A new ward with no boundary yet: its reports would wait for triage; doctor says which ward.
    unit = {"code": "DEMO-W10", "kind": "ward", "parent_code": "DEMO", "name_vi": "Phường Mới", "name_en": "New ward"}
    import boto3

    table = boto3.resource("dynamodb", endpoint_url=stack.info["aws_endpoint_url"], region_name=stack.info["region"],
                           aws_access_key_id="local", aws_secret_access_key="local").Table(stack.info["env"]["UNITS_TABLE"])
    table.put_item(Item=unit)
    try:
        found = civic(stack, "doctor", "--json")
        assert found.returncode == 1
        findings = json.loads(found.stdout)["findings"]
        missing = next(f for f in findings if f["en"].startswith("Wards/communes without a boundary"))
        assert missing["level"] == "fail" and missing["items"] == ["DEMO-W10"]
    finally:
        table.delete_item(Key={"code": "DEMO-W10"})
