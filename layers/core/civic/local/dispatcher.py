"""The local Lambda dispatcher: turns S3 objects, DynamoDB stream records, SQS messages and
schedules in the local (moto) AWS into the events Lambda would deliver, and invokes the handlers in
``functions/`` in this process, as the SAM template maps them.

moto never runs Python Lambda code (it would need docker), so the local stack runs this instead. It
reads every ``AWS::Serverless::Function`` of the SAM template (``CodeUri``, ``Handler``, ``Timeout``,
``MemorySize``, ``Events``, ``DeadLetterQueue``, ``EventInvokeConfig``; ``Globals.Function`` too) and
for each event source:

``S3``
    One poller per mapped bucket lists the bucket (``list_objects_v2``) every ``poll_interval`` and
    remembers ``key -> (etag, size, last-modified)``. A new or changed key is an ``ObjectCreated``
    event (``Put``; ``CompleteMultipartUpload`` when the ETag has a ``-N`` part suffix), a vanished key
    an ``ObjectRemoved:Delete`` event. The bucket is snapshotted in :meth:`Dispatcher.start`, so, as in
    AWS, objects that existed before the notification was configured are not delivered (pass
    ``deliver_existing_objects=True`` to deliver them). moto's own notifications
    (``moto/s3/notifications.py``) were not used: for Lambda targets moto tries to run the function
    in docker, and its SQS / EventBridge targets would need resources the template does not declare;
    they also only work when moto runs in this very process. Polling works against any endpoint.
    Delivery is an *asynchronous invocation*: see below.

``DynamoDB``
    One reader per mapping follows every shard of the stream (``describe_stream``,
    ``get_shard_iterator`` at ``StartingPosition`` taken in :meth:`Dispatcher.start`, then
    ``get_records``). Records are delivered in order, ``BatchSize`` at a time, after
    ``FilterCriteria``. With ``ReportBatchItemFailures`` a partial batch response commits the records
    before the first failed ``itemIdentifier`` and retries from it; a raised exception (or an invalid
    partial response) retries the whole batch (halved first when ``BisectBatchOnFunctionError``).
    After ``MaximumRetryAttempts`` (default -1: retry forever, as AWS does until the record expires)
    the batch is skipped with an error log naming its sequence numbers, and sent to
    ``DestinationConfig.OnFailure`` (SQS/SNS) when configured. The shard waits while it retries.

``SQS``
    One consumer per mapping long-polls the queue (``WaitTimeSeconds=sqs_wait_seconds``) for up to
    ``BatchSize`` messages. Messages not matching ``FilterCriteria`` are deleted (as Lambda does).
    Succeeded messages are deleted (once); failed ones (the whole batch on an exception, the reported
    ones with ``ReportBatchItemFailures``) get their visibility set to ``sqs_retry_delay`` seconds so
    they come back soon, and the queue's own ``RedrivePolicy`` (moto implements ``maxReceiveCount``)
    moves them to the dead-letter queue.

``Schedule`` / ``ScheduleV2``
    ``rate(N unit)`` and ``cron(min hour dom month dow year)`` (UTC, or ``ScheduleExpressionTimezone``)
    fire an EventBridge ``Scheduled Event`` (or the declared ``Input``) as an asynchronous invocation.
    :meth:`Dispatcher.fire_schedule` fires one now.

Asynchronous invocations (S3, schedules) run on one worker per function; an exception is retried
``EventInvokeConfig.MaximumRetryAttempts`` times (default 2) after ``async_retry_delay`` * 1, 2, 4...
seconds, then the event is dropped with an error log, or sent to ``EventInvokeConfig.DestinationConfig
.OnFailure`` / ``DeadLetterQueue`` (SQS or SNS) when configured.

Invocations of one function never overlap (one warm "instance" per function, so module-level state
such as Powertools metrics stays consistent); different functions run concurrently. Each invocation
gets a JSON round-tripped copy of its event and a Lambda-like ``context``; a response that does not
serialise to JSON is an error, as in Lambda. Every invocation is logged in one line on the
``civic.local.dispatcher`` logger (function, trigger, record count, duration, outcome, error type),
never with payloads; tracebacks go to DEBUG. :attr:`Dispatcher.invocations` keeps the records.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import logging
import math
import os
import re
import threading
import time
import traceback
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Queue
from typing import Any
from urllib.parse import quote_plus

import boto3
from botocore.config import Config

from civic.local import logcontext
from civic.local.loader import load_module

__all__ = [
    "Dispatcher",
    "InvocationRecord",
    "LambdaContext",
    "event_matches_pattern",
    "record_matches_filters",
    "CronExpression",
    "parse_schedule",
]

log = logging.getLogger("civic.local.dispatcher")


DEFAULT_ACCOUNT = "123456789012"
_SERVERLESS_FUNCTION = "AWS::Serverless::Function"


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
            f"{dt.datetime.now(dt.timezone.utc):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
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


class _HandlerError(Exception):
    pass


# --------------------------------------------------------------------------------------------------
# Event filtering (Lambda FilterCriteria / EventBridge pattern subset)
# --------------------------------------------------------------------------------------------------

_MISSING = object()


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _match_numeric(cond: list[Any], value: Any) -> bool:
    if not _is_number(value):
        return False
    ops = {
        "=": lambda a, b: a == b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    for i in range(0, len(cond) - 1, 2):
        op, bound = cond[i], cond[i + 1]
        if op not in ops or not ops[op](value, bound):
            return False
    return True


def _wildcard_to_regex(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$", re.S)


def _match_one(matcher: Any, value: Any) -> bool:
    """Does one entry of a pattern's value list match one (scalar) event value?"""
    if isinstance(matcher, dict):
        if value is _MISSING:
            return "exists" in matcher and matcher["exists"] is False
        if "exists" in matcher:
            return bool(matcher["exists"])
        if "prefix" in matcher:
            p = matcher["prefix"]
            if isinstance(p, dict) and "equals-ignore-case" in p:
                return isinstance(value, str) and value.lower().startswith(p["equals-ignore-case"].lower())
            return isinstance(value, str) and value.startswith(p)
        if "suffix" in matcher:
            s = matcher["suffix"]
            if isinstance(s, dict) and "equals-ignore-case" in s:
                return isinstance(value, str) and value.lower().endswith(s["equals-ignore-case"].lower())
            return isinstance(value, str) and value.endswith(s)
        if "equals-ignore-case" in matcher:
            return isinstance(value, str) and value.lower() == str(matcher["equals-ignore-case"]).lower()
        if "wildcard" in matcher:
            return isinstance(value, str) and bool(_wildcard_to_regex(matcher["wildcard"]).match(value))
        if "numeric" in matcher:
            return _match_numeric(matcher["numeric"], value)
        if "anything-but" in matcher:
            ab = matcher["anything-but"]
            if isinstance(ab, dict):
                return not _match_one(ab, value)
            if not isinstance(ab, list):
                ab = [ab]
            return not any(_match_one(x, value) for x in ab)
        raise ValueError(f"unsupported filter operator {sorted(matcher)}")
    if value is _MISSING:
        return False
    if _is_number(matcher) and _is_number(value):
        return float(matcher) == float(value)
    return matcher == value and type(matcher) is type(value)


