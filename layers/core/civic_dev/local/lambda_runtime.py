"""What the Lambda runtime gives a handler, locally: the context object, a function as the template
declares it (loaded once, like a warm instance), an invocation's record, and the JSON shapes of events."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civic_dev.local.loader import load_module

log = logging.getLogger("civic_dev.local.dispatcher")

DEFAULT_ACCOUNT = "123456789012"
SERVERLESS_FUNCTION = "AWS::Serverless::Function"


# --------------------------------------------------------------------------------------------------
# Lambda context and invocation records
# --------------------------------------------------------------------------------------------------


class LambdaContext:
    """What the Python Lambda runtime passes as ``context`` (the attributes Powertools reads)."""

    def __init__(self, function_name: str, function_arn: str, memory_mb: int, timeout_s: float):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = int(memory_mb)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = (
            f"{dt.datetime.now(dt.UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        )
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = time.monotonic() + float(timeout_s)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class InvocationRecord:
    """One handler invocation, as kept in :attr:`Dispatcher.invocations` (no payloads)."""

    function: str  # logical id in the template
    function_name: str
    trigger: str  # "S3" | "DynamoDB" | "SQS" | "Schedule" | "ScheduleV2" | "Direct"
    event_name: str  # the key under the function's Events
    count: int  # records in the event (1 for S3 / schedules)
    request_id: str
    outcome: str = "ok"  # "ok" | "partial" | "error"
    duration_ms: float = 0.0
    error_type: str | None = None
    error_message: str | None = None  # kept in memory for tests; never logged
    failed_ids: list[str] = field(default_factory=list)
    attempt: int = 1
    response: Any = None


class HandlerError(Exception):
    pass



@dataclass
class LambdaFunction:
    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler_spec: str
    timeout: float
    memory: int
    async_max_retries: int
    async_on_failure: Any  # SQS/SNS ARN (or intrinsic): OnFailure destination or DeadLetterQueue
    async_on_failure_is_dlq: bool
    lock: threading.Lock = field(default_factory=threading.Lock)
    _handler: Callable[..., Any] | None = None

    def load(self) -> Callable[..., Any]:
        if self._handler is not None:
            return self._handler
        module_path, _, attr = self.handler_spec.rpartition(".")
        if not module_path or not attr:
            raise ValueError(f"{self.logical_id}: bad Handler {self.handler_spec!r}")
        path = (self.code_dir / (module_path.replace(".", "/") + ".py")).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"{self.logical_id}: no handler file {path}")
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
        name = f"_civic_fn_{re.sub(r'[^0-9A-Za-z_]', '_', self.logical_id)}_{digest}"
        module = load_module(name, path)
        handler = getattr(module, attr, None)
        if not callable(handler):
            raise AttributeError(f"{path} has no callable {attr!r}")
        self._handler = handler
        return handler


def iso_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_partial_response(response: Any, valid_ids: list[str]) -> list[str]:
    """``{"batchItemFailures": [{"itemIdentifier": id}, ...]}`` → the ids. As in Lambda, an empty or
    missing list is success, and a malformed response or an unknown/empty id fails the whole batch."""
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return []
    items = response["batchItemFailures"]
    if not isinstance(items, list):
        raise HandlerError("batchItemFailures is not a list")
    out = []
    valid = set(valid_ids)
    for it in items:
        ident = it.get("itemIdentifier") if isinstance(it, dict) else None
        if not ident or ident not in valid:
            raise HandlerError("invalid itemIdentifier in batchItemFailures")
        out.append(str(ident))
    return out


# --------------------------------------------------------------------------------------------------
# Workers
# --------------------------------------------------------------------------------------------------



def jsonable(value: Any) -> Any:
    """boto3's decoded shapes → what Lambda puts in its JSON event (bytes base64, datetimes epoch)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dt.datetime):
        return int(value.timestamp())
    if isinstance(value, set):
        return [jsonable(v) for v in value]
    return value
