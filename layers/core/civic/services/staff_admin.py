"""Managing staff (operators: `civic staff …` and the admin pages): invite, set role and units, disable.

Three places say who is staff, and each change keeps them in step: the Cognito group (the role the API
reads from the token), the Users table (which units' reports they see) and the Notifications table's
`staff#<unit>` index (who hears about a unit's reports). A new person gets a temporary password to change
at the first sign-in: Cognito emails it, or on the local stack (no email) the caller is given it once.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from civic.domain.contacts import contact_key
from civic.domain.errors import Invalid, NotFound
from civic.i18n import text

ROLES = ("officer", "leader", "coordinator", "moderator", "admin")
NOTIFIED_ROLES = ("officer", "leader")  # the staff#<unit> index (a unit's staff hear of its reports)
UNITLESS_ROLES = ("admin", "moderator")  # province-wide
DISABLED = "disabled"  # the Users table's role of someone who may no longer act (nor be assigned)


class People(Protocol):
    def find(self, email: str) -> dict[str, Any] | None: ...

    def invite(self, email: str, name: str | None, temporary: str | None) -> str: ...

    def reinvite(self, email: str, temporary: str | None) -> None: ...

    def set_role(self, email: str, role: str, roles: tuple[str, ...]) -> None: ...

    def role_of(self, email: str, roles: tuple[str, ...]) -> str | None: ...

    def set_enabled(self, email: str, enabled: bool) -> None: ...

    def members(self, role: str) -> list[dict[str, Any]]: ...


class Memberships(Protocol):
    def save_membership(self, user_id: str, role: str, units: list[str], email: str, name: str | None,
                        verified_email: str) -> list[str]: ...

    def profiles(self, user_ids: list[str]) -> dict[str, dict[str, Any]]: ...


class StaffIndex(Protocol):
    def index_staff(self, user_id: str, role: str, units: Iterable[str]) -> None: ...

    def unindex_staff(self, user_id: str, units: Iterable[str]) -> None: ...


def temporary_password() -> str:
    """One the pool's policy accepts (upper, lower, digits, 8+)."""
    body = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
    return f"Tmp{body}9z"


EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{2,}$")


def _email(raw: Any) -> str:
    email = raw.strip().lower() if isinstance(raw, str) else ""
    if not EMAIL.match(email) or len(email) > 128:  # Cognito's usernames are at most 128 characters
        raise Invalid("invalid_request", text("Email không hợp lệ", "Invalid email"),
                      {"email": text("Địa chỉ email của người đó", "Their email address")})
    return email


def set_membership(people: People, memberships: Memberships, index: StaffIndex, email: str, role: str,
                   units: list[str], name: str | None, unit_exists: Callable[[str], bool],
                   temporary: str | None = None) -> dict[str, Any]:
    """Create or update one staff member. `temporary`: the local stack's password for a new person."""
    email = _email(email)
    fields = {}
    if role not in ROLES:
        fields["role"] = text(", ".join(ROLES), ", ".join(ROLES))
    unknown = [u for u in units if not unit_exists(u)]
    if unknown:
        fields["units"] = text(f"Đơn vị không tồn tại: {', '.join(unknown)}", f"Unknown unit(s): {', '.join(unknown)}")
    elif role not in UNITLESS_ROLES and not units:
        fields["units"] = text(f"Vai trò {role} cần ít nhất một đơn vị", f"A {role} needs at least one unit")
    if fields:
        raise Invalid("invalid_request", text("Thông tin cán bộ không hợp lệ", "Invalid staff details"), fields)
    found = people.find(email)
    created = found is None
    try:
        user_id = people.invite(email, name, temporary) if found is None else found["user_id"]
    except ValueError:  # the user pool refused the address or name
        raise Invalid("invalid_request", text("Email hoặc họ tên không hợp lệ", "Invalid email or name"),
                      {"email": text("Địa chỉ email của người đó", "Their email address")}) from None
    people.set_role(email, role, ROLES)
    before = memberships.save_membership(user_id, role, list(units), email, name, contact_key("email", email))
    notified = list(units) if role in NOTIFIED_ROLES else []
    index.unindex_staff(user_id, set(before) - set(notified))
    index.index_staff(user_id, role, notified)
    answer: dict[str, Any] = {"user_id": user_id, "email": email, "role": role, "units": list(units),
                              "created": created, "notified_for": notified}
    if created and temporary:
        answer["temporary_password"] = temporary
    return answer


def set_enabled(people: People, memberships: Memberships, index: StaffIndex, email: str, enabled: bool) -> dict[str, Any]:
    """Disable someone: no sign-in (their sessions end), no notifications, not assignable, no reports
    visible; their units and history stay, so enabling them again gives back what they had."""
    email = _email(email)
    found = people.find(email)
    if found is None:
        raise NotFound("Không có người dùng này", "No such user")
    user_id = found["user_id"]
    role = people.role_of(email, ROLES)
    units = memberships.profiles([user_id]).get(user_id, {}).get("units", [])
    people.set_enabled(email, enabled)
    if enabled and role:
        memberships.save_membership(user_id, role, units, email, None, contact_key("email", email))
        index.index_staff(user_id, role, units if role in NOTIFIED_ROLES else [])
    elif not enabled:
        memberships.save_membership(user_id, DISABLED, units, email, None, contact_key("email", email))
        index.unindex_staff(user_id, units)
    return {"user_id": user_id, "email": email, "enabled": enabled, "role": role, "units": units}


def listing(people: People, memberships: Memberships) -> dict[str, Any]:
    """Everyone in a staff group, with their units and whether they may sign in."""
    members = [m for role in ROLES for m in people.members(role)]
    profiles = memberships.profiles([m["user_id"] for m in members if m.get("user_id")])
    items = []
    for member in members:
        profile = profiles.get(member["user_id"], {})
        items.append({**member, "units": profile.get("units", []),
                      "enabled": member["enabled"] and profile.get("role") != DISABLED})
    items.sort(key=lambda m: (ROLES.index(m["role"]), m["email"]))
    return {"items": items}
