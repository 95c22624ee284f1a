"""Quota counters on DynamoDB (the Quotas table): one conditional increment per counter, so however
many Lambda containers count at once, no more than the limit ever passes.

Several counters (an hour and a day) are taken in one TransactWriteItems: all are counted or none, so a
refused use never eats into another window.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from civic.adapters.dynamo.models import QuotaModel
from civic.domain.quotas import Counter

# Real DynamoDB cancels concurrent transactions on the same item (TransactionConflict); a burst from
# one account is exactly that, so a conflicting take is retried, briefly.
_CONFLICT_RETRIES = 8


def _condition(limit: int):
    return QuotaModel.uses.does_not_exist() | (QuotaModel.uses < limit)


def _actions(counter: Counter) -> list:
    return [QuotaModel.uses.add(1), QuotaModel.expires_at.set(counter.expires_at)]


def _failed_condition(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class DynamoQuotaCounters:
    def __init__(self) -> None:
        self._connection = QuotaModel._get_connection().connection

    def take(self, counters: Sequence[Counter]) -> list[Counter]:
        if len(counters) == 1:
            return self._take_one(counters[0])
        for attempt in range(_CONFLICT_RETRIES):
            try:
                with TransactWrite(connection=self._connection) as tx:
                    for counter in counters:
                        tx.update(QuotaModel(counter.key), actions=_actions(counter),
                                  condition=_condition(counter.limit))
                return []
            except TransactWriteError as exc:
                reasons = [getattr(r, "code", None) if r else None for r in (exc.cancellation_reasons or [])]
                full = [c for c, reason in zip(counters, reasons) if reason == "ConditionalCheckFailed"]
                if full:
                    return full
                if "TransactionConflict" not in reasons or attempt == _CONFLICT_RETRIES - 1:
                    raise
                time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))
        raise AssertionError("unreachable")

    def _take_one(self, counter: Counter) -> list[Counter]:
        try:
            QuotaModel(counter.key).update(actions=_actions(counter), condition=_condition(counter.limit))
        except UpdateError as exc:
            if _failed_condition(exc):
                return [counter]
            raise
        return []

    def used(self, key: str) -> int:
        """How many uses a counter holds (0 when it does not exist): for operators and tests."""
        try:
            return int(QuotaModel.get(key, consistent_read=True).uses or 0)
        except DoesNotExist:
            return 0
