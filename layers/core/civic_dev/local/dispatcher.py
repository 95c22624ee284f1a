"""The local Lambda dispatcher: turns S3 objects, DynamoDB stream records, SQS messages and schedules
in the local (moto) AWS into the events Lambda would deliver, and invokes the handlers in ``functions/``
in this process, as the SAM template maps them (moto never runs Python Lambda code without docker).

The pieces: ``template_functions`` reads the functions and their event mappings from the template;
``sources`` polls S3 buckets and SQS queues and ``streams`` DynamoDB streams (their docstrings say how
each behaves, retries included); ``schedules`` evaluates rate/cron/at expressions, builds the scheduled
events and runs the schedule loop; ``async_invoke`` is Lambda's asynchronous invocation (S3,
schedules); ``event_filters`` applies FilterCriteria with moto's EventBridge pattern matcher;
``lambda_runtime`` is the context, the records and the warm function. This module wires them together
and invokes the handlers.

Asynchronous invocations (S3, schedules) run on one worker per function; an exception is retried
``EventInvokeConfig.MaximumRetryAttempts`` times (default 2) after ``async_retry_delay`` * 1, 2, 4...
seconds, then the event is dropped with an error log, or sent to ``EventInvokeConfig.DestinationConfig
.OnFailure`` / ``DeadLetterQueue`` (SQS or SNS) when configured (``async_invoke``).

Invocations of one function never overlap (one warm "instance" per function); different functions run
concurrently. Each invocation gets a JSON round-tripped copy of its event and a Lambda-like
``context``; a response that does not serialise to JSON is an error, as in Lambda. Every invocation
is logged in one line on the ``civic_dev.local.dispatcher`` logger, never with payloads.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from civic_dev.local import logcontext, meter
from civic_dev.local.async_invoke import AsyncInvoker, invoke_async
from civic_dev.local.lambda_runtime import (
    DEFAULT_ACCOUNT,
    HandlerError,
    InvocationRecord,
    LambdaContext,
    LambdaFunction,
    parse_partial_response,
)
from civic_dev.local.schedules import ScheduleSource, run_schedules, schedule_event
from civic_dev.local.sources import S3Source, Source, SqsSource
from civic_dev.local.streams import StreamSource
from civic_dev.local.template_functions import EventMapping, TemplateResolver, read_functions

log = logging.getLogger("civic_dev.local.dispatcher")


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
        kept: Any = None,
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
        #: civic_dev.local.persist.KeptState, or None: where each stream mapping and S3 poller had got
        #: to is kept there, and a restarted dispatcher goes on from it (nothing twice, nothing lost).
        self.kept = kept

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

        self.resolver = TemplateResolver(sam, self.physical_ids, self.stream_arns, region, self._account_id, self.ddb)
        self.functions, self.mappings = read_functions(sam, self.template_dir, self.physical_ids, self.resolver,
                                                       self._only)

        self._async: dict[str, AsyncInvoker] = {}
        self._sources: list[Source] = []
        self._schedules: list[ScheduleSource] = []

    # ---- template -------------------------------------------------------------------------------

    def _account_id(self) -> str:
        if self._account is None:
            try:
                self._account = self.sts.get_caller_identity()["Account"]
            except Exception:  # noqa: BLE001
                self._account = DEFAULT_ACCOUNT
        return self._account

    def _fn_arn(self, fn: LambdaFunction) -> str:
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
        s3_by_bucket: dict[str, list[EventMapping]] = {}
        for m in self.mappings:
            try:
                if m.type == "S3":
                    bucket = str(self.resolver.resolve(m.props["Bucket"]))
                    s3_by_bucket.setdefault(bucket, []).append(m)
                    self._async_for(m.function)
                elif m.type == "DynamoDB":
                    self._sources.append(StreamSource(self, m))
                elif m.type == "SQS":
                    self._sources.append(SqsSource(self, m))
                else:
                    self._schedules.append(ScheduleSource(self, m))
                    self._async_for(m.function)
            except Exception as exc:  # noqa: BLE001
                log.error("function %s event %s (%s) not dispatched: %s", m.function.logical_id,
                          m.event_name, m.type, exc)
        for bucket, ms in s3_by_bucket.items():
            self._sources.append(S3Source(self, bucket, ms))
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
            self._spawn(lambda: run_schedules(self), "schedules")
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
                with logcontext.invocation(ctx), meter.caller(fn.logical_id, trigger, fn.memory):
                    result = handler(payload, ctx)
                try:
                    rec.response = json.loads(json.dumps(result)) if result is not None else None
                except (TypeError, ValueError) as exc:
                    raise HandlerError(f"Unable to marshal response: {exc}") from None
                if report_failures:
                    rec.failed_ids = parse_partial_response(rec.response, valid_ids or [])
                    if rec.failed_ids:
                        rec.outcome = "partial"
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - a handler failure is data here
                rec.outcome = "error"
                rec.error_type = "Runtime.MarshalError" if isinstance(exc, HandlerError) else type(exc).__name__
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

    def _async_for(self, fn: LambdaFunction) -> AsyncInvoker:
        inv = self._async.get(fn.logical_id)
        if inv is None:
            inv = self._async[fn.logical_id] = AsyncInvoker(self, fn)
        return inv

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

    def schedule_event(self, mapping: EventMapping) -> Any:
        """The event a schedule mapping delivers (civic_dev.local.schedules.schedule_event)."""
        return schedule_event(self, mapping)

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
        return invoke_async(self, m.function, event, m.type, m.event_name)
