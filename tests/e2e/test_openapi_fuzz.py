"""Schemathesis against a local stack of its own, from the OpenAPI document the stack serves.

Every generated request goes out as one of the roles in turn (anonymous, citizen, officer, leader,
coordinator, admin: tests/e2e/fuzz_hooks.py). Checks: no 5xx, every status and content type is
documented, every body and required header matches its schema.

`make test` runs the short profile (a few examples per operation: ≥ 1,000 requests, about a minute);
`make fuzz` runs the long one (CIVIC_FUZZ=long: many more examples and stateful sequences).
The fuzzer creates, changes and deletes units and rules, so it gets its own stack, not the shared one.
"""

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import requests
import yaml

from tests.e2e.conftest import running_stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
])
PROFILES = {
    # max examples per operation and phase; the least total requests the run must have made; the seed
    # (the short run is a repeatable regression check in `make test`; the long run explores anew each
    # time, and prints its seed). CIVIC_FUZZ_SEED overrides both.
    "short": {"max_examples": 3, "min_requests": 1000, "timeout": 420, "seed": "20261123"},
    "long": {"max_examples": 200, "min_requests": 6000, "timeout": 3000, "seed": None},
}
PROFILE = PROFILES[os.environ.get("CIVIC_FUZZ", "short")]
USERS = {
    "citizen": "citizen1@demo.civicbridge.vn",
    "officer": "officer01@demo.civicbridge.vn",
    "leader": "leader01@demo.civicbridge.vn",
    "coordinator": "coordinator@demo.civicbridge.vn",
    "admin": "admin@demo.civicbridge.vn",
}
METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("fuzz-stack")) as started:
        yield started


def test_served_document_is_openapi_yaml(fuzz_stack):
    response = requests.get(fuzz_stack.api + "/v1/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.json() == yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PROPFIND"])
def test_any_method_is_answered_in_the_error_shape(fuzz_stack, method):
    """Schemathesis tries methods no route has: the gateway answers 405 JSON (http.server alone said 501 HTML)."""
    response = requests.request(method, fuzz_stack.api + "/v1/health", timeout=10)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "GET"


def _operations(spec: dict) -> dict[tuple[str, str], re.Pattern]:
    """(METHOD, path template) → a pattern matching its concrete URLs' paths."""
    return {
        (method.upper(), path): re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "$")
        for path, item in spec["paths"].items()
        for method in item
        if method in METHODS
    }


@pytest.mark.timeout(PROFILE["timeout"] + 120)  # the run, plus the stack's start and the logins
def test_schemathesis_finds_no_server_error(fuzz_stack, tmp_path):
    profile = PROFILE
    tokens = {"anonymous": None, **{role: fuzz_stack.login(user) for role, user in USERS.items()}}
    har = tmp_path / "requests.har"
    cmd = [
        str(Path(sys.executable).with_name("schemathesis")), "run", fuzz_stack.api + "/v1/openapi.json",
        "--url", fuzz_stack.api,
        "--checks", CHECKS,
        "--max-examples", str(profile["max_examples"]),
        # One worker: the stack is one process on a 2-core machine (and Hypothesis' lambda
        # descriptions are not thread-safe on Python 3.11).
        "--workers", "1",
        "--request-timeout", "20",
        "--generation-with-security-parameters", "false",  # the hook sends real tokens
        "--generation-database", "none",
        "--report", "har", "--report-har-path", str(har),
        "--no-color",
    ]
    seed = os.environ.get("CIVIC_FUZZ_SEED") or profile["seed"]
    if seed:
        cmd += ["--seed", seed]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(ROOT / "tests/e2e/fuzz_hooks.py"),
        "CIVIC_FUZZ_TOKENS": json.dumps(tokens),
        "CIVIC_FUZZ_OPEN311_KEY": fuzz_stack.info.get("open311_api_key") or "",
    }
    # In tmp_path: schemathesis keeps a crash cache in ./.schemathesis/.
    run = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=profile["timeout"])
    report = run.stdout[-20000:] + run.stderr[-5000:]
    assert run.returncode == 0, f"schemathesis found problems (exit {run.returncode}):\n{report}"

    entries = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
    assert len(entries) >= profile["min_requests"], report
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    reached = {
        key
        for entry in entries
        for key, pattern in _operations(spec).items()
        if entry["request"]["method"] == key[0] and pattern.match(requests.utils.urlparse(entry["request"]["url"]).path)
    }
    # Schemathesis reads the document from GET /v1/openapi.json and does not fuzz that URL itself
    # (test_served_document_is_openapi_yaml checks it).
    missed = sorted(set(_operations(spec)) - reached - {("GET", "/v1/openapi.json")})
    assert not missed, f"operations schemathesis never called: {missed}"
    statuses = Counter(entry["response"]["status"] for entry in entries)
    assert not any(status >= 500 for status in statuses), statuses
    # Both sides of the API were reached: successes and refusals.
    assert {200, 400, 401, 403, 404} <= set(statuses), statuses
    summary = next((line.strip() for line in run.stdout.splitlines() if " in " in line and "==" in line), "")
    print(f"\nschemathesis: {len(entries)} requests over {len(reached)} operations, by status "
          f"{dict(sorted(statuses.items()))}; {summary}")