def event_matches_pattern(pattern: dict[str, Any], event: Any) -> bool:
    """EventBridge-style matching as Lambda event filtering does it: every key of ``pattern`` must
    match; a list of matchers matches when any matches (any element when the event value is a list);
    supported operators: exact values, ``prefix``, ``suffix``, ``equals-ignore-case``, ``wildcard``,
    ``anything-but``, ``numeric``, ``exists``; nested objects."""
    if not isinstance(pattern, dict):
        raise ValueError("a filter pattern must be a JSON object")
    for key, sub in pattern.items():
        value = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        if isinstance(sub, dict):
            if value is _MISSING or not isinstance(value, dict):
                # a nested pattern on a missing object only matches if it only asks for absence
                if not _only_absence(sub):
                    return False
                continue
            if not event_matches_pattern(sub, value):
                return False
        elif isinstance(sub, list):
            values = value if isinstance(value, list) else [value]
            if isinstance(value, list) and not value:
                values = [_MISSING]
            if not any(_match_one(m, v) for m in sub for v in values):
                return False
        else:
            raise ValueError(f"filter pattern values must be lists or objects (key {key!r})")
    return True


def _only_absence(pattern: dict[str, Any]) -> bool:
    for sub in pattern.values():
        if isinstance(sub, dict):
            if not _only_absence(sub):
                return False
        elif isinstance(sub, list):
            if not any(isinstance(m, dict) and m.get("exists") is False for m in sub):
                return False
    return True


def record_matches_filters(patterns: list[dict[str, Any]], record: dict[str, Any], source: str) -> bool:
    """Lambda semantics: no filters → everything; several → any. For SQS a ``body`` pattern is
    matched against the parsed JSON body (a non-JSON body only matches plain string values)."""
    if not patterns:
        return True
    subject = record
    if source == "SQS":
        subject = dict(record)
        try:
            subject["body"] = json.loads(record.get("body", ""))
        except (TypeError, ValueError):
            pass
    return any(event_matches_pattern(p, subject) for p in patterns)


def _parse_filter_criteria(props: dict[str, Any]) -> list[dict[str, Any]]:
    filters = ((props.get("FilterCriteria") or {}).get("Filters")) or []
    out = []
    for f in filters:
        pattern = f.get("Pattern")
        if isinstance(pattern, str):
            pattern = json.loads(pattern)
        if not isinstance(pattern, dict):
            raise ValueError(f"unsupported FilterCriteria pattern {pattern!r}")
        out.append(pattern)
    return out


# --------------------------------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------------------------------

_MONTHS = {m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
_DAYS = {d: i + 1 for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}


class CronExpression:
    """AWS ``cron(Minutes Hours Day-of-month Month Day-of-week Year)``: ``*``, ``?``, lists, ranges,
    steps and names. ``L``, ``W`` and ``#`` are not supported (ValueError)."""

    _RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2199)]

    def __init__(self, body: str):
        parts = body.split()
        if len(parts) != 6:
            raise ValueError(f"cron() needs 6 fields, got {body!r}")
        self.fields: list[set[int] | None] = []
        for i, (part, (lo, hi)) in enumerate(zip(parts, self._RANGES)):
            names = _MONTHS if i == 3 else _DAYS if i == 4 else {}
            self.fields.append(self._parse(part.upper(), lo, hi, names))

    @staticmethod
    def _parse(part: str, lo: int, hi: int, names: dict[str, int]) -> set[int] | None:
        if part in ("*", "?"):
            return None
        if any(c in part for c in "LW#"):
            raise ValueError(f"unsupported cron token {part!r}")

        def num(s: str) -> int:
            v = names.get(s)
            return v if v is not None else int(s)

        out: set[int] = set()
        for item in part.split(","):
            step = 1
            if "/" in item:
                item, st = item.split("/", 1)
                step = int(st)
            if item == "*":
                a, b = lo, hi
            elif "-" in item:
                x, y = item.split("-", 1)
                a, b = num(x), num(y)
            else:
                a = num(item)
                b = hi if step != 1 else a
            if b < a:  # wrap-around ranges such as FRI-MON
                out.update(range(a, hi + 1, step))
                out.update(range(lo, b + 1, step))
            else:
                out.update(range(a, b + 1, step))
        return out

    def matches(self, t: dt.datetime) -> bool:
        minute, hour, dom, month, dow, year = self.fields
        aws_dow = (t.weekday() + 1) % 7 + 1  # SUN=1 .. SAT=7
        for allowed, v in ((minute, t.minute), (hour, t.hour), (month, t.month), (year, t.year)):
            if allowed is not None and v not in allowed:
                return False
        if dom is not None and t.day not in dom:
            return False
        if dow is not None and aws_dow not in dow:
            return False
        return True


def parse_schedule(expr: str) -> tuple[str, Any]:
    """``rate(5 minutes)`` → ("rate", 300.0); ``cron(...)`` → ("cron", CronExpression);
    ``at(...)`` (one-time, ScheduleV2) → ("at", datetime)."""
    expr = expr.strip()
    m = re.fullmatch(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)", expr)
    if m:
        n = int(m.group(1))
        unit = {"minute": 60, "hour": 3600, "day": 86400}[m.group(2).rstrip("s")]
        return "rate", float(n * unit)
    m = re.fullmatch(r"cron\((.*)\)", expr)
    if m:
        return "cron", CronExpression(m.group(1))
    m = re.fullmatch(r"at\((.*)\)", expr)
    if m:
        return "at", dt.datetime.fromisoformat(m.group(1))
    raise ValueError(f"unsupported schedule expression {expr!r}")


# --------------------------------------------------------------------------------------------------
# Functions and their event sources as read from the template
# --------------------------------------------------------------------------------------------------


@dataclass
class _Function:
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


@dataclass
class _Mapping:
    function: _Function
    event_name: str
    type: str
    props: dict[str, Any]


