"""Contact verification on DynamoDB: items of the Notifications table (TTL `expires`), the verified set
on the person's Users row. No address is stored here in the clear: contacts are keyed by their hash.

  verify#<user>               / <channel>  the pending verification (token and code hashes, wrong codes)
  verify-token#<token hash>   / token      which pending verification a link's token confirms
  verify-sent#<contact key>   / <day>      a message went to this address that local day (one a day)
  verify-budget#<account>     / <day>      how many messages the account caused that local day
"""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from civic.adapters.dynamo.models import NotificationModel, UserModel
from civic.adapters.dynamo.reports import _reasons, condition_failed
from civic.domain.contacts import Pending

COUNTER_TTL_SECONDS = 3 * 86400  # a day's counters outlive the day, then TTL removes them


def _pending(model: NotificationModel) -> Pending:
    data = model.data.as_dict() if hasattr(model.data, "as_dict") else dict(model.data or {})
    return Pending(user_id=str(model.user_id), channel=model.sk, contact_key=data["contact_key"],
                   token_hash=data["token_hash"], code_hash=data["code_hash"], expires=int(model.expires or 0),
                   attempts=int(model.tally or 0))


class DynamoContactStore:
    def __init__(self) -> None:
        self._connection = NotificationModel._get_connection().connection

    def pending(self, user_id: str, channel: str) -> Pending | None:
        try:
            return _pending(NotificationModel.get(f"verify#{user_id}", channel, consistent_read=True))
        except DoesNotExist:
            return None

    def pending_by_token(self, token_hash: str) -> Pending | None:
        try:
            row = NotificationModel.get(f"verify-token#{token_hash}", "token", consistent_read=True)
        except DoesNotExist:
            return None
        found = self.pending(str(row.user_id), str(row.kind))
        # A newer verification of that channel replaced this token's.
        return found if found is not None and found.token_hash == token_hash else None

    def start(self, pending: Pending, *, day: str, account: str, cap: int, now_epoch: int) -> bool:
        """Claim the address's one message of the day and one of the account's, and store the pending
        verification, all or nothing. False when a limit is reached (nothing is written)."""
        counters = now_epoch + COUNTER_TTL_SECONDS
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(NotificationModel(pk=f"verify-sent#{pending.contact_key}", sk=day, expires=counters),
                        condition=NotificationModel.pk.does_not_exist())
                tx.update(NotificationModel(pk=f"verify-budget#{account}", sk=day),
                          actions=[NotificationModel.tally.add(1), NotificationModel.expires.set(counters)],
                          condition=NotificationModel.tally.does_not_exist() | (NotificationModel.tally < cap))
                tx.save(NotificationModel(
                    pk=f"verify#{pending.user_id}", sk=pending.channel, user_id=pending.user_id, tally=0,
                    expires=pending.expires, data={"contact_key": pending.contact_key,
                                                   "token_hash": pending.token_hash, "code_hash": pending.code_hash}))
                tx.save(NotificationModel(pk=f"verify-token#{pending.token_hash}", sk="token", user_id=pending.user_id,
                                          kind=pending.channel, expires=pending.expires))
        except TransactWriteError as exc:
            if "ConditionalCheckFailed" in _reasons(exc):
                return False
            raise
        return True

    def abandon(self, pending: Pending, day: str) -> None:
        """Undo `start` when its message could not be queued, so a retry may send one (the account's
        count stays spent)."""
        NotificationModel(pk=f"verify-sent#{pending.contact_key}", sk=day).delete()
        NotificationModel(pk=f"verify#{pending.user_id}", sk=pending.channel).delete()
        NotificationModel(pk=f"verify-token#{pending.token_hash}", sk="token").delete()

    def wrong_attempt(self, pending: Pending, limit: int) -> int:
        """Count a wrong code; returns the attempts made (`limit` when the limit was already reached)."""
        try:
            NotificationModel(pk=f"verify#{pending.user_id}", sk=pending.channel).update(
                actions=[NotificationModel.tally.add(1)],
                condition=NotificationModel.pk.exists() & (NotificationModel.tally < limit))
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            return limit
        found = self.pending(pending.user_id, pending.channel)
        return found.attempts if found else limit

    def confirm(self, pending: Pending) -> None:
        """The owner proved the address: it joins the person's verified set; the token is spent."""
        with TransactWrite(connection=self._connection) as tx:
            tx.update(UserModel(pending.user_id), actions=[UserModel.verified.add({pending.contact_key})],
                      condition=UserModel.user_id.exists())
            tx.delete(NotificationModel(pk=f"verify#{pending.user_id}", sk=pending.channel))
            tx.delete(NotificationModel(pk=f"verify-token#{pending.token_hash}", sk="token"))

    def mark_verified(self, user_id: str, keys: set[str]) -> None:
        UserModel(user_id).update(actions=[UserModel.role.set(UserModel.role | "citizen"),
                                           UserModel.verified.add(keys)])
