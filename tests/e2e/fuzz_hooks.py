"""Schemathesis hooks for tests/e2e/test_openapi_fuzz.py (loaded by `schemathesis run` via SCHEMATHESIS_HOOKS).

Every generated request goes out as the next role in turn — anonymous, citizen, officer, leader,
coordinator, admin — with that demo user's Cognito id token, so one run covers every route for every
role. The tokens come in CIVIC_FUZZ_TOKENS (JSON: role → token; null for anonymous).

Open311 submissions need a client's api_key: every other generated POST /open311/v2/requests.* gets
the demo client's key (CIVIC_FUZZ_OPEN311_KEY), so the fuzzer also reaches past the key check.
"""

from __future__ import annotations

import itertools
import json
import os

import schemathesis

ROLES: list[tuple[str, str | None]] = list(json.loads(os.environ.get("CIVIC_FUZZ_TOKENS", "{}")).items())
_turns = itertools.cycle(ROLES or [("anonymous", None)])
OPEN311_KEY = os.environ.get("CIVIC_FUZZ_OPEN311_KEY")
_with_key = itertools.cycle([True, False])


@schemathesis.auth(refresh_interval=None, retry_on=[])
class RoleRotation:
    def get(self, case, context):
        role, token = next(_turns)
        return token  # None: the request goes out without a token

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def map_body(context, body):
    operation = context.operation
    if (OPEN311_KEY and operation is not None and operation.method.upper() == "POST"
            and operation.path == "/open311/v2/{resource}" and isinstance(body, dict) and next(_with_key)):
        return {**body, "api_key": OPEN311_KEY}
    return body
