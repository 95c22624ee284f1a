"""DynamoDB stream records → Lambda batches, as an event source mapping delivers them (see `sources`)."""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from typing import TYPE_CHECKING, Any

from civic_dev.local.event_filters import parse_filter_criteria, record_matches_filters
from civic_dev.local.lambda_runtime import InvocationRecord, iso_now, jsonable

if TYPE_CHECKING:
    from civic_dev.local.dispatcher import Dispatcher
    from civic_dev.local.template_functions import EventMapping

log = logging.getLogger("civic_dev.local.dispatcher")


from civic_dev.local.sources import Source


class StreamSource(Source):
    """Follows a DynamoDB stream like a Lambda event source mapping."""

    def __init__(self, d: Dispatcher, m: EventMapping):
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
        self.filters = parse_filter_criteria(p)
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
            kw: dict[str, Any] = {"ShardIteratorType": kind}
            kept = self.d.kept.dispatch_get(self.label, sid) if self.d.kept is not None else None
            if kept and kept.get("at"):
                kw = {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": kept["at"]}
            elif kept and kept.get("after"):
                kw = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": kept["after"]}
            elif kept is not None:
                kw = {"ShardIteratorType": "TRIM_HORIZON"}
            it = self.d.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=sid, **kw)["ShardIterator"]
            last = None
            if kept is None and kind == "LATEST" and self.d.kept is not None:
                # Kept positions are sequence numbers: read to the end for the one LATEST stands for.
                it, last = self._skip_to_end(sid)
            self.shards[sid] = {"iterator": it, "buffer": [], "attempts": 0, "last_seq": last,
                                "bisect_limit": None}
            if kept is None:
                self._keep_position(sid, self.shards[sid])
        self._last_describe = time.monotonic()

    def _skip_to_end(self, sid: str) -> tuple[str, str | None]:
        it = self.d.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=sid,
                                               ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        last = None
        while True:
            resp = self.d.streams.get_records(ShardIterator=it, Limit=1000)
            it = resp.get("NextShardIterator") or it
            records = resp.get("Records", [])
            if not records:
                return it, last
            last = records[-1]["dynamodb"]["SequenceNumber"]

    def _keep_position(self, sid: str, st: dict[str, Any]) -> None:
        """The first record not yet delivered (or the last one read, when all are), for a restart."""
        if self.d.kept is None:
            return
        if st["buffer"]:
            position = {"at": st["buffer"][0]["dynamodb"]["SequenceNumber"]}
        elif st["last_seq"]:
            position = {"after": st["last_seq"]}
        else:
            position = {"start": True}
        self.d.kept.dispatch_set(self.label, sid, position)

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
                self._keep_position(sid, st)
        return idle

    def _reposition(self, sid: str, st: dict[str, Any]) -> str:
        kw: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
        if st["last_seq"]:
            kw = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": st["last_seq"]}
        return self.d.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=sid, **kw)["ShardIterator"]

    def _lambda_record(self, r: dict[str, Any]) -> dict[str, Any]:
        rec = jsonable(r)
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
            "timestamp": iso_now(),
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


