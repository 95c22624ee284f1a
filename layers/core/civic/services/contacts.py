"""Contact verification use cases: send the one verification message (rate-limited), confirm by the
link's token or by the code, and say which contacts are verified (issue #17).

The verification message goes through NotifyQueue and the send function like every message; it is the
only message built for an unconfirmed contact (civic.domain.notify leaves unconfirmed contacts out).
Ports: `store` (DynamoContactStore), `notify_store` (preferences), `queue` (the notify queue).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from civic.clock import local_day, parse_utc
from civic.domain import contacts as rules
from civic.domain import notify as core
from civic.domain.contacts import MAX_ATTEMPTS, VERIFIABLE, Pending
from civic.domain.ports import ContactStore, NotifyQueue, NotifyStore

if TYPE_CHECKING:
    from civic.domain.inputs import ContactCode, ContactToken

# Fields of the preferences view whose status GET /v1/me/preferences shows, by channel.
VIEW_FIELDS = VERIFIABLE


@dataclass(frozen=True)
class Verification:
    """What verification needs, wired once (civic.bootstrap): its store, the notify queue, where links
    point, and the daily caps (a signed-in account; an Open311 client, which reports for many people)."""

    store: ContactStore
    queue: NotifyQueue
    web_base: str
    account_cap: int = rules.PER_ACCOUNT_DAY
    open311_cap: int = 100

    def for_user(self, prefs: core.Preferences, channels: Iterable[str], now: str) -> dict[str, str]:
        return request(prefs, channels, store=self.store, queue=self.queue, web_base=self.web_base,
                       account=f"user#{prefs.user_id}", cap=self.account_cap, now=now)

    def for_open311(self, prefs: core.Preferences, client_id: str, now: str) -> dict[str, str]:
        return request(prefs, prefs.channels, store=self.store, queue=self.queue, web_base=self.web_base,
                       account=f"open311#{client_id}", cap=self.open311_cap, now=now, defer=True)


def _epoch(now: str) -> int:
    return int(parse_utc(now).timestamp())


def request(prefs: core.Preferences, channels: Iterable[str], *, store: ContactStore, queue: NotifyQueue,
            web_base: str, account: str, cap: int, now: str, defer: bool = False) -> dict[str, str]:
    """Ask each given channel's owner to confirm it, unless it is verified or a live code was sent.

    Returns {channel: verified | pending | sent | limited}. `account` is whose daily budget pays
    (`user#<id>`, or `open311#<client>`); `cap` its size. `defer`: hold SMS and Zalo through the
    default quiet hours (a stranger named by an Open311 client is not woken at night).
    """
    out: dict[str, str] = {}
    now_epoch, day = _epoch(now), local_day(now)
    for channel in dict.fromkeys(channels):
        address = prefs.address(channel) if channel in VERIFIABLE else None
        if not address:
            continue
        if prefs.is_verified(channel):
            out[channel] = "verified"
            continue
        key = rules.contact_key(channel, address)
        current = store.pending(prefs.user_id, channel)
        if current is not None and current.contact_key == key and current.live(now_epoch):
            out[channel] = "pending"  # one message until it expires: saving again sends none
            continue
        token, code = secrets.token_urlsafe(24), f"{secrets.randbelow(10 ** rules.CODE_DIGITS):06d}"
        pending = Pending(user_id=prefs.user_id, channel=channel, contact_key=key,
                          token_hash=rules.secret_hash(token), code_hash=rules.code_hash(prefs.user_id, channel, code),
                          expires=now_epoch + rules.TOKEN_TTL_SECONDS)
        if not store.start(pending, day=day, account=account, cap=cap, now_epoch=now_epoch):
            out[channel] = "limited"
            continue
        title, body = rules.message(channel, code, rules.verify_link(web_base, token))
        quiet = core.quiet_until(now, *core.DEFAULT_QUIET) if defer and channel in core.DEFERRABLE else None
        message = core.Message(
            id=core.message_id(f"verify:{pending.token_hash}", prefs.user_id, channel), user_id=prefs.user_id,
            channel=channel, kind="verify", event_type="verify", title=title, text=body, language="vi", at=now,
            address=address, not_before=quiet)
        try:
            queue.send_messages([message], now)
        except Exception:
            store.abandon(pending, day)
            raise
        out[channel] = "sent"
    return out


def confirm_token(body: ContactToken, *, store: ContactStore, now: str) -> dict[str, Any]:
    """POST /v1/contacts/verify: the link's token is the secret (works without an account)."""
    pending = store.pending_by_token(rules.secret_hash(body.token))
    if pending is None or not pending.live(_epoch(now)):
        raise rules.invalid_token()
    store.confirm(pending)
    return {"verified": True, "channel": pending.channel}


def confirm_code(user_id: str, body: ContactCode, *, store: ContactStore, notify_store: NotifyStore,
                 now: str) -> dict[str, Any]:
    """POST /v1/me/contacts/verify: the code, for the signed-in owner of the contact."""
    channel, code = body.channel, body.code
    prefs = notify_store.get_preferences(user_id)
    address = prefs.address(channel) if prefs else None
    contact = rules.contact_key(channel, address) if address else None
    pending = store.pending(user_id, channel)
    if rules.check_code(pending, contact, code, _epoch(now)):
        assert pending is not None  # check_code refused a missing one
        store.confirm(pending)
        return {"verified": True, "channel": channel}
    assert pending is not None
    # The next try after the last one allowed is refused by check_code (403 too_many_attempts).
    raise rules.wrong_code(max(0, MAX_ATTEMPTS - store.wrong_attempt(pending, MAX_ATTEMPTS)))


def statuses(prefs: core.Preferences | None, *, store: ContactStore, now: str) -> dict[str, str]:
    """{view field: verified | pending | unverified} for each email, phone and Zalo id on file."""
    if prefs is None:
        return {}
    out = {}
    for channel, name in VIEW_FIELDS.items():
        address = prefs.address(channel)
        if address:
            found = rules.status(channel, address, prefs.verified, store.pending(prefs.user_id, channel), _epoch(now))
            if found:
                out[name] = found
    return out


def with_cognito(prefs: core.Preferences | None, claims: dict[str, Any], *, store: ContactStore
                 ) -> core.Preferences | None:
    """Contacts Cognito verified (the ID token's email_verified / phone_number_verified) count as
    verified without a message; they are recorded so the notify function, which has no token, knows."""
    if prefs is None:
        return None
    found = set()
    for channel, address in rules.cognito_verified(claims).items():
        mine = prefs.address(channel)
        key = rules.contact_key(channel, address)
        if mine and rules.contact_key(channel, mine) == key and key not in prefs.verified:
            found.add(key)
    if not found:
        return prefs
    store.mark_verified(prefs.user_id, found)
    return replace(prefs, verified=prefs.verified | found)