class _Resolver:
    """Resolves the long-form intrinsics the template uses to physical names and ARNs."""

    def __init__(self, sam: dict[str, Any], physical_ids: dict[str, str], stream_arns: dict[str, str],
                 region: str, account: Callable[[], str], ddb: Any):
        self.resources = sam.get("Resources", {}) or {}
        self.params = sam.get("Parameters", {}) or {}
        self.physical_ids = physical_ids
        self.stream_arns = stream_arns
        self.region = region
        self._account = account
        self._ddb = ddb

    @property
    def account(self) -> str:
        return self._account()

    def type_of(self, logical: str) -> str:
        return (self.resources.get(logical) or {}).get("Type", "")

    def ref(self, logical: str) -> str:
        if logical == "AWS::Region":
            return self.region
        if logical == "AWS::AccountId":
            return self.account
        if logical == "AWS::Partition":
            return "aws"
        if logical == "AWS::StackName":
            return self.physical_ids.get("AWS::StackName", "local")
        if logical in self.physical_ids:
            return self.physical_ids[logical]
        if logical in self.params and "Default" in self.params[logical]:
            return str(self.params[logical]["Default"])
        raise KeyError(f"no physical id for {logical!r}")

    def get_att(self, logical: str, attr: str) -> str:
        rtype = self.type_of(logical)
        if attr == "StreamArn":
            if logical in self.stream_arns:
                return self.stream_arns[logical]
            table = self.ref(logical)
            arn = self._ddb.describe_table(TableName=table)["Table"].get("LatestStreamArn")
            if not arn:
                raise KeyError(f"table {table} has no stream")
            return arn
        if attr == "Arn":
            phys = self.ref(logical)
            if phys.startswith("arn:"):
                return phys
            if rtype == "AWS::SQS::Queue":
                return self.queue_arn(phys)
            if rtype == "AWS::S3::Bucket":
                return f"arn:aws:s3:::{phys}"
            if rtype == "AWS::DynamoDB::Table":
                return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{phys}"
            if rtype in (_SERVERLESS_FUNCTION, "AWS::Lambda::Function"):
                return f"arn:aws:lambda:{self.region}:{self.account}:function:{phys}"
            if rtype == "AWS::SNS::Topic":
                return f"arn:aws:sns:{self.region}:{self.account}:{phys}"
        if attr == "QueueName" and rtype == "AWS::SQS::Queue":
            return self.ref(logical).rstrip("/").rsplit("/", 1)[-1]
        if attr == "QueueUrl":
            return self.ref(logical)
        raise KeyError(f"cannot resolve Fn::GetAtt {logical}.{attr}")

    def queue_arn(self, phys: str) -> str:
        if phys.startswith("arn:"):
            return phys
        name = phys.rstrip("/").rsplit("/", 1)[-1]
        return f"arn:aws:sqs:{self.region}:{self.account}:{name}"

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            (k, v), = value.items()
            if k == "Ref":
                return self.ref(v)
            if k == "Fn::GetAtt":
                logical, attr = (v.split(".", 1) if isinstance(v, str) else v)
                return self.get_att(logical, attr)
            if k == "Fn::Sub":
                text, extra = (v, {}) if isinstance(v, str) else (v[0], v[1])
                extra = {n: self.resolve(x) for n, x in extra.items()}

                def sub(m: re.Match[str]) -> str:
                    name = m.group(1)
                    if name in extra:
                        return str(extra[name])
                    if "." in name and not name.startswith("AWS::"):
                        lg, at = name.split(".", 1)
                        return self.get_att(lg, at)
                    return self.ref(name)

                return re.sub(r"\$\{([^}!][^}]*)\}", sub, text)
            if k == "Fn::Join":
                sep, items = v
                return sep.join(str(self.resolve(x)) for x in items)
        return value


# --------------------------------------------------------------------------------------------------
# The dispatcher
# --------------------------------------------------------------------------------------------------


