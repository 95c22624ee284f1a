"""The local stack, started once per test session exactly as `make run` starts it (a subprocess)."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import requests

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
# The suite submits many reports from the demo citizens and reads a lot from 127.0.0.1: its stacks get
# quotas no test reaches (still counted, so the path runs). tests/e2e/test_quotas.py lowers them again
# (a later --param wins).
GENEROUS_QUOTAS = tuple(arg for name in ("QuotaReportsPerHour", "QuotaReportsPerDay", "QuotaOpen311PerHour",
                                         "QuotaAnonymousReadsPerMinute", "QuotaFlagsPerDay")
                        for arg in ("--param", f"{name}=1000000"))


class Stack:
    def __init__(self, info: dict, log_path: Path, state_dir: Path, ports: dict):
        self.info = info
        self.api = info["api_url"]
        self.web = info["web_url"]
        self.log_path = log_path
        self.state_dir = state_dir
        self.ports = ports
        self.cognito = boto3.client("cognito-idp", endpoint_url=info["aws_endpoint_url"], region_name=info["region"])

    def login(self, username: str, password: str | None = None) -> str:
        if password is None:
            password = next(u["password"] for u in self.info["demo_users"] if u["username"] == username)
        auth = self.cognito.initiate_auth(
            ClientId=self.info["user_pool_client_id"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        return auth["AuthenticationResult"]["IdToken"]

    def settle(self) -> None:
        """Wait until the stack's functions have delivered everything written so far (and what that
        caused in turn): POST /_local/settle, which drains the dispatcher."""
        answer = requests.post(self.web + "/_local/settle", params={"timeout": 1500}, timeout=1600)
        assert answer.json()["settled"], "the dispatcher was still busy after 25 minutes"

    def wait_for(self, fetch, done, poll: float = 0.3):
        """`fetch()` until `done(value)`, and return the last value. Once the dispatcher has settled
        the answer is final: a slow machine makes this slower, never wrong."""
        value = fetch()
        for _ in range(20):  # the quick path: most waits end within a few polls
            if done(value):
                return value
            time.sleep(poll)
            value = fetch()
        self.settle()
        return fetch()

    def logs(self) -> str:
        """Everything the stack wrote: its terminal and its log file (the functions' and the API's logs)."""
        files = (self.log_path, self.state_dir / "local.log")
        return "\n".join(f.read_text(errors="replace") for f in files if f.exists())


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("stack")) as started:
        yield started


@contextlib.contextmanager
def running_stack(state_dir: Path, *extra_args: str, fresh: bool = True):
    """A local stack of its own in `state_dir` (tests that change shared data start one, e.g. the fuzzer);
    `extra_args` go to `civic local` (e.g. "--demo-reports", "300"). It starts empty (`--fresh`) unless
    `fresh=False`: then it restores what a stack before it kept in `state_dir`."""
    proc, info, log_path, ports = _start(state_dir, ("--fresh", *extra_args) if fresh else extra_args)
    try:
        yield Stack(info, log_path, state_dir, ports)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _start(state_dir: Path, extra_args: tuple[str, ...], attempts: int = 3):
    """Start `civic local` on free ports; a port taken between choosing and binding it (another test
    or program on a busy machine) makes the stack exit 2 at once, and then it is tried on new ports."""
    log_path = state_dir / "terminal.log"  # what the stack prints; its logs go to state_dir/local.log
    for attempt in range(1, attempts + 1):
        ports = {"api": free_port(), "web": free_port(), "aws": free_port()}
        cmd = [
            sys.executable, "-m", "civic_dev.cli", "local",
            "--api-port", str(ports["api"]), "--web-port", str(ports["web"]), "--aws-port", str(ports["aws"]),
            "--state-dir", str(state_dir), "--root", str(ROOT), *GENEROUS_QUOTAS, *extra_args,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
        (state_dir / "stack.json").unlink(missing_ok=True)  # left behind by a stack that was killed
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        state = state_dir / "stack.json"
        deadline = time.monotonic() + 240
        while not state.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        else:
            info = json.loads(state.read_text())  # written atomically by the stack
            requests.get(info["api_url"] + "/v1/health", timeout=10).raise_for_status()
            return proc, info, log_path, ports
        output = log_path.read_text(errors="replace")
        if proc.poll() == 2 and " is in use " in output and attempt < attempts:
            continue
        proc.kill()
        raise RuntimeError("local stack did not start:\n" + output[-5000:])
    raise AssertionError("unreachable")
