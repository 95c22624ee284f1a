"""Every AWS call the local stack makes, by who made it, service and operation (`make cost`).

The local stack runs the API, every function and the dispatcher in one process, and everything
outside it (a phone's presigned upload, a sign-in) reaches the embedded AWS over HTTP. Two taps
see all of it:

- in the process, botocore's `Endpoint._do_get_response` (one call per HTTP attempt, so retries
  count as AWS bills them): the service and operation from botocore's own model, and who called —
  the API or the function whose invocation the thread is running (`caller`), else the thread's name
  (the dispatcher's event-source pollers, which stand in for Lambda's);
- around moto's WSGI app, the requests that did not come through that tap (marked by a header):
  presigned S3 uploads, Cognito sign-ins, the JWKS the gateway's authorizer reads.

DynamoDB calls also carry an estimate of the capacity units they consume (on-demand pricing is per
unit, not per call): writes by the size of the larger of the item before and after, read from moto's
own tables (1 KB a unit, twice for transactions); reads by the size returned (4 KB a unit, half for
eventually consistent reads, twice for transactions).

Served by the web server as `GET /_local/meter` and `POST /_local/meter/reset` while `--meter` is on.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

HEADER = "x-civic-meter"
ACCOUNT = "123456789012"

_lock = threading.Lock()
_calls: Counter[tuple[str, str, str, str]] = Counter()  # (caller, trigger, service, operation) -> calls
_units: Counter[tuple[str, str, str, str]] = Counter()  # the same key -> DynamoDB RRU / WRU
_invocations: list[dict[str, Any]] = []
_current = threading.local()
_installed = False


@contextlib.contextmanager
def caller(name: str, trigger: str, memory_mb: int = 0) -> Iterator[None]:
    """Calls made by this thread inside the block are `name`'s (an invocation of a function or of the
    API); the invocation's duration is noted with its memory, for Lambda's GB-seconds."""
    if not _installed:
        yield
        return
    previous = getattr(_current, "who", None)
    _current.who = (name, trigger)
    t0, c0 = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        _current.who = previous
        # cpu_ms: this thread's CPU alone (moto answers in other threads), less sensitive to a busy machine
        with _lock:
            _invocations.append({"function": name, "trigger": trigger, "memory_mb": memory_mb,
                                 "duration_ms": (time.perf_counter() - t0) * 1000.0,
                                 "cpu_ms": (time.thread_time() - c0) * 1000.0})


def is_installed() -> bool:
    return _installed


def reset() -> None:
    with _lock:
        _calls.clear()
        _units.clear()
        _invocations.clear()


def snapshot() -> dict[str, Any]:
    with _lock:
        calls = [{"caller": c, "trigger": t, "service": s, "operation": o, "calls": n,
                  "units": round(_units.get((c, t, s, o), 0.0), 3)}
                 for (c, t, s, o), n in sorted(_calls.items())]
        return {"calls": calls, "invocations": list(_invocations)}


def _record(who: tuple[str, str], service: str, operation: str, units: float = 0.0) -> None:
    key = (who[0], who[1], service, operation)
    with _lock:
        _calls[key] += 1
        if units:
            _units[key] += units


def _who() -> tuple[str, str]:
    who = getattr(_current, "who", None)
    if who is not None:
        return who
    return (threading.current_thread().name, "")


# ------------------------------------------------------------------------------- the botocore tap

_original: Any = None


def install() -> None:
    """Patch botocore once, in this process."""
    global _installed, _original
    if _installed:
        return
    from botocore.endpoint import Endpoint

    original = _original = Endpoint._do_get_response

    def metered(self: Any, request: Any, operation_model: Any, context: Any) -> Any:
        request.headers[HEADER] = "1"
        service = operation_model.service_model.endpoint_prefix
        operation = operation_model.name
        who = _who()
        before = _item_sizes(operation, request.body) if service == "dynamodb" else None
        result = original(self, request, operation_model, context)
        units = 0.0
        if service == "dynamodb":
            try:
                units = _dynamodb_units(operation, request.body, result, before)
            except Exception:  # noqa: BLE001 - an estimate; never break a call for it
                units = 1.0
        if service == "sqs" and operation == "ReceiveMessage" and not (result[0] and result[0][1].get("Messages")):
            operation = "ReceiveMessage (empty)"
        _record(who, service, operation, units)
        return result

    Endpoint._do_get_response = metered  # type: ignore[method-assign]
    _installed = True


def uninstall() -> None:
    """Put botocore back (tests)."""
    global _installed
    if _installed:
        from botocore.endpoint import Endpoint

        Endpoint._do_get_response = _original  # type: ignore[method-assign]
        _installed = False
    reset()


# ------------------------------------------------------------------------------- the WSGI tap

def wsgi(app: Any) -> Any:
    """Count the requests moto gets from outside this process's botocore (phones, browsers, JWKS)."""

    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("HTTP_" + HEADER.upper().replace("-", "_")):
            service, operation = _classify(environ)
            _record(("client", "HTTP"), service, operation)
        return app(environ, start_response)

    return middleware


