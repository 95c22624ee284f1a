"""`civic staff set|import|invite`: make people staff of units, change their role or units, invite them.

One command keeps the three places that say who is staff in step: the Cognito group (the role the
API reads from the token), the Users table (`units`: which reports they see) and the Notifications
table's `staff#<unit>` index (who hears about a unit's reports). A new person gets a temporary password
that must be changed at first sign-in: in AWS Cognito emails it (the invitation); on the local stack,
which sends no email, the command prints it. Running it again with other units moves them, and the old
units stop notifying them. `import` does the same for a CSV file (email, role, units, name), checked
whole before anything is written; `invite` sends a new invitation (a new temporary password locally).
"""

from __future__ import annotations

import argparse
import csv
import json

from civic.domain.errors import DomainError
from civic.services.staff_admin import ROLES, temporary_password
from civic_dev.cli.target import add_arguments, fail, resolve

__all__ = ["ROLES", "read_staff_csv", "set_membership", "temporary_password"]


def set_membership(cognito, settings, email: str, role: str, units: list[str], name: str | None, unit_exists,
                   temporary: str | None = None) -> dict:
    """One staff member through civic.services.staff_admin (models bound to the target's tables)."""
    from civic.adapters.cognito import CognitoPeople
    from civic.adapters.dynamo.notify import DynamoNotifyStore
    from civic.adapters.dynamo.units import DynamoStaffDirectory
    from civic.services import staff_admin

    return staff_admin.set_membership(CognitoPeople(settings, cognito), DynamoStaffDirectory(), DynamoNotifyStore(),
                                      email, role, units, name, unit_exists, temporary)


def _set(args: argparse.Namespace) -> int:
    target = resolve(args)
    settings = target.settings()  # binds the models to the target's tables
    from civic.adapters.dynamo.units import DynamoUnitStore

    tree = DynamoUnitStore().tree()
    temporary = temporary_password() if target.local_info is not None else None
    try:
        result = set_membership(target.client("cognito-idp"), settings, args.email.strip().lower(),
                                args.role, args.unit or [], args.name, lambda code: code in tree, temporary)
    except DomainError as exc:
        return fail(f"{exc.message.en}: " + "; ".join(f"{k}: {v.en}" for k, v in exc.fields.items()))
    print(json.dumps({"target": target.description, **result}, ensure_ascii=False))
    return 0


COLUMNS = ("email", "role", "units", "name")


def read_staff_csv(path: str, unit_exists) -> tuple[list[dict], list[str]]:
    """Rows of a staff CSV (email, role, units separated by spaces or ';', name) and every problem found,
    by line, before anything is written."""
    rows, problems, seen = [], [], set()
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS[:3] if c not in (reader.fieldnames or [])]
        if missing:
            return [], [f"missing column(s): {', '.join(missing)} (expected {', '.join(COLUMNS)})"]
        for line, raw in enumerate(reader, start=2):
            email = (raw.get("email") or "").strip().lower()
            role = (raw.get("role") or "").strip()
            units = [u for u in (raw.get("units") or "").replace(";", " ").split() if u]
            name = (raw.get("name") or "").strip() or None
            if "@" not in email:
                problems.append(f"line {line}: email {email!r} is not an email address")
            elif email in seen:
                problems.append(f"line {line}: {email} appears twice")
            seen.add(email)
            if role not in ROLES:
                problems.append(f"line {line}: role {role!r} is not one of {', '.join(ROLES)}")
            elif role not in ("admin", "moderator") and not units:
                problems.append(f"line {line}: a {role} needs at least one unit")
            unknown = [u for u in units if not unit_exists(u)]
            if unknown:
                problems.append(f"line {line}: unknown unit(s) {', '.join(unknown)}")
            rows.append({"email": email, "role": role, "units": units, "name": name})
    return rows, problems


def _import(args: argparse.Namespace) -> int:
    target = resolve(args)
    settings = target.settings()
    from civic.adapters.dynamo.units import DynamoUnitStore

    tree = DynamoUnitStore().tree()
    try:
        rows, problems = read_staff_csv(args.file, lambda code: code in tree)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return fail(f"{args.file}: {exc}")
    if problems:
        for problem in problems:
            print(f"REFUSED {problem}")
        return fail(f"{len(problems)} problem(s) in {args.file}; nothing was written")
    cognito, local = target.client("cognito-idp"), target.local_info is not None
    for row in rows:
        result = set_membership(cognito, settings, row["email"], row["role"], row["units"], row["name"],
                                lambda code: code in tree, temporary_password() if local else None)
        what = "created" if result["created"] else "updated"
        password = f"  temporary password: {result['temporary_password']}" if "temporary_password" in result else ""
        print(f"OK {row['email']}: {what}, {row['role']} of {' '.join(row['units']) or '(all)'}{password}")
    print(f"{len(rows)} staff member(s) set on {target.description}"
          + ("" if local else "; new people got Cognito's invitation email"))
    return 0


def _invite(args: argparse.Namespace) -> int:
    """A new invitation: Cognito's email again in AWS; a new temporary password printed locally."""
    from civic.adapters.cognito import CognitoPeople

    target = resolve(args)
    cognito, email = target.client("cognito-idp"), args.email.strip().lower()
    temporary = temporary_password() if target.local_info is not None else None
    try:
        CognitoPeople(target.settings(), cognito).reinvite(email, temporary)
    except cognito.exceptions.UserNotFoundException:
        return fail(f"{email} is not a user: add them with `civic staff set {email} --role … --unit …`")
    if temporary:
        print(f"OK {email}: temporary password {temporary} (to be changed at first sign-in)")
    else:
        print(f"OK {email}: Cognito sent the invitation again")
    return 0


def register(sub) -> None:
    staff = sub.add_parser("staff", help="staff membership: `civic staff set EMAIL --role R --unit CODE`")
    actions = staff.add_subparsers(dest="action", required=True)
    put = actions.add_parser("set", help="make someone staff of units, or change their role or units "
                                         "(Cognito group, Users table and notification index together)")
    put.add_argument("email", help="their email (the sign-in name); a new person gets a Cognito invitation")
    put.add_argument("--role", required=True, choices=ROLES)
    put.add_argument("--unit", action="append", help="a unit code (repeat for several); replaces their units")
    put.add_argument("--name", help="display name (new people)")
    add_arguments(put)
    put.set_defaults(func=_set)

    imp = actions.add_parser("import", help="set many staff from a CSV file: email, role, units (space or ;), name")
    imp.add_argument("file", help="CSV with a header line: email,role,units,name")
    add_arguments(imp)
    imp.set_defaults(func=_import)

    inv = actions.add_parser("invite", help="invite again (AWS: Cognito's email; local: a new temporary password)")
    inv.add_argument("email")
    add_arguments(inv)
    inv.set_defaults(func=_invite)
