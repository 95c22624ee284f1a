"""Open311 storage on DynamoDB: API clients (hashed keys), submitters' contact details, and the
reports of a date range read through the ByDay index.

Clients live in the Users table beside the people (civic.adapters.dynamo.models.Open311*Model): a key row per
key hash (one GetItem checks a key), a row per client, and one registry row listing the client ids.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterator

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from civic.adapters.dynamo.models import (
    Open311ClientModel,
    Open311KeyModel,
    Open311RegistryModel,
    ReportModel,
    TimelineModel,
    UserModel,
)
from civic.domain.reports import Report, TimelineEvent

CLIENT_PREFIX = "open311-client#"
KEY_PREFIX = "open311-key#"
REGISTRY_ID = "open311-clients"
KEY_PREFIX_TEXT = "o311_"


def key_hash(api_key: str) -> str:
    # API keys are 256 random bits: a plain SHA-256 is enough (no dictionary to guard against).
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def _client_view(row: Open311ClientModel) -> dict:
    return {
        "client_id": row.client_id,
        "name": row.name,
        "contact": row.contact,
        "key_hint": row.key_hint,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
        "active": row.revoked_at is None,
    }


class Open311Store:
    def __init__(self) -> None:
        self._connection = Open311ClientModel._get_connection().connection

    # ------------------------------------------------------------ clients

    def create_client(self, name: str, contact: str | None, now: str) -> dict:
        """A new client and its key; the key is in this answer only (only its hash is stored)."""
        client_id = uuid.uuid4().hex[:12]
        api_key = KEY_PREFIX_TEXT + secrets.token_urlsafe(32)
        row = Open311ClientModel(
            user_id=CLIENT_PREFIX + client_id, client_id=client_id, name=name, contact=contact,
            key_hash=key_hash(api_key), key_hint=api_key[:9], created_at=now,
        )
        with TransactWrite(connection=self._connection) as tx:
            tx.save(Open311KeyModel(user_id=KEY_PREFIX + row.key_hash, client_id=client_id),
                    condition=Open311KeyModel.user_id.does_not_exist())
            tx.save(row, condition=Open311ClientModel.user_id.does_not_exist())
            tx.update(Open311RegistryModel(REGISTRY_ID), actions=[Open311RegistryModel.client_ids.add({client_id})])
        return {**_client_view(row), "api_key": api_key}

    def clients(self) -> list[dict]:
        try:
            ids = sorted(Open311RegistryModel.get(REGISTRY_ID, consistent_read=True).client_ids or ())
        except DoesNotExist:
            return []
        rows = Open311ClientModel.batch_get([CLIENT_PREFIX + i for i in ids]) if ids else []
        return sorted((_client_view(r) for r in rows), key=lambda c: c["created_at"])

    def revoke(self, client_id: str, now: str) -> dict | None:
        """Revoke a client's key (its key row goes; the client row keeps when). None: no such client."""
        try:
            row = Open311ClientModel.get(CLIENT_PREFIX + client_id, consistent_read=True)
        except DoesNotExist:
            return None
        if row.revoked_at is None:
            try:
                with TransactWrite(connection=self._connection) as tx:
                    tx.delete(Open311KeyModel(KEY_PREFIX + row.key_hash))
                    tx.update(row, actions=[Open311ClientModel.revoked_at.set(now)],
                              condition=Open311ClientModel.revoked_at.does_not_exist())
            except TransactWriteError:
                pass  # revoked concurrently: the result is the same
            row.refresh(consistent_read=True)
        return _client_view(row)

    def client_for_key(self, api_key: str | None) -> str | None:
        if not api_key or len(api_key) > 128:
            return None
        try:
            return Open311KeyModel.get(KEY_PREFIX + key_hash(api_key), consistent_read=True).client_id
        except DoesNotExist:
            return None

    # ------------------------------------------------------------ the people who report

    def save_contact(self, user_id: str, contact: dict, display_name: str | None) -> None:
        """Create a submitter's profile, or fill only what it lacks: the identity's own detail (see
        chalicelib.open311.submissions.parse_submission), a name, and the channels of a new profile."""
        actions = [UserModel.role.set(UserModel.role | "citizen")]
        # `|` is if_not_exists: a later request never changes where an existing profile's messages go.
        if contact.get("email"):
            actions.append(UserModel.email.set(UserModel.email | contact["email"]))
        if contact.get("phone"):
            actions.append(UserModel.phone.set(UserModel.phone | contact["phone"]))
        if display_name:
            actions.append(UserModel.display_name.set(UserModel.display_name | display_name))
        # Notified on the channels they gave us (civic.services.notify), unless they chose otherwise since.
        channels = ["inbox"] + (["email"] if contact.get("email") else []) + (["sms"] if contact.get("phone") else [])
        actions.append(UserModel.channels.set(UserModel.channels | channels))
        UserModel(user_id).update(actions=actions)

    # ------------------------------------------------------------ timelines, in bulk

    def recent_events(self, reports: list[Report], depth: int) -> list[list[TimelineEvent]]:
        """The last `depth` events of each report (its versions are its events' seqs), oldest first:
        BatchGetItem, 100 keys a call, instead of one query per report."""
        from civic.adapters.dynamo.reports import model_to_event

        keys = [(r.id, seq) for r in reports for seq in range(max(1, r.version - depth + 1), r.version + 1)]
        found: dict[str, list[TimelineEvent]] = {r.id: [] for r in reports}
        for model in TimelineModel.batch_get(keys):
            event = model_to_event(model)
            found[event.report_id].append(event)
        return [sorted(found[r.id], key=lambda e: e.seq) for r in reports]

    # ------------------------------------------------------------ reports by date

    def reports_between(self, start: str, end: str, days: list[str]) -> Iterator[Report]:
        """Reports created within [start, end] (UTC ISO), newest first, one ByDay query per local day
        (`days`, newest first), read page by page as the caller consumes them."""
        from civic.adapters.dynamo.reports import model_to_report

        for day in days:
            rows = ReportModel.by_day.query(
                day, ReportModel.created_key.between(start, end + "#~"), scan_index_forward=False, page_size=200,
            )
            for model in rows:
                yield model_to_report(model)

