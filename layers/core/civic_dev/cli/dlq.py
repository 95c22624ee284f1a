"""`civic dlq list` / `civic dlq redrive`: see and replay what failed, on the local stack or `--stack NAME`.

Queues: `notify` (NotifyDeadLetterQueue: notification messages a channel refused after the queue's
maxReceiveCount attempts; redrive sends them back to NotifyQueue, where the sender's idempotency
record keeps each one exactly once) and `failed-events` (FailedEventsQueue: stream batches and S3
events a function gave up on; these are failure records pointing at stream sequence numbers, so
they are listed for operators, not redriven).
Listing shows message ids, channels, event types and tracking codes, never addresses or texts.
"""

from __future__ import annotations

import argparse
import json

from civic_dev.cli import target as targets

QUEUES = ("notify", "failed-events")


def _queue_urls(t: targets.Target, queue: str) -> tuple[str, str | None]:
    """(the dead-letter queue, where a redrive sends its messages)."""
    if queue == "notify":
        dlq, source = t.env.get("NOTIFY_DLQ_URL"), t.env.get("NOTIFY_QUEUE_URL")
        if not dlq:
            raise targets.TargetError("the target has no NotifyDeadLetterQueue (NOTIFY_DLQ_URL)")
        return dlq, source
    url = t.env.get("FAILED_EVENTS_QUEUE_URL")
    if not url:  # the local stack: find the queue the template declared
        urls = t.client("sqs").list_queues().get("QueueUrls", [])
        url = next((u for u in urls if "FailedEventsQueue" in u.rsplit("/", 1)[-1]), None)
    if not url:
        raise targets.TargetError("the target has no FailedEventsQueue")
    return url, None


def peek(sqs, url: str, limit: int = 100) -> list[dict]:
    """Up to `limit` messages without consuming them (visibility 0; a few receives to see them all)."""
    seen: dict[str, dict] = {}
    empty = 0
    while len(seen) < limit and empty < 3:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                  AttributeNames=["All"]).get("Messages", [])
        new = [m for m in got if m["MessageId"] not in seen]
        empty = empty + 1 if not new else 0
        for m in new:
            seen[m["MessageId"]] = m
    return list(seen.values())[:limit]


def summary(message: dict) -> dict:
    """What an operator may see of a dead letter: ids and kinds, never addresses or texts."""
    attrs = message.get("Attributes", {})
    out = {"message_id": message["MessageId"], "receives": int(attrs.get("ApproximateReceiveCount", 0)),
           "sent_at": int(attrs.get("SentTimestamp", 0)) // 1000 or None}
    try:
        body = json.loads(message["Body"])
    except ValueError:
        return out | {"body": "unparsed"}
    if "channel" in body:
        out.update({k: body.get(k) for k in ("id", "channel", "kind", "event_type", "tracking_code", "alert_id", "user_id")})
    elif body.get("job"):
        out.update({k: body.get(k) for k in ("job", "alert_id", "unit")})
    else:  # a Lambda failure record (stream batch or async event)
        ctx = body.get("requestContext", {})
        out.update({"function": ctx.get("functionArn"), "condition": ctx.get("condition"),
                    "batch": body.get("DDBStreamBatchInfo")})
    return out


def redrive(sqs, dlq_url: str, target_url: str, limit: int | None = None) -> int:
    """Move messages from the DLQ back to the queue: sent first, deleted only once sent."""
    moved = 0
    while limit is None or moved < limit:
        got = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                  WaitTimeSeconds=0).get("Messages", [])
        if not got:
            break
        resp = sqs.send_message_batch(QueueUrl=target_url, Entries=[
            {"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(got)])
        ok = {int(s["Id"]) for s in resp.get("Successful", [])}
        done = [m for i, m in enumerate(got) if i in ok]
        if done:
            sqs.delete_message_batch(QueueUrl=dlq_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        moved += len(done)
        if len(done) < len(got):
            break
    return moved


def _list(args: argparse.Namespace) -> int:
    t = targets.resolve(args)
    url, _ = _queue_urls(t, args.queue)
    items = [summary(m) for m in peek(t.client("sqs"), url, args.limit)]
    if args.json:
        print(json.dumps({"queue": args.queue, "count": len(items), "items": items}, ensure_ascii=False, indent=2))
    else:
        print(f"{args.queue}: {len(items)} message(s) in {t.description}")
        for i in items:
            print("  " + "  ".join(f"{k}={v}" for k, v in i.items() if v is not None))
    return 0


def _redrive(args: argparse.Namespace) -> int:
    t = targets.resolve(args)
    url, source = _queue_urls(t, args.queue)
    if source is None:
        return targets.fail(f"{args.queue} holds failure records, not events: see them with `civic dlq list "
                            f"--queue {args.queue}` and replay the stream range they name")
    moved = redrive(t.client("sqs"), url, source, args.limit)
    print(json.dumps({"queue": args.queue, "redriven": moved}))
    return 0


def register(sub) -> None:
    dlq = sub.add_parser("dlq", help="dead-letter queues: list what failed, redrive it")
    actions = dlq.add_subparsers(dest="dlq_action", required=True)
    for name, func, help_text in (("list", _list, "list dead letters (ids and kinds, no personal data)"),
                                  ("redrive", _redrive, "send the dead letters back to their queue")):
        p = actions.add_parser(name, help=help_text)
        p.add_argument("--queue", choices=QUEUES, default="notify")
        p.add_argument("--limit", type=int, default=100 if name == "list" else None)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        targets.add_arguments(p)
        p.set_defaults(func=func)
