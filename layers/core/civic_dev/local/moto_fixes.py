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
            method = _backup_items_not_tables(_keep_streams(method))

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
                del shard.items[length:]  # records of the cancelled transaction
                if table is not None and table.stream_shard is not shard:
                    shard.table = table
                    table.stream_shard = shard
            raise

    return wrapper


def _backup_items_not_tables(transact):
    """moto backs a transaction up by deep-copying the whole table once per item of the transaction,
    so a transaction's cost grows with the table (a statistics event touching 20 counter items of a
    table of thousands took seconds). Instead, under the write lock, copy only the items the
    transaction touches and put exactly those back when it is cancelled; moto's own table copy
    becomes the table itself."""
    import copy

    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    @functools.wraps(transact)
    def wrapper(self, transact_items, *args, **kwargs):
        saved = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            raw = op.get("Key") or op.get("Item") or {}
            hash_value = raw.get(table.hash_key_attr)
            range_value = raw.get(table.range_key_attr) if table.range_key_attr else None
            if hash_value is None or (table.range_key_attr and range_value is None):
                continue
            hash_key = DynamoType(hash_value)
            range_key = DynamoType(range_value) if range_value is not None else None
            current = table.items.get(hash_key)
            if range_key is not None:
                current = (current or {}).get(range_key)
            saved.append((table, hash_key, range_key, copy.deepcopy(current)))
        had = Table.__dict__.get("__deepcopy__")
        Table.__deepcopy__ = lambda table, memo: table
        try:
            return transact(self, transact_items, *args, **kwargs)
        except Exception:
            for table, hash_key, range_key, item in reversed(saved):
                if range_key is None:
                    if item is None:
                        table.items.pop(hash_key, None)
                    else:
                        table.items[hash_key] = item
                else:
                    rows = table.items[hash_key]
                    if item is None:
                        rows.pop(range_key, None)
                        if not rows:
                            table.items.pop(hash_key, None)
                    else:
                        rows[range_key] = item
            raise
        finally:
            if had is None:
                del Table.__deepcopy__
            else:
                Table.__deepcopy__ = had

    return wrapper