class Dispatcher:
    """Delivers local AWS events to the handlers the SAM template maps them to.

    ``sam``: the template as a dict (long-form intrinsics); ``template_dir``: where ``CodeUri`` paths
    start; ``physical_ids``: logical id → physical id (table/bucket names, queue URLs, topic ARNs,
    function names); ``stream_arns``: table logical id → stream ARN (looked up with
    ``describe_table`` when missing). ``poll_interval`` is the S3/stream polling period.
    """

    def __init__(
        self,
        sam: dict[str, Any],
        template_dir: Path,
        physical_ids: dict[str, str],
        stream_arns: dict[str, str],
        endpoint_url: str,
        region: str,
        poll_interval: float = 0.2,
        *,
        sqs_wait_seconds: int = 1,
        sqs_retry_delay: int = 1,
        stream_retry_delay: float = 0.2,
        async_retry_delay: float = 0.5,
        run_schedules: bool = True,
        deliver_existing_objects: bool = False,
        functions: Iterable[str] | None = None,
    ):
        self.sam = sam
        self.template_dir = Path(template_dir)
        self.physical_ids = dict(physical_ids)
        self.stream_arns = dict(stream_arns or {})
        self.endpoint_url = endpoint_url
        self.region = region
        self.poll_interval = poll_interval
        self.sqs_wait_seconds = int(sqs_wait_seconds)
        self.sqs_retry_delay = int(sqs_retry_delay)
        self.stream_retry_delay = stream_retry_delay
        self.async_retry_delay = async_retry_delay
        self.run_schedules = run_schedules
        self.deliver_existing_objects = deliver_existing_objects
        self._only = set(functions) if functions is not None else None

        #: The most recent invocations (newest last; the oldest are dropped after 10,000).
        self.invocations: deque[InvocationRecord] = deque(maxlen=10_000)
        #: (function logical id, trigger, outcome) -> number of invocations, never truncated.
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self._inv_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = False
        self._activity_lock = threading.Lock()
        self._last_activity = time.monotonic()
        self._account: str | None = None
        self._draining = 0
        self.idle_poll_interval = max(poll_interval, 1.0)

        session_kw: dict[str, Any] = {"region_name": region}
        if not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
            session_kw.update(aws_access_key_id="testing", aws_secret_access_key="testing")
        session = boto3.session.Session(**session_kw)
        cfg = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5,
                     read_timeout=max(10, self.sqs_wait_seconds + 10), max_pool_connections=50)
        mk = lambda svc: session.client(svc, endpoint_url=endpoint_url, config=cfg)  # noqa: E731
        self.s3 = mk("s3")
        self.ddb = mk("dynamodb")
        self.streams = mk("dynamodbstreams")
        self.sqs = mk("sqs")
        self.sns = mk("sns")
        self.sts = mk("sts")

        self.resolver = _Resolver(sam, self.physical_ids, self.stream_arns, region, self._account_id, self.ddb)
        self.functions: dict[str, _Function] = {}
        self.mappings: list[_Mapping] = []
        self._read_template()

        self._async: dict[str, _AsyncInvoker] = {}
        self._sources: list[_Source] = []
        self._schedules: list[_ScheduleSource] = []

    # ---- template -------------------------------------------------------------------------------

    def _account_id(self) -> str:
        if self._account is None:
            try:
                self._account = self.sts.get_caller_identity()["Account"]
            except Exception:  # noqa: BLE001
                self._account = DEFAULT_ACCOUNT
        return self._account

    def _read_template(self) -> None:
        glob = ((self.sam.get("Globals") or {}).get("Function")) or {}
        for logical, res in (self.sam.get("Resources") or {}).items():
            if res.get("Type") != _SERVERLESS_FUNCTION:
                continue
            if self._only is not None and logical not in self._only:
                continue
            props = {**glob, **(res.get("Properties") or {})}
            code_uri = props.get("CodeUri")
            if not isinstance(code_uri, str):
                log.warning("function %s: CodeUri %r is not a local folder; not dispatched", logical, code_uri)
                continue
            name = self.physical_ids.get(logical)
            if not isinstance(name, str) or not name:
                fn_name = props.get("FunctionName")
                try:
                    name = str(self.resolver.resolve(fn_name)) if fn_name else logical
                except KeyError:
                    name = logical
            if name.startswith("arn:"):
                name = name.rsplit(":", 1)[-1]
            eic = props.get("EventInvokeConfig") or {}
            on_failure = (((eic.get("DestinationConfig") or {}).get("OnFailure")) or {}).get("Destination")
            is_dlq = on_failure is None and bool(props.get("DeadLetterQueue"))
            if is_dlq:
                on_failure = (props.get("DeadLetterQueue") or {}).get("TargetArn")
            fn = _Function(
                logical_id=logical,
                name=name,
                arn="",
                code_dir=(self.template_dir / code_uri).resolve(),
                handler_spec=str(props.get("Handler", "handler.handler")),
                timeout=float(props.get("Timeout", 3)),
                memory=int(props.get("MemorySize", 128)),
                async_max_retries=int(eic.get("MaximumRetryAttempts", 2)),
                async_on_failure=on_failure,  # resolved lazily (may be an intrinsic)
                async_on_failure_is_dlq=is_dlq,
            )
            self.functions[logical] = fn
            for ev_name, ev in (props.get("Events") or {}).items():
                etype = ev.get("Type")
                if etype in ("S3", "DynamoDB", "SQS", "Schedule", "ScheduleV2"):
                    self.mappings.append(_Mapping(fn, ev_name, etype, ev.get("Properties") or {}))
                else:
                    log.debug("function %s: event %s of type %s is not dispatched locally", logical, ev_name, etype)

    def _fn_arn(self, fn: _Function) -> str:
        if not fn.arn:
            fn.arn = f"arn:aws:lambda:{self.region}:{self._account_id()}:function:{fn.name}"
        return fn.arn

    # ---- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Set up every event source (stream positions and bucket snapshots are taken now, so
        anything written after ``start()`` returns is delivered) and start the background threads."""
        if self._started:
            return
        self._stop.clear()
        s3_by_bucket: dict[str, list[_Mapping]] = {}
        for m in self.mappings:
            try:
                if m.type == "S3":
                    bucket = str(self.resolver.resolve(m.props["Bucket"]))
                    s3_by_bucket.setdefault(bucket, []).append(m)
                    self._async_for(m.function)
                elif m.type == "DynamoDB":
                    self._sources.append(_StreamSource(self, m))
                elif m.type == "SQS":
                    self._sources.append(_SqsSource(self, m))
                else:
                    self._schedules.append(_ScheduleSource(self, m))
                    self._async_for(m.function)
            except Exception as exc:  # noqa: BLE001
                log.error("function %s event %s (%s) not dispatched: %s", m.function.logical_id,
                          m.event_name, m.type, exc)
        for bucket, ms in s3_by_bucket.items():
            self._sources.append(_S3Source(self, bucket, ms))
        for src in list(self._sources):
            try:
                src.setup()
            except Exception as exc:  # noqa: BLE001
                log.error("event source %s not started: %s", src.label, exc)
                self._sources.remove(src)
        for inv in self._async.values():
            self._spawn(inv.run, f"async-{inv.fn.logical_id}")
        for src in self._sources:
            self._spawn(src.run, f"src-{src.label}")
        if self.run_schedules and self._schedules:
            self._spawn(self._run_schedules, "schedules")
        self._started = True
        log.info("dispatcher started: %d functions, %d event sources, %d schedules",
                 len(self.functions), len(self._sources), len(self._schedules))

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        t = threading.Thread(target=target, name=f"dispatcher-{name}", daemon=True)
        t.start()
        self._threads.append(t)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling; an invocation already running finishes first. Pending async events are dropped."""
        if not self._started:
            return
        self._stop.set()
        for inv in self._async.values():
            inv.queue.put(None)
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            log.warning("dispatcher threads still running after stop: %s", ", ".join(alive))
        dropped = sum(inv.pending for inv in self._async.values())
        if dropped:
            log.warning("dispatcher stopped with %d asynchronous events undelivered", dropped)
        self._threads.clear()
        self._sources.clear()
        self._schedules.clear()
        self._async.clear()
        self._started = False

    def __enter__(self) -> Dispatcher:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def drain(self, timeout: float = 10) -> bool:
        """Wait until everything is delivered: every event source has completed an idle poll that
        started after the last invocation ended (so cascades — an S3 handler writing a row whose
        stream record feeds another function — settle too) and no asynchronous event is pending.
        Returns False on timeout (e.g. a stream batch retried forever)."""
        start = time.monotonic()
        deadline = start + timeout
        self._draining += 1
        try:
            return self._drain(start, deadline)
        finally:
            self._draining -= 1

    def _drain(self, start: float, deadline: float) -> bool:
        while True:
            with self._activity_lock:
                since = max(start, self._last_activity)
            busy = any(inv.pending for inv in self._async.values())
            if not busy and all((s.idle_cycle_start or -1) > since for s in self._sources):
                # re-check activity: nothing may have finished meanwhile
                with self._activity_lock:
                    if self._last_activity <= since:
                        return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)

    def _touch(self) -> None:
        with self._activity_lock:
            self._last_activity = time.monotonic()

    def _sleep(self, seconds: float) -> bool:
        """Interruptible sleep; True if stopping."""
        return self._stop.wait(seconds)

    # ---- invocation -----------------------------------------------------------------------------

    def invocation_count(self, function: str | None = None, trigger: str | None = None,
                         outcome: str | None = None) -> int:
        with self._inv_lock:
            return sum(n for (f, t, o), n in self.counts.items()
                       if (function is None or f == function)
                       and (trigger is None or t == trigger)
                       and (outcome is None or o == outcome))

    def invoke(self, function_logical_id: str, event: Any, *, trigger: str = "Direct",
               event_name: str = "", count: int = 1, report_failures: str | None = None,
               valid_ids: list[str] | None = None, attempt: int = 1) -> InvocationRecord:
        """Invoke one function synchronously with ``event`` (JSON round-tripped) and a fresh context.
        ``report_failures`` ("itemIdentifier" source name) turns on partial-batch response parsing;
        ``valid_ids`` are the ids a partial response may name."""
        fn = self.functions[function_logical_id]
        payload = json.loads(json.dumps(event))
        ctx = LambdaContext(fn.name, self._fn_arn(fn), fn.memory, fn.timeout)
        rec = InvocationRecord(function=fn.logical_id, function_name=fn.name, trigger=trigger,
                               event_name=event_name, count=count, request_id=ctx.aws_request_id,
                               attempt=attempt)
        with fn.lock:
            t0 = time.perf_counter()
            try:
                handler = fn.load()
                with logcontext.invocation(ctx):
                    result = handler(payload, ctx)
                try:
                    rec.response = json.loads(json.dumps(result)) if result is not None else None
                except (TypeError, ValueError) as exc:
                    raise _HandlerError(f"Unable to marshal response: {exc}") from None
                if report_failures:
                    rec.failed_ids = _parse_partial_response(rec.response, valid_ids or [])
                    if rec.failed_ids:
                        rec.outcome = "partial"
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - a handler failure is data here
                rec.outcome = "error"
                rec.error_type = "Runtime.MarshalError" if isinstance(exc, _HandlerError) else type(exc).__name__
                rec.error_message = str(exc)
                log.debug("handler %s raised:\n%s", fn.logical_id, traceback.format_exc())
            finally:
                rec.duration_ms = (time.perf_counter() - t0) * 1000.0
        if rec.duration_ms > fn.timeout * 1000:
            log.warning("function %s ran %.0f ms, over its Timeout of %.0f s (Lambda would have stopped it)",
                        fn.logical_id, rec.duration_ms, fn.timeout)
        with self._inv_lock:
            self.invocations.append(rec)
            self.counts[(rec.function, rec.trigger, rec.outcome)] += 1
        level = logging.INFO if rec.outcome == "ok" else logging.WARNING
        log.log(level, "invoke function=%s trigger=%s event=%s records=%d attempt=%d duration_ms=%.1f "
                "outcome=%s%s%s request_id=%s", fn.logical_id, trigger, event_name or "-", count, attempt,
                rec.duration_ms, rec.outcome, f" error={rec.error_type}" if rec.error_type else "",
                f" failed={len(rec.failed_ids)}" if rec.failed_ids else "", rec.request_id)
        self._touch()
        return rec

    def _async_for(self, fn: _Function) -> _AsyncInvoker:
        inv = self._async.get(fn.logical_id)
        if inv is None:
            inv = self._async[fn.logical_id] = _AsyncInvoker(self, fn)
        return inv

    def _invoke_async_now(self, fn: _Function, event: Any, trigger: str, event_name: str) -> InvocationRecord:
        """Lambda's asynchronous invocation: retries with backoff, then the on-failure destination."""
        attempt = 0
        while True:
            attempt += 1
            rec = self.invoke(fn.logical_id, copy.deepcopy(event), trigger=trigger, event_name=event_name,
                              attempt=attempt)
            if rec.outcome == "ok":
                return rec
            if attempt > fn.async_max_retries:
                break
            if self._sleep(self.async_retry_delay * (2 ** (attempt - 1))):
                return rec
        log.error("function %s: asynchronous %s event dropped after %d attempts (last error %s)",
                  fn.logical_id, trigger, attempt, rec.error_type)
        if fn.async_on_failure:
            record = {
                "version": "1.0",
                "timestamp": _iso_now(),
                "requestContext": {"requestId": rec.request_id, "functionArn": f"{self._fn_arn(fn)}:$LATEST",
                                   "condition": "RetriesExhausted", "approximateInvokeCount": attempt},
                "requestPayload": event,
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                "responsePayload": {"errorMessage": rec.error_message, "errorType": rec.error_type},
            }
            # a function's DeadLetterQueue gets the bare event; an OnFailure destination the record
            self._send_to_destination(fn.async_on_failure, event if fn.async_on_failure_is_dlq else record)
        return rec

    def _send_to_destination(self, target: Any, body: Any) -> None:
        """Send ``body`` (JSON) to an SQS queue or SNS topic given by ARN or intrinsic."""
        try:
            arn = str(self.resolver.resolve(target))
            if ":sqs:" in arn:
                name = arn.rsplit(":", 1)[-1]
                url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
                self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
            elif ":sns:" in arn:
                self.sns.publish(TargetArn=arn, Message=json.dumps(body))
            else:
                log.error("on-failure destination %s is not SQS/SNS; not supported locally", arn)
                return
            log.info("on-failure record sent to %s", arn)
        except Exception as exc:  # noqa: BLE001
            log.error("could not send to on-failure destination %r: %s", target, exc)

    # ---- schedules ------------------------------------------------------------------------------

    def schedule_event(self, mapping: _Mapping) -> Any:
        props = mapping.props
        if props.get("Input"):
            inp = self.resolver.resolve(props["Input"])
            return json.loads(inp) if isinstance(inp, str) else inp
        acct = self._account_id()
        name = props.get("Name") or f"{mapping.function.logical_id}{mapping.event_name}"
        if mapping.type == "ScheduleV2":
            resource = f"arn:aws:scheduler:{self.region}:{acct}:schedule/default/{name}"
            source = "aws.scheduler"
        else:
            resource = f"arn:aws:events:{self.region}:{acct}:rule/{name}"
            source = "aws.events"
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": source,
            "account": acct,
            "time": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [resource],
            "detail": {},
        }

    def fire_schedule(self, function_logical_id: str, event_name: str | None = None, *,
                      wait: bool = False) -> InvocationRecord | None:
        """Fire the function's schedule now. While the dispatcher runs (and ``wait`` is False) the
        event is queued as an asynchronous invocation (use :meth:`drain`); otherwise it runs here,
        with the same retries, and the last :class:`InvocationRecord` is returned."""
        ms = [m for m in self.mappings if m.function.logical_id == function_logical_id
              and m.type in ("Schedule", "ScheduleV2") and (event_name is None or m.event_name == event_name)]
        if not ms:
            raise KeyError(f"{function_logical_id} has no schedule" + (f" {event_name}" if event_name else ""))
        m = ms[0]
        event = self.schedule_event(m)
        if self._started and not wait and m.function.logical_id in self._async:
            self._async[m.function.logical_id].submit(event, m.type, m.event_name)
            return None
        return self._invoke_async_now(m.function, event, m.type, m.event_name)

    def _run_schedules(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            for s in self._schedules:
                try:
                    if s.due(now):
                        self._async[s.mapping.function.logical_id].submit(
                            self.schedule_event(s.mapping), s.mapping.type, s.mapping.event_name)
                except Exception as exc:  # noqa: BLE001
                    log.error("schedule %s.%s failed: %s", s.mapping.function.logical_id, s.mapping.event_name, exc)
            if self._sleep(1.0 - (time.time() % 1.0) + 0.01):
                return


def _iso_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse_partial_response(response: Any, valid_ids: list[str]) -> list[str]:
    """``{"batchItemFailures": [{"itemIdentifier": id}, ...]}`` → the ids. As in Lambda, an empty or
    missing list is success, and a malformed response or an unknown/empty id fails the whole batch."""
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return []
    items = response["batchItemFailures"]
    if not isinstance(items, list):
        raise _HandlerError("batchItemFailures is not a list")
    out = []
    valid = set(valid_ids)
    for it in items:
        ident = it.get("itemIdentifier") if isinstance(it, dict) else None
        if not ident or ident not in valid:
            raise _HandlerError("invalid itemIdentifier in batchItemFailures")
        out.append(str(ident))
    return out


# --------------------------------------------------------------------------------------------------
# Workers
# --------------------------------------------------------------------------------------------------


class _AsyncInvoker:
    """Lambda's internal event queue for one function (asynchronous invocations)."""

    def __init__(self, d: Dispatcher, fn: _Function):
        self.d = d
        self.fn = fn
        self.queue: Queue[tuple[Any, str, str] | None] = Queue()
        self.pending = 0
        self._lock = threading.Lock()

    def submit(self, event: Any, trigger: str, event_name: str) -> None:
        with self._lock:
            self.pending += 1
        self.queue.put((event, trigger, event_name))

    def run(self) -> None:
        while not self.d._stop.is_set():
            try:
                item = self.queue.get(timeout=0.5)
            except Empty:
                continue
            if item is None:
                return
            try:
                self.d._invoke_async_now(self.fn, item[0], item[1], item[2])
            except Exception:  # noqa: BLE001
                log.exception("async invoker for %s failed", self.fn.logical_id)
            finally:
                with self._lock:
                    self.pending -= 1
                self.d._touch()


class _Source:
    label = "source"
    idle_cycle_start: float | None = None

    def setup(self) -> None:  # pragma: no cover - overridden
        pass

    def run(self) -> None:
        d: Dispatcher = self.d  # type: ignore[attr-defined]
        errors = 0
        idle_streak = 0
        while not d._stop.is_set():
            cycle_start = time.monotonic()
            try:
                idle = self.cycle()
                errors = 0
            except Exception as exc:  # noqa: BLE001
                errors += 1
                idle = False
                if errors in (1, 10) or errors % 100 == 0:
                    log.warning("event source %s: %s: %s (retrying)", self.label, type(exc).__name__, exc)
                if d._sleep(min(2.0, 0.2 * errors)):
                    return
                continue
            if not idle:
                self.idle_cycle_start = None
                idle_streak = 0
                continue
            self.idle_cycle_start = cycle_start
            idle_streak += 1
            # after ~5 s without work poll at most once a second (each stream poll leaves a shard
            # iterator behind in moto), except while someone drains
            wait = self.idle_wait()
            slow = max(wait, d.idle_poll_interval) if wait > 0 and idle_streak * wait > 5 else wait
            waited = 0.0
            while waited < slow:
                step = min(wait or 0.05, slow - waited)
                if d._sleep(step):
                    return
                waited += step
                if d._draining:
                    break

    def idle_wait(self) -> float:
        return self.d.poll_interval  # type: ignore[attr-defined]

    def cycle(self) -> bool:  # pragma: no cover - overridden
        return True


class _S3Source(_Source):
    """Polls one bucket and turns new/changed/removed keys into S3 notification events."""

    def __init__(self, d: Dispatcher, bucket: str, mappings: list[_Mapping]):
        self.d = d
        self.bucket = bucket
        self.mappings = mappings
        self.label = f"s3:{bucket}"
        self.seen: dict[str, tuple[str, int, Any]] = {}
        self._seq = int(time.time() * 1000) << 16
        self.subs = []
        for m in mappings:
            events = m.props.get("Events") or ["s3:ObjectCreated:*"]
            if isinstance(events, str):
                events = [events]
            prefix = suffix = ""
            rules = (((m.props.get("Filter") or {}).get("S3Key") or {}).get("Rules")) or []
            for r in rules:
                if str(r.get("Name", "")).lower() == "prefix":
                    prefix = str(r.get("Value", ""))
                elif str(r.get("Name", "")).lower() == "suffix":
                    suffix = str(r.get("Value", ""))
            self.subs.append((m, [str(e) for e in events], prefix, suffix))

    def _list(self) -> dict[str, tuple[str, int, Any]]:
        out = {}
        for page in self.d.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for o in page.get("Contents", []) or []:
                out[o["Key"]] = (o.get("ETag", "").strip('"'), int(o.get("Size", 0)), o.get("LastModified"))
        return out

    def setup(self) -> None:
        self.d.s3.head_bucket(Bucket=self.bucket)
        if not self.d.deliver_existing_objects:
            self.seen = self._list()

    def cycle(self) -> bool:
        current = self._list()
        created = [k for k, v in current.items() if self.seen.get(k) != v]
        removed = [k for k in self.seen if k not in current]
        created.sort(key=lambda k: (str(current[k][2]), k))
        self.seen = current
        if not created and not removed:
            return True
        for key in created:
            etag, size, _ = current[key]
            name = "ObjectCreated:CompleteMultipartUpload" if re.search(r"-\d+$", etag) else "ObjectCreated:Put"
            self._notify(name, key, size, etag)
        for key in removed:
            self._notify("ObjectRemoved:Delete", key, None, None)
        return False

    def _notify(self, event_name: str, key: str, size: int | None, etag: str | None) -> None:
        for m, events, prefix, suffix in self.subs:
            if not key.startswith(prefix) or not key.endswith(suffix):
                continue
            if not any(_s3_event_matches(e, event_name) for e in events):
                continue
            self._seq += 1
            obj: dict[str, Any] = {"key": quote_plus(key, safe="/")}
            if size is not None:
                obj.update(size=size, eTag=etag)
            obj["sequencer"] = f"{self._seq:016X}"
            record = {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": self.d.region,
                "eventTime": _iso_now(),
                "eventName": event_name,
                "userIdentity": {"principalId": "AWS:LOCAL"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                                     "x-amz-id-2": base64.b64encode(os.urandom(24)).decode()},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": f"{m.function.logical_id}{m.event_name}",
                    "bucket": {"name": self.bucket, "ownerIdentity": {"principalId": "LOCAL"},
                               "arn": f"arn:aws:s3:::{self.bucket}"},
                    "object": obj,
                },
            }
            self.d._async[m.function.logical_id].submit({"Records": [record]}, "S3", m.event_name)


