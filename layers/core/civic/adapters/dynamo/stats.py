"""The Stats table: counters written exactly once per timeline event, read per series and day range.

Writing: one TransactWriteItems per event — a guard item (`pk` = E#<report_id>:<seq>, `sk` = E,
put only if absent, expiring after GUARD_DAYS through the table's TTL) and one `ADD` update per
item the event changes. A replayed stream record finds its guard and the whole transaction is
cancelled, so nothing is counted twice; a failure leaves nothing half-counted.

Reading: one Query per series (`pk`, `sk` BETWEEN D#from AND D#to): at most one item per day with
data, whatever the number of reports. `items_read` counts what the queries returned (the read cost).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from civic.adapters.dynamo.models import StatModel
from civic.domain.stats import GAUGE, Delta, day_key

GUARD_DAYS = 8  # longer than a stream's 24 h retention plus Lambda's retries
MAX_TRANSACTION = 100  # DynamoDB's limit of actions per transaction


class AlreadyCounted(Exception):
    """This event was counted before (a replay)."""


def _number(raw: dict) -> int:
    return int(raw["N"]) if "N" in raw else 0


class DynamoStatsStore:
    def __init__(self, connection=None) -> None:
        self._connection = connection or StatModel._get_connection().connection
        self.items_read = 0
        self.queries = 0

    @property
    def _client(self):
        return self._connection.client

    @property
    def _table(self) -> str:
        return StatModel.Meta.table_name

    def apply(self, event_id: str, deltas: Iterable[Delta], now: float | None = None) -> bool:
        """Count one event's deltas exactly once; False when it was counted before."""
        expires = int((now or time.time()) + GUARD_DAYS * 86400)
        actions: list[dict] = [{
            "Put": {
                "TableName": self._table,
                "Item": {"pk": {"S": f"E#{event_id}"}, "sk": {"S": "E"}, "expires_at": {"N": str(expires)}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }]
        for delta in deltas:
            names, values, parts = {}, {}, []
            for i, (attr, value) in enumerate(sorted(delta.add.items())):
                names[f"#a{i}"] = attr
                values[f":v{i}"] = {"N": str(value)}
                parts.append(f"#a{i} :v{i}")
            actions.append({
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": {"S": delta.scope}, "sk": {"S": delta.sk}},
                    "UpdateExpression": "ADD " + ", ".join(parts),
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            })
        if len(actions) > MAX_TRANSACTION:  # a unit tree ~45 levels deep; refuse rather than count half
            raise ValueError(f"event {event_id} touches {len(actions) - 1} items, over one transaction")
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            raise
        return True

    def days(self, scope: str, start: str, end: str) -> list[tuple[str, dict[str, int]]]:
        """(day, {attribute: int}) of one series from `start` to `end` (YYYY-MM-DD, inclusive)."""
        out: list[tuple[str, dict[str, int]]] = []
        kwargs = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :a AND :b",
            "ExpressionAttributeValues": {":pk": {"S": scope}, ":a": {"S": day_key(start)}, ":b": {"S": day_key(end)}},
        }
        while True:
            page = self._client.query(**kwargs)
            self.queries += 1
            self.items_read += len(page.get("Items", []))
            for item in page.get("Items", []):
                out.append((item["sk"]["S"][2:], {k: _number(v) for k, v in item.items() if k not in ("pk", "sk")}))
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def gauge(self, scope: str) -> int:
        """Reports open in a series now."""
        return self.gauges(scope).get("open", 0)

    def gauges(self, scope: str) -> dict[str, int]:
        """The series' gauge item now: `open`, `overdue_open` (absent: 0); one GetItem."""
        found = self._client.get_item(
            TableName=self._table, Key={"pk": {"S": scope}, "sk": {"S": GAUGE}}, ConsistentRead=True
        ).get("Item")
        self.queries += 1
        self.items_read += 1 if found else 0
        return {k: _number(v) for k, v in (found or {}).items() if k not in ("pk", "sk")}

    def put_items(self, items: dict[tuple[str, str], dict[str, int]]) -> int:
        """Overwrite whole items with these values (`civic stats rebuild`, bulk loads); 25 per request."""
        requests = [
            {"PutRequest": {"Item": {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"N": str(v)} for k, v in values.items()}}}}
            for (pk, sk), values in items.items()
        ]
        for start in range(0, len(requests), 25):
            pending: Any = {self._table: requests[start:start + 25]}
            while pending:
                pending = self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None
        return len(requests)

    def put_guards(self, event_ids: Iterable[str], now: float | None = None) -> None:
        """Mark events as counted (after a rebuild that included them), so a replay adds nothing."""
        expires = str(int((now or time.time()) + GUARD_DAYS * 86400))
        requests = [{"PutRequest": {"Item": {"pk": {"S": f"E#{e}"}, "sk": {"S": "E"}, "expires_at": {"N": expires}}}}
                    for e in event_ids]
        for start in range(0, len(requests), 25):
            pending: Any = {self._table: requests[start:start + 25]}
            while pending:
                pending = self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None

    def counter_keys(self) -> list[tuple[str, str]]:
        """Every counter item's key (not the guards): what a rebuild replaces."""
        keys, kwargs = [], {"TableName": self._table, "ProjectionExpression": "pk, sk"}
        while True:
            page = self._client.scan(**kwargs)
            keys += [(i["pk"]["S"], i["sk"]["S"]) for i in page.get("Items", []) if not i["pk"]["S"].startswith("E#")]
            if "LastEvaluatedKey" not in page:
                return keys
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete_items(self, keys: Iterable[tuple[str, str]]) -> None:
        requests = [{"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for pk, sk in keys]
        for start in range(0, len(requests), 25):
            pending: Any = {self._table: requests[start:start + 25]}
            while pending:
                pending = self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None


def all_events():
    """Every timeline event (a full scan, for `civic stats rebuild` only; never on a request path)."""
    from civic.adapters.dynamo.models import TimelineModel
    from civic.adapters.dynamo.reports import model_to_event

    for model in TimelineModel.scan():
        yield model_to_event(model)
