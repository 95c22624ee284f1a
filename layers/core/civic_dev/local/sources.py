"""The event sources of the local Lambda dispatcher (civic_dev.local.dispatcher), one poller each, as
the template's ``Events`` map them:

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

Schedules are fired by civic_dev.local.schedules; asynchronous invocations and their retries are the
dispatcher's.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

from civic_dev.local.event_filters import parse_filter_criteria, record_matches_filters
from civic_dev.local.lambda_runtime import iso_now

if TYPE_CHECKING:
    from civic_dev.local.dispatcher import Dispatcher
    from civic_dev.local.template_functions import EventMapping

log = logging.getLogger("civic_dev.local.dispatcher")


class Source:
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


class S3Source(Source):
    """Polls one bucket and turns new/changed/removed keys into S3 notification events."""

    def __init__(self, d: Dispatcher, bucket: str, mappings: list[EventMapping]):
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
        kept = self.d.kept.dispatch_get(self.label, "seen") if self.d.kept is not None else None
        if kept is not None:
            # A restart: what the poller had seen before is not new; an object written since (or not
            # yet seen when the stack stopped) is. A replay gives objects a new last-modified time.
            current = self._list()
            self.seen = {k: v for k, v in current.items() if kept.get(k) == [v[0], v[1]]}
            self.seen.update({k: (e, n, None) for k, (e, n) in kept.items() if k not in current})
        elif not self.d.deliver_existing_objects:
            self.seen = self._list()
        self._keep()

    def _keep(self) -> None:
        if self.d.kept is not None:
            self.d.kept.dispatch_set(self.label, "seen", {k: [v[0], v[1]] for k, v in self.seen.items()})

    def cycle(self) -> bool:
        current = self._list()
        created = [k for k, v in current.items() if self.seen.get(k) != v]
        removed = [k for k in self.seen if k not in current]
        created.sort(key=lambda k: (str(current[k][2]), k))
        self.seen = current
        if not created and not removed:
            return True
        self._keep()
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
                "eventTime": iso_now(),
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


class SqsSource(Source):
    """Consumes one queue like a Lambda SQS event source mapping."""

    def __init__(self, d: Dispatcher, m: EventMapping):
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
        self.filters = parse_filter_criteria(p)
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