def _s3_event_matches(configured: str, event_name: str) -> bool:
    c = configured[3:] if configured.startswith("s3:") else configured
    if c.endswith(":*"):
        return event_name.startswith(c[:-1])
    return c == event_name


class _StreamSource(_Source):
    """Follows a DynamoDB stream like a Lambda event source mapping."""

    def __init__(self, d: Dispatcher, m: _Mapping):
        self.d = d
        self.m = m
        p = m.props
        self.stream_arn = str(d.resolver.resolve(p["Stream"]))
        self.label = f"ddb:{m.function.logical_id}.{m.event_name}"
        self.batch_size = int(p.get("BatchSize", 100))
        self.start_pos = str(p.get("StartingPosition", "LATEST")).upper()
        self.max_retries = int(p.get("MaximumRetryAttempts", -1))
        self.bisect = bool(p.get("BisectBatchOnFunctionError", False))
        self.report = "ReportBatchItemFailures" in (p.get("FunctionResponseTypes") or [])
        self.filters = _parse_filter_criteria(p)
        self.on_failure = (((p.get("DestinationConfig") or {}).get("OnFailure")) or {}).get("Destination")
        self.enabled = p.get("Enabled", True) not in (False, "false", "False")
        self.shards: dict[str, dict[str, Any]] = {}
        self._last_describe = 0.0

    def setup(self) -> None:
        if not self.enabled:
            log.info("%s disabled in the template", self.label)
        self._refresh_shards(initial=True)

    def _refresh_shards(self, initial: bool = False) -> None:
        desc = self.d.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for sh in desc.get("Shards", []):
            sid = sh["ShardId"]
            if sid in self.shards:
                continue
            kind = self.start_pos if initial and self.start_pos in ("LATEST", "TRIM_HORIZON") else "TRIM_HORIZON"
            it = self.d.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=sid,
                                                   ShardIteratorType=kind)["ShardIterator"]
            self.shards[sid] = {"iterator": it, "buffer": [], "attempts": 0, "last_seq": None,
                                "bisect_limit": None}
        self._last_describe = time.monotonic()

    def cycle(self) -> bool:
        if not self.enabled:
            return True
        if time.monotonic() - self._last_describe > 5:
            self._refresh_shards()
        idle = True
        for sid, st in self.shards.items():
            if self.d._stop.is_set():
                return False
            if st["iterator"] and len(st["buffer"]) < self.batch_size:
                try:
                    resp = self.d.streams.get_records(ShardIterator=st["iterator"], Limit=1000)
                except self.d.streams.exceptions.ExpiredIteratorException:
                    st["iterator"] = self._reposition(sid, st)
                    return False
                st["iterator"] = resp.get("NextShardIterator")
                for r in resp.get("Records", []):
                    st["buffer"].append(self._lambda_record(r))
                    st["last_seq"] = r["dynamodb"]["SequenceNumber"]
            if st["buffer"]:
                idle = False
                self.idle_cycle_start = None
                self._process(sid, st)
        return idle

    def _reposition(self, sid: str, st: dict[str, Any]) -> str:
        kw: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
        if st["last_seq"]:
            kw = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": st["last_seq"]}
        return self.d.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=sid, **kw)["ShardIterator"]

    def _lambda_record(self, r: dict[str, Any]) -> dict[str, Any]:
        rec = _jsonable(r)
        rec["awsRegion"] = self.d.region
        rec["eventSource"] = "aws:dynamodb"
        rec.setdefault("eventVersion", "1.1")
        ddb = rec.get("dynamodb", {})
        acdt = r.get("dynamodb", {}).get("ApproximateCreationDateTime")
        if isinstance(acdt, dt.datetime):
            ddb["ApproximateCreationDateTime"] = int(acdt.timestamp())
        rec["eventSourceARN"] = self.stream_arn
        return rec

    def _process(self, sid: str, st: dict[str, Any]) -> None:
        """Deliver the shard's buffered records, in order, until the buffer is empty or a retry
        waits. Filtered-out records are consumed without an invocation."""
        buf: list[dict[str, Any]] = st["buffer"]
        while buf and not self.d._stop.is_set():
            limit = st["bisect_limit"] or self.batch_size
            # leading records that do not match are consumed at once
            while buf and not record_matches_filters(self.filters, buf[0], "DynamoDB"):
                buf.pop(0)
            if not buf:
                return
            batch: list[dict[str, Any]] = []
            end = 0
            for i, r in enumerate(buf):
                if record_matches_filters(self.filters, r, "DynamoDB"):
                    if len(batch) == limit:
                        break
                    batch.append(r)
                end = i + 1
            seqs = [r["dynamodb"]["SequenceNumber"] for r in batch]
            rec = self.d.invoke(self.m.function.logical_id, {"Records": batch}, trigger="DynamoDB",
                                event_name=self.m.event_name, count=len(batch),
                                report_failures="DynamoDB" if self.report else None, valid_ids=seqs,
                                attempt=st["attempts"] + 1)
            if rec.outcome == "ok":
                del buf[:end]
                st["attempts"] = 0
                st["bisect_limit"] = None
                continue
            if rec.outcome == "partial":
                first = min(seqs.index(s) for s in rec.failed_ids)
                if first > 0:
                    committed = buf.index(batch[first])
                    del buf[:committed]
                    st["attempts"] = 1
                else:
                    st["attempts"] += 1
                st["bisect_limit"] = None
            else:
                if self.bisect and len(batch) > 1:
                    st["bisect_limit"] = math.ceil(len(batch) / 2)
                    continue
                st["attempts"] += 1
            if self.max_retries >= 0 and st["attempts"] > self.max_retries:
                # the batch as it stands now (from the first failed record)
                remaining = [r for r in batch if int(r["dynamodb"]["SequenceNumber"]) >=
                             int(buf[0]["dynamodb"]["SequenceNumber"])]
                rseqs = [r["dynamodb"]["SequenceNumber"] for r in remaining]
                log.error("function %s: %s stream batch skipped after %d attempts; sequence numbers %s",
                          self.m.function.logical_id, self.m.event_name, st["attempts"], ",".join(rseqs))
                if self.on_failure:
                    self.d._send_to_destination(self.on_failure, self._failure_record(sid, remaining, rec, st))
                last = remaining[-1] if remaining else batch[-1]
                del buf[:buf.index(last) + 1]
                st["attempts"] = 0
                st["bisect_limit"] = None
                continue
            if self.d._sleep(min(2.0, self.d.stream_retry_delay * (2 ** max(0, st["attempts"] - 1)))):
                return

    def _failure_record(self, sid: str, batch: list[dict[str, Any]], rec: InvocationRecord,
                        st: dict[str, Any]) -> dict[str, Any]:
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        return {
            "requestContext": {"requestId": rec.request_id,
                               "functionArn": self.d._fn_arn(self.m.function),
                               "condition": "RetryAttemptsExhausted",
                               "approximateInvokeCount": st["attempts"]},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": _iso_now(),
            "DDBStreamBatchInfo": {
                "shardId": sid,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": first.get("ApproximateCreationDateTime"),
                "approximateArrivalOfLastRecord": last.get("ApproximateCreationDateTime"),
                "batchSize": len(batch),
                "streamArn": self.stream_arn,
            },
        }


