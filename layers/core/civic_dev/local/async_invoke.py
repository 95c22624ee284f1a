"""Lambda's asynchronous invocations, as S3 notifications and schedules get them.

Each function has one internal event queue and one worker (``AsyncInvoker``), so its invocations never
overlap. An event whose invocation fails is retried ``EventInvokeConfig.MaximumRetryAttempts`` times
(default 2) after ``Dispatcher.async_retry_delay`` * 1, 2, 4... seconds, then dropped with an error
log, or sent to ``EventInvokeConfig.DestinationConfig.OnFailure`` (an invocation record) or the
function's ``DeadLetterQueue`` (the bare event) when configured.
"""

from __future__ import annotations

import copy
import logging
import threading
from queue import Empty, Queue
from typing import TYPE_CHECKING, Any

from civic_dev.local.lambda_runtime import InvocationRecord, LambdaFunction, iso_now

if TYPE_CHECKING:
    from civic_dev.local.dispatcher import Dispatcher

log = logging.getLogger("civic_dev.local.dispatcher")


def invoke_async(d: Dispatcher, fn: LambdaFunction, event: Any, trigger: str, event_name: str) -> InvocationRecord:
    """Lambda's asynchronous invocation: retries with backoff, then the on-failure destination."""
    attempt = 0
    while True:
        attempt += 1
        rec = d.invoke(fn.logical_id, copy.deepcopy(event), trigger=trigger, event_name=event_name,
                       attempt=attempt)
        if rec.outcome == "ok":
            return rec
        if attempt > fn.async_max_retries:
            break
        if d._sleep(d.async_retry_delay * (2 ** (attempt - 1))):
            return rec
    log.error("function %s: asynchronous %s event dropped after %d attempts (last error %s)",
              fn.logical_id, trigger, attempt, rec.error_type)
    if fn.async_on_failure:
        record = {
            "version": "1.0",
            "timestamp": iso_now(),
            "requestContext": {"requestId": rec.request_id, "functionArn": f"{d._fn_arn(fn)}:$LATEST",
                               "condition": "RetriesExhausted", "approximateInvokeCount": attempt},
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": rec.error_message, "errorType": rec.error_type},
        }
        # a function's DeadLetterQueue gets the bare event; an OnFailure destination the record
        d._send_to_destination(fn.async_on_failure, event if fn.async_on_failure_is_dlq else record)
    return rec


class AsyncInvoker:
    """Lambda's internal event queue for one function (asynchronous invocations)."""

    def __init__(self, d: Dispatcher, fn: LambdaFunction):
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
                invoke_async(self.d, self.fn, item[0], item[1], item[2])
            except Exception:  # noqa: BLE001
                log.exception("async invoker for %s failed", self.fn.logical_id)
            finally:
                with self._lock:
                    self.pending -= 1
                self.d._touch()
