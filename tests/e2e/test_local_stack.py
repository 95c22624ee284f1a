"""The local stack as a new user meets it: sign-in from a browser origin, taken ports, stopping, logs."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port
from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

TARGET = "AWSCognitoIdentityProviderService."


def _cognito(stack, action: str, payload: dict, origin: str | None = None) -> requests.Response:
    config = requests.get(stack.api + "/v1/config", timeout=10).json()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + action}
    if origin:
        headers["Origin"] = origin
    return requests.post(config["cognito_endpoint_url"], data=json.dumps(payload), headers=headers, timeout=30)


def test_the_browsers_preflight_to_cognito_is_answered(stack):
    """Exactly what Chromium sends before the page's sign-in POST (the page is on another origin)."""
    config = requests.get(stack.api + "/v1/config", timeout=10).json()
    assert config["cognito_endpoint_url"].startswith(stack.api)
    answer = requests.options(config["cognito_endpoint_url"], headers={
        "Origin": stack.web,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-amz-target",
    }, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] in ("*", stack.web)
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in answer.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "x-amz-target"} <= allowed


def test_sign_in_through_the_endpoint_the_page_uses_gives_a_token_the_api_accepts(stack):
    answer = _cognito(stack, "InitiateAuth", {
        "ClientId": stack.info["user_pool_client_id"], "AuthFlow": "USER_PASSWORD_AUTH",
        "AuthParameters": {"USERNAME": "officer01@demo.civicbridge.vn", "PASSWORD": "Demo@2026!"},
    }, origin=stack.web)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] in ("*", stack.web)
    token = answer.json()["AuthenticationResult"]["IdToken"]
    me = requests.get(stack.api + "/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.status_code == 200 and me.json()["role"] == "officer"

    wrong = _cognito(stack, "InitiateAuth", {
        "ClientId": stack.info["user_pool_client_id"], "AuthFlow": "USER_PASSWORD_AUTH",
        "AuthParameters": {"USERNAME": "officer01@demo.civicbridge.vn", "PASSWORD": "not-it"},
    })
    assert wrong.status_code == 400 and "NotAuthorized" in wrong.json()["__type"]


def test_admin_calls_are_refused_as_aws_refuses_unsigned_ones(stack):
    answer = _cognito(stack, "AdminCreateUser", {"UserPoolId": stack.info["user_pool_id"], "Username": "x@y.vn"})
    assert answer.status_code == 400
    assert answer.json()["__type"] == "MissingAuthenticationTokenException"
    users = stack.cognito.list_users(UserPoolId=stack.info["user_pool_id"], Filter='email = "x@y.vn"')["Users"]
    assert users == []


def test_log_lines_name_the_function_that_wrote_them(stack):
    """Functions run side by side in one process locally; each line still carries its own function."""
    log = stack.state_dir / "local.log"
    deadline = time.monotonic() + 60
    lines: list[dict] = []
    while time.monotonic() < deadline:  # the demo's reports are counted by the stats function at start
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        if any(line.get("message") == "stats" for line in lines):
            break
        time.sleep(0.5)
    stats = [line for line in lines if line.get("message") == "stats"]
    assert stats, "the stats function logged nothing"
    assert all("StatsFunction" in line["function_name"] for line in stats)
    terminal = stack.log_path.read_text()
    assert "citizen1@demo.civicbridge.vn" in terminal and str(log) in terminal
    assert '"function_name"' not in terminal  # the JSON logs went to the file, the banner stays readable


@pytest.mark.parametrize("taken", ["aws", "api", "web"])
def test_a_taken_port_stops_the_stack_at_once_naming_the_port_and_the_flag(taken, tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        ports = {"aws": free_port(), "api": free_port(), "web": free_port()}
        ports[taken] = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "civic_dev.cli", "local", "--state-dir", str(tmp_path), "--root", str(ROOT),
             *(arg for name, port in ports.items() for arg in (f"--{name}-port", str(port)))],
            capture_output=True, text=True, cwd=ROOT, timeout=120,  # a guard against the old hang only
        )
    assert result.returncode == 2, result.stderr
    assert f"Port {ports[taken]}" in result.stderr and f"--{taken}-port" in result.stderr
    assert not (tmp_path / "stack.json").exists()


def test_sigterm_stops_the_whole_stack(tmp_path):
    from tests.e2e.conftest import _start

    proc, info, _log, ports = _start(tmp_path, ("--no-demo",))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0  # a guard against hanging; the stack itself gives up after 8 s
    assert not Path(tmp_path / "stack.json").exists()
    for port in ports.values():  # every server let go of its port (SO_REUSEADDR: past TIME_WAIT, no listener)
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