class _SqsSource(_Source):
    """Consumes one queue like a Lambda SQS event source mapping."""

    def __init__(self, d: Dispatcher, m: _Mapping):
        self.d = d
        self.m = m
        p = m.props
        phys = str(d.resolver.resolve(p["Queue"]))
        self.queue_arn = d.resolver.queue_arn(phys)
        self.queue_name = self.queue_arn.rsplit(":", 1)[-1]
        self.queue_url = phys if phys.startswith("http") else ""
        self.label = f"sqs:{m.function.logical_id}.{m.event_name}"
        self.batch_size = int(p.get("BatchSize", 10))
        self.report = "ReportBatchItemFailures" in (p.get("FunctionResponseTypes") or [])
        self.filters = _parse_filter_criteria(p)
        self.enabled = p.get("Enabled", True) not in (False, "false", "False")

    def setup(self) -> None:
        self.queue_url = self.d.sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        if not self.enabled:
            log.info("%s disabled in the template", self.label)

    def idle_wait(self) -> float:
        return 0.0  # receive_message long-polls

    def _receive(self, wait: int, n: int) -> list[dict[str, Any]]:
        return self.d.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=n, WaitTimeSeconds=wait,
            AttributeNames=["All"], MessageAttributeNames=["All"],
        ).get("Messages", []) or []

    def cycle(self) -> bool:
        if not self.enabled:
            self.d._sleep(self.d.poll_interval)
            return True
        msgs = self._receive(self.d.sqs_wait_seconds, min(10, self.batch_size))
        while msgs and len(msgs) < self.batch_size and not self.d._stop.is_set():
            more = self._receive(0, min(10, self.batch_size - len(msgs)))
            if not more:
                break
            msgs.extend(more)
        if not msgs:
            attrs = self.d.sqs.get_queue_attributes(
                QueueUrl=self.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                "ApproximateNumberOfMessagesDelayed"],
            ).get("Attributes", {})
            return all(int(v) == 0 for v in attrs.values())
        self.idle_cycle_start = None
        records = [self._lambda_record(m) for m in msgs]
        matched, unmatched = [], []
        for r in records:
            (matched if record_matches_filters(self.filters, r, "SQS") else unmatched).append(r)
        self._delete(unmatched)
        if not matched:
            return False
        ids = [r["messageId"] for r in matched]
        rec = self.d.invoke(self.m.function.logical_id, {"Records": matched}, trigger="SQS",
                            event_name=self.m.event_name, count=len(matched),
                            report_failures="SQS" if self.report else None, valid_ids=ids,
                            attempt=max(int(r["attributes"].get("ApproximateReceiveCount", 1)) for r in matched))
        if rec.outcome == "ok":
            self._delete(matched)
        elif rec.outcome == "partial":
            failed = set(rec.failed_ids)
            self._delete([r for r in matched if r["messageId"] not in failed])
            self._retry_later([r for r in matched if r["messageId"] in failed])
        else:
            self._retry_later(matched)
        return False

    def _lambda_record(self, m: dict[str, Any]) -> dict[str, Any]:
        mattrs = {}
        for name, a in (m.get("MessageAttributes") or {}).items():
            v: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": a.get("DataType")}
            if "StringValue" in a:
                v["stringValue"] = a["StringValue"]
            if "BinaryValue" in a:
                bv = a["BinaryValue"]
                v["binaryValue"] = base64.b64encode(bv).decode() if isinstance(bv, bytes) else bv
            mattrs[name] = v
        rec = {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m.get("Body", ""),
            "attributes": dict(m.get("Attributes") or {}),
            "messageAttributes": mattrs,
            "md5OfBody": m.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.d.region,
        }
        if m.get("MD5OfMessageAttributes"):
            rec["md5OfMessageAttributes"] = m["MD5OfMessageAttributes"]
        return rec

    def _delete(self, records: list[dict[str, Any]]) -> None:
        for i in range(0, len(records), 10):
            chunk = records[i:i + 10]
            resp = self.d.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": r["receiptHandle"]} for n, r in enumerate(chunk)])
            if resp.get("Failed"):
                log.warning("%s: %d messages could not be deleted", self.label, len(resp["Failed"]))

    def _retry_later(self, records: list[dict[str, Any]]) -> None:
        for i in range(0, len(records), 10):
            chunk = records[i:i + 10]
            self.d.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": self.d.sqs_retry_delay}
                for n, r in enumerate(chunk)])