def _classify(environ: dict[str, Any]) -> tuple[str, str]:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    method = environ.get("REQUEST_METHOD", "")
    path = environ.get("PATH_INFO", "")
    if target.startswith("AWSCognitoIdentityProviderService."):
        return "cognito-idp", target.split(".", 1)[1]
    if target:
        prefix, _, op = target.partition(".")
        return prefix.split("_")[0].lower(), op
    if path.endswith("/.well-known/jwks.json"):
        return "cognito-idp", "JWKS"
    if method == "POST" and environ.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
        return "s3", "PostObject"
    if method in ("PUT", "GET", "HEAD", "DELETE"):
        return "s3", {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}[method]
    return "unknown", f"{method} {path[:40]}"


# ------------------------------------------------------------------------------- DynamoDB units

def _backend() -> Any:
    import os

    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[ACCOUNT][os.environ.get("AWS_REGION", "ap-southeast-1")]


def _stored_size(table: str, key: dict[str, Any]) -> int:
    """Bytes of the item as moto holds it now (0 when absent)."""
    try:
        item = _backend().get_item(table, key)
    except Exception:  # noqa: BLE001
        return 0
    return item.size() if item is not None else 0


def _key_of(table: str, item: dict[str, Any]) -> dict[str, Any]:
    t = _backend().get_table(table)
    key = {t.hash_key_attr: item[t.hash_key_attr]}
    if t.range_key_attr:
        key[t.range_key_attr] = item[t.range_key_attr]
    return key


def _writes(operation: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any], int, dict | None]]:
    """(table, key, factor, new item or None) for each item a write touches."""
    out: list[tuple[str, dict[str, Any], int, dict | None]] = []
    if operation == "PutItem":
        out.append((body["TableName"], _key_of(body["TableName"], body["Item"]), 1, body["Item"]))
    elif operation in ("UpdateItem", "DeleteItem"):
        out.append((body["TableName"], body["Key"], 1, None))
    elif operation == "TransactWriteItems":
        for entry in body.get("TransactItems", []):
            for kind, spec in entry.items():
                if kind == "Put":
                    out.append((spec["TableName"], _key_of(spec["TableName"], spec["Item"]), 2, spec["Item"]))
                else:  # Update, Delete, ConditionCheck: each a transactional write of its item
                    out.append((spec["TableName"], spec["Key"], 2, None))
    elif operation == "BatchWriteItem":
        for table, requests in body.get("RequestItems", {}).items():
            for r in requests:
                if "PutRequest" in r:
                    item = r["PutRequest"]["Item"]
                    out.append((table, _key_of(table, item), 1, item))
                elif "DeleteRequest" in r:
                    out.append((table, r["DeleteRequest"]["Key"], 1, None))
    return out


def _item_sizes(operation: str, raw: Any) -> list[int] | None:
    if operation not in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"):
        return None
    try:
        body = json.loads(raw)
        return [_stored_size(table, key) for table, key, _, _ in _writes(operation, body)]
    except Exception:  # noqa: BLE001
        return None


def _value_size(v: dict[str, Any]) -> int:
    (kind, value), = v.items()
    if kind == "S":
        return len(value.encode())
    if kind == "N":
        return len(str(value).lstrip("-").replace(".", "")) // 2 + 1
    if kind == "B":
        return len(value) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: x}) for x in value)
    if kind == "L":
        return 3 + sum(1 + _value_size(x) for x in value)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_size(x) for k, x in value.items())
    return 1


def _item_size(item: dict[str, Any]) -> int:
    return sum(len(k.encode()) + _value_size(v) for k, v in item.items())


def _dynamodb_units(operation: str, raw: Any, result: Any, before: list[int] | None) -> float:
    response = result[0][1] if result and result[0] else {}
    if "Error" in response and response["Error"].get("Code"):
        # A refused condition still consumes the write; other errors are estimated as one unit.
        pass
    body = json.loads(raw) if raw else {}
    if operation in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"):
        writes = _writes(operation, body)
        units = 0.0
        for i, (table, key, factor, new_item) in enumerate(writes):
            old = before[i] if before and i < len(before) else 0
            new = _item_size(new_item) if new_item is not None else _stored_size(table, key)
            units += factor * max(1, math.ceil(max(old, new) / 1024))
        return units
    consistent = body.get("ConsistentRead", False)
    if operation == "GetItem":
        size = _item_size(response.get("Item") or {})
        return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)
    if operation == "TransactGetItems":
        return sum(2 * max(1, math.ceil(_item_size(r.get("Item") or {}) / 4096)) for r in response.get("Responses", []))
    if operation == "BatchGetItem":
        units = 0.0
        for table, items in response.get("Responses", {}).items():
            factor = 1.0 if body.get("RequestItems", {}).get(table, {}).get("ConsistentRead") else 0.5
            units += sum(max(1, math.ceil(_item_size(i) / 4096)) * factor for i in items)
        return units or 0.5
    if operation in ("Query", "Scan"):
        items = response.get("Items", [])
        size = sum(_item_size(i) for i in items)
        count, scanned = response.get("Count", len(items)), response.get("ScannedCount", len(items))
        if scanned > count:  # a filter: the items read and dropped count too
            size = size * scanned / count if count else scanned * 512
        return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)
    return 0.0
