"""Make moto's DynamoDB behave like DynamoDB under concurrency, for the local stack and tests.

moto runs each request on its own thread, and its TransactWriteItems backs up the tables, applies
the items one by one and restores the backup when a condition fails. Two transactions at once
can therefore both pass their conditions, and a failing one can restore over a concurrent success
— a lost update that real DynamoDB never allows (it isolates transactions). Serialising moto's
write operations on one lock restores the guarantees the application relies on: conditional
writes and transactions are atomic with respect to each other.

moto's rollback also swaps in a deep copy of each table, stream shard included. Readers of the
stream (the local dispatcher) hold iterators on the original shard object, so after one cancelled
transaction they would never see another record — and the cancelled transaction's own items were
already appended to that shard. `_keep_streams` puts the original shard back, without them.
"""

from __future__ import annotations

import functools
import threading

_LOCK = threading.RLock()
_WRITES = ("transact_write_items", "put_item", "update_item", "delete_item", "batch_write_item")


def serialise_dynamodb_writes() -> None:
    """Idempotent: wraps moto's DynamoDB backend write methods once per process."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        method = getattr(DynamoDBBackend, name)
        if getattr(method, "_civic_serialised", False):
            continue
        if name == "transact_write_items":
            method = _keep_streams(method)

        @functools.wraps(method)
        def locked(self, *args, __method=method, **kwargs):
            with _LOCK:
                return __method(self, *args, **kwargs)

        locked._civic_serialised = True
        setattr(DynamoDBBackend, name, locked)


def _keep_streams(transact):
    @functools.wraps(transact)
    def wrapper(self, *args, **kwargs):
        shards = {
            name: (table.stream_shard, len(table.stream_shard.items))
            for name, table in self.tables.items()
            if getattr(table, "stream_shard", None) is not None
        }
        try:
            return transact(self, *args, **kwargs)
        except Exception:
            for name, (shard, length) in shards.items():
                table = self.tables.get(name)
                if table is not None and table.stream_shard is not shard:
                    del shard.items[length:]  # records of the cancelled transaction
                    shard.table = table
                    table.stream_shard = shard
            raise

    return wrapper
