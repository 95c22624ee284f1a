"""Alert fan-out benchmark, printed side by side (run with `make bench` or `.venv/bin/python bench/bench_alerts.py`).

One government alert for one ward with ``--recipients`` people (default 100,000) in its area index,
with moto in-process (the template deployed into it). Each recipient gets one message (their in-app
inbox copy; more channels multiply both sides alike). Measured: the fan-out itself, from the area
index to messages on NotifyQueue, as the send function runs it (civic.services.notify.fan_out steps: one
Query page of 1,000 people, their preferences by BatchGetItem, SendMessageBatch of 10), against a
one-message-per-request baseline (the same reads, one SendMessage per message). Wall time and AWS
requests by operation. Setting up the recipients is not timed.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter

REGION = "ap-southeast-1"


def count_requests() -> Counter:
    """Every AWS API call this process makes (boto3 and PynamoDB both go through botocore)."""
    import botocore.client

    calls: Counter = Counter()
    original = botocore.client.BaseClient._make_api_call

    def counted(self, operation_name, api_params):
        calls[operation_name] += 1
        answer = original(self, operation_name, api_params)
        if operation_name.startswith("SendMessage"):
            consumed()
        return answer

    botocore.client.BaseClient._make_api_call = counted
    return calls


def seed(n: int, unit: str) -> None:
    from civic.adapters.dynamo.models import NotificationModel, UserModel

    with UserModel.batch_write() as users, NotificationModel.batch_write() as index:
        for i in range(n):
            uid = f"bench-{i:06d}"
            users.save(UserModel(user_id=uid, role="citizen", channels=["inbox"], language="vi" if i % 3 else "en"))
            index.save(NotificationModel(pk=f"area#{unit}", sk=uid, user_id=uid, source="home", at="2026-11-23T00:00:00.000Z"))


class OnePerRequest:
    """The baseline queue: one SendMessage per message."""

    def __init__(self, queue_url: str):
        import boto3

        self.url = queue_url
        self.client = boto3.client("sqs", region_name=REGION)

    def send_messages(self, messages, now) -> int:
        from civic.domain.notify import delay_seconds

        for m in messages:
            self.client.send_message(QueueUrl=self.url, MessageBody=m.to_json(),
                                     DelaySeconds=delay_seconds(now, m.not_before))
        return len(messages)

    def send_job(self, job) -> int:
        import json

        self.client.send_message(QueueUrl=self.url, MessageBody=json.dumps(job))
        return 1


def run_fan_out(queue, store, alert_id: str, unit: str, now: str) -> int:
    """Run the fan-out jobs to the end, as the send function would (each step queues the next)."""
    from civic.services.notify import fan_out

    jobs = [{"job": "alert_fanout", "alert_id": alert_id, "unit": unit}]

    class Steps:
        def send_messages(self, messages, now_):
            return queue.send_messages(messages, now_)

        def send_job(self, job):
            jobs.append(job)  # the next step (a queued job in AWS; run right here)
            return queue.send_job(job)

    total = 0
    while jobs:
        total += fan_out(jobs.pop(0), store=store, queue=Steps(), now=now)
    return total


def consumed() -> None:
    """The senders drain the queue while the fan-out runs. moto recomputes queue attributes over every
    stored message on each send (quadratic in the backlog), so the bench empties the queue in moto's
    backend after each send request, outside the measured AWS requests, for both variants alike."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    for queue in sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues.values():
        queue._messages.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION,
                      AWS_REGION=REGION, POWERTOOLS_TRACE_DISABLED="true")
    from moto import mock_aws

    with mock_aws():
        from civic.adapters.dynamo import models
        from civic.adapters.dynamo.notify import DynamoNotifyStore, SqsNotifyQueue
        from civic.domain.notify import Alert
        from civic.settings import Settings, get_settings
        from civic_dev.local.deploy import deploy_stack

        deployed = deploy_stack(endpoint_url=None, region=REGION)
        os.environ.update(deployed.env)
        os.environ.pop("AWS_ENDPOINT_URL", None)
        get_settings.cache_clear()
        settings = Settings()
        models.bind(settings)
        unit, now = "BENCH-W01", "2026-11-23T03:00:00.000Z"
        started = time.perf_counter()
        seed(args.recipients, unit)
        print(f"seeded {args.recipients:,} recipients in {time.perf_counter() - started:.1f} s (not timed below)")
        store = DynamoNotifyStore()
        alert = Alert(id="bench-alert", kind="flood", severity="warning", title={"vi": "Cảnh báo ngập", "en": "Flood"},
                      body={"vi": "Nước dâng cao.", "en": "High water."}, starts_at="2026-11-23T00:00:00.000Z",
                      expires_at="2026-11-24T00:00:00.000Z", units=(unit,), created_at=now)
        store.put_alert(alert)

        calls = count_requests()
        results = {}
        for name, queue in (("batched (civic)", SqsNotifyQueue(settings.notify_queue_url)),
                            ("one per request", OnePerRequest(settings.notify_queue_url))):
            calls.clear()
            t0 = time.perf_counter()
            sent = run_fan_out(queue, store, alert.id, unit, now)
            results[name] = (time.perf_counter() - t0, sent, Counter(calls))

    print(f"\nAlert fan-out to {args.recipients:,} recipients (moto in-process), one message each")
    names = list(results)
    print(f"{'':28}{names[0]:>20}{names[1]:>20}{'ratio':>10}")
    (ta, na, ca), (tb, nb, cb) = results[names[0]], results[names[1]]
    print(f"{'messages enqueued':28}{na:>20,}{nb:>20,}")
    print(f"{'wall time (s)':28}{ta:>20.1f}{tb:>20.1f}{tb / ta:>9.1f}x")
    print(f"{'messages / s':28}{na / ta:>20,.0f}{nb / tb:>20,.0f}")
    ops = sorted(set(ca) | set(cb))
    for op in ops:
        print(f"{'  ' + op:28}{ca.get(op, 0):>20,}{cb.get(op, 0):>20,}")
    total_a, total_b = sum(ca.values()), sum(cb.values())
    print(f"{'AWS requests, total':28}{total_a:>20,}{total_b:>20,}{total_b / total_a:>9.1f}x")


if __name__ == "__main__":
    main()