class _ScheduleSource:
    def __init__(self, d: Dispatcher, m: _Mapping):
        self.d = d
        self.mapping = m
        p = m.props
        expr = p.get("Schedule") if m.type == "Schedule" else p.get("ScheduleExpression")
        self.kind, self.spec = parse_schedule(str(expr))
        enabled = p.get("Enabled", True)
        state = str(p.get("State", "ENABLED")).upper()
        self.enabled = enabled not in (False, "false", "False") and state != "DISABLED"
        tzname = p.get("ScheduleExpressionTimezone")
        self.tz: dt.tzinfo = dt.timezone.utc
        if tzname:
            from zoneinfo import ZoneInfo

            self.tz = ZoneInfo(tzname)
        now = time.time()
        self.next_due = now + self.spec if self.kind == "rate" else None
        self.last_minute = self._minute(now)
        self.fired_at = False

    def _minute(self, now: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(now, self.tz).replace(second=0, microsecond=0)

    def due(self, now: float) -> bool:
        if not self.enabled:
            return False
        if self.kind == "rate":
            if now >= self.next_due:  # type: ignore[operator]
                self.next_due = max(self.next_due + self.spec, now + 1)  # type: ignore[operator]
                return True
            return False
        minute = self._minute(now)
        if self.kind == "cron":
            if minute != self.last_minute:
                self.last_minute = minute
                return self.spec.matches(minute)
            return False
        # at(...)
        at = self.spec if self.spec.tzinfo else self.spec.replace(tzinfo=self.tz)
        if not self.fired_at and dt.datetime.fromtimestamp(now, self.tz) >= at:
            self.fired_at = True
            return True
        return False


def _jsonable(value: Any) -> Any:
    """boto3's decoded shapes → what Lambda puts in its JSON event (bytes base64, datetimes epoch)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dt.datetime):
        return int(value.timestamp())
    if isinstance(value, set):
        return [_jsonable(v) for v in value]
    return value
