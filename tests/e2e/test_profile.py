"""A province in an afternoon, on the local stack: `civic local --profile examples/dienbien-phu` loads the
example city's units, boundaries, rules, staff and settings; `civic doctor` finds nothing to fix; a new
officer's temporary password works once and asks for their own; a citizen's report in Mường Thanh is
routed to that ward; and after `kill -9` and a start on the same state the report, the user and the token
are still there."""

import json
import os
import signal
import subprocess
import sys
import uuid

import boto3
import pytest
import requests

from tests.e2e.conftest import ROOT, _start, running_stack

pytestmark = pytest.mark.e2e
PROFILE = ROOT / "examples" / "dienbien-phu"


def civic(stack, *args):
    return subprocess.run([sys.executable, "-m", "civic_dev.cli", *args, "--state-dir", str(stack.state_dir)],
                          capture_output=True, text=True, timeout=180, cwd=ROOT)


def cognito(stack):
    return boto3.client("cognito-idp", endpoint_url=stack.info["aws_endpoint_url"], region_name=stack.info["region"],
                        aws_access_key_id="local", aws_secret_access_key="local")


def first_sign_in(stack, email, temporary, chosen):
    """Cognito's NEW_PASSWORD_REQUIRED challenge, as the web page answers it; the id token."""
    idp, client = cognito(stack), stack.info["user_pool_client_id"]
    started = idp.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH",
                                AuthParameters={"USERNAME": email, "PASSWORD": temporary})
    assert started["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    done = idp.respond_to_auth_challenge(ClientId=client, ChallengeName="NEW_PASSWORD_REQUIRED", Session=started["Session"],
                                         ChallengeResponses={"USERNAME": email, "NEW_PASSWORD": chosen})
    return done["AuthenticationResult"]["IdToken"]


def test_the_example_city_from_its_profile_is_ready_routes_and_survives_a_kill(tmp_path):
    state = tmp_path / "dienbien"
    state.mkdir()
    with running_stack(state, "--profile", str(PROFILE)) as stack:
        config = requests.get(stack.api + "/v1/config", timeout=10).json()
        assert config["province_name"]["vi"].startswith("Thành phố Điện Biên Phủ") and config["tracking_prefix"] == "DB"
        assert config["map_center"] == [21.386, 103.02] and config["map_zoom"] == 14
        doctor = civic(stack, "doctor")
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert "All 7 wards/communes have a boundary" in doctor.stdout and "✘" not in doctor.stdout

        staff = {u["username"]: u for u in stack.info["demo_users"]}
        officer = staff["canbo.muongthanh@dienbienphu.example.vn"]
        token = first_sign_in(stack, officer["username"], officer["password"], "Canbo-MuongThanh1")
        assert requests.get(stack.api + "/v1/staff/inbox", headers={"Authorization": f"Bearer {token}"},
                            timeout=10).status_code == 200

        # A citizen signs up (no demo citizens in a profile) and reports in Mường Thanh ward.
        email = f"dan.{uuid.uuid4().hex[:8]}@example.vn"
        idp = cognito(stack)
        idp.sign_up(ClientId=stack.info["user_pool_client_id"], Username=email, Password="Nguoidan-2026",
                    UserAttributes=[{"Name": "email", "Value": email}])
        idp.admin_confirm_sign_up(UserPoolId=stack.info["user_pool_id"], Username=email)
        citizen = stack.login(email, "Nguoidan-2026")
        created = requests.post(stack.api + "/v1/reports", json={
            "category": "traffic", "description": "Ổ gà lớn trên đường Võ Nguyên Giáp", "lat": 21.3817, "lon": 103.0167},
            headers={"Authorization": f"Bearer {citizen}", "Idempotency-Key": "dienbien-0001"}, timeout=10)
        assert created.status_code == 201, created.text
        report = created.json()
        assert report["tracking_code"].startswith("DB-")
        view = stack.wait_for(lambda: requests.get(f"{stack.api}/v1/reports/{report['id']}", timeout=5).json(),
                              lambda v: v["status"] != "submitted")
        assert (view["status"], view["unit_code"]) == ("routed", "DBP-MUONGTHANH")
        os.kill(stack.info["pid"], signal.SIGKILL)  # a crash: nothing is stopped cleanly

    proc, info, _, _ = _start(state, ("--profile", str(PROFILE)))  # not --fresh: what was kept comes back
    try:
        api = info["api_url"]
        again = requests.get(f"{api}/v1/reports/{report['id']}", headers={"Authorization": f"Bearer {citizen}"},
                             timeout=10)
        assert again.status_code == 200 and again.json()["unit_code"] == "DBP-MUONGTHANH"
        assert requests.get(f"{api}/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
        replay = requests.post(api + "/v1/reports", json={
            "category": "traffic", "description": "Ổ gà lớn trên đường Võ Nguyên Giáp", "lat": 21.3817, "lon": 103.0167},
            headers={"Authorization": f"Bearer {citizen}", "Idempotency-Key": "dienbien-0001"}, timeout=10)
        assert replay.json()["id"] == report["id"]
        assert json.loads((state / "stack.json").read_text())["user_pool_id"] == info["user_pool_id"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
