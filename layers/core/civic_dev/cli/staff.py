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
import secrets
import string

from civic_dev.cli.target import add_arguments, fail, resolve

ROLES = ("officer", "leader", "coordinator", "moderator", "admin")
NOTIFIED_ROLES = ("officer", "leader")  # the staff#<unit> index (civic.services.notify: a unit's staff)


def temporary_password() -> str:
    """One the pool's policy accepts (upper, lower, digits, 8+), for the local stack's invitations."""
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(12))
    return f"Tmp{body}9z"


def set_membership(cognito, pool_id: str, email: str, role: str, units: list[str], name: str | None,
                   unit_exists, temporary: str | None = None) -> dict:
    """Create or update one staff member; models must be bound to the target's tables."""
    from civic.adapters.dynamo.models import NotificationModel, UserModel
    from civic.adapters.dynamo.notify import DynamoNotifyStore

    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    unknown = [u for u in units if not unit_exists(u)]
    if unknown:
        raise ValueError(f"unknown unit(s): {', '.join(unknown)}")
    if role not in ("admin", "moderator") and not units:  # a moderator works province-wide
        raise ValueError(f"a {role} needs at least one --unit")
    try:
        user = cognito.admin_get_user(UserPoolId=pool_id, Username=email)
        created = False
    except cognito.exceptions.UserNotFoundException:
        attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
        if name:
            attributes.append({"Name": "name", "Value": name})
        if temporary:  # the local stack sends no email: the caller prints this password once
            user = cognito.admin_create_user(UserPoolId=pool_id, Username=email, UserAttributes=attributes,
                                             TemporaryPassword=temporary, MessageAction="SUPPRESS")["User"]
        else:  # Cognito emails the invitation with a temporary password; it is never printed here.
            user = cognito.admin_create_user(UserPoolId=pool_id, Username=email, UserAttributes=attributes,
                                             DesiredDeliveryMediums=["EMAIL"])["User"]
        created = True
    attributes = user.get("UserAttributes") or user.get("Attributes") or []
    sub = next(a["Value"] for a in attributes if a["Name"] == "sub")
    groups = cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username=email)["Groups"]
    for group in groups:
        if group["GroupName"] in ROLES and group["GroupName"] != role:
            cognito.admin_remove_user_from_group(UserPoolId=pool_id, Username=email, GroupName=group["GroupName"])
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=role)

    try:
        before = list(UserModel.get(sub).units or [])
    except UserModel.DoesNotExist:
        before = []
    from civic.domain.contacts import contact_key

    # The pool holds the address as verified (email_verified above): notifications may use it at once.
    actions = [UserModel.role.set(role), UserModel.units.set(list(units)), UserModel.email.set(email),
               UserModel.verified.add({contact_key("email", email)})]
    if name:
        actions.append(UserModel.display_name.set(name))
    UserModel(sub).update(actions=actions)
    notified = list(units) if role in NOTIFIED_ROLES else []
    for unit in set(before) - set(notified):
        NotificationModel(f"staff#{unit}", sub).delete()
    DynamoNotifyStore().index_staff(sub, role, notified)
    answer = {"user_id": sub, "email": email, "role": role, "units": list(units), "created": created,
              "notified_for": notified}
    if created and temporary:
        answer["temporary_password"] = temporary
    return answer


def _set(args: argparse.Namespace) -> int:
    target = resolve(args)
    settings = target.settings()  # binds the models to the target's tables
    from civic.adapters.dynamo.units import DynamoUnitStore

    tree = DynamoUnitStore().tree()
    temporary = temporary_password() if target.local_info is not None else None
    try:
        result = set_membership(target.client("cognito-idp"), settings.user_pool_id, args.email.strip().lower(),
                                args.role, args.unit or [], args.name, lambda code: code in tree, temporary)
    except ValueError as exc:
        return fail(str(exc))
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
        result = set_membership(cognito, settings.user_pool_id, row["email"], row["role"], row["units"], row["name"],
                                lambda code: code in tree, temporary_password() if local else None)
        what = "created" if result["created"] else "updated"
        password = f"  temporary password: {result['temporary_password']}" if "temporary_password" in result else ""
        print(f"OK {row['email']}: {what}, {row['role']} of {' '.join(row['units']) or '(all)'}{password}")
    print(f"{len(rows)} staff member(s) set on {target.description}"
          + ("" if local else "; new people got Cognito's invitation email"))
    return 0


def _invite(args: argparse.Namespace) -> int:
    """A new invitation: Cognito's email again in AWS; a new temporary password printed locally."""
    target = resolve(args)
    settings = target.settings()
    cognito, email = target.client("cognito-idp"), args.email.strip().lower()
    try:
        if target.local_info is not None:
            temporary = temporary_password()
            cognito.admin_set_user_password(UserPoolId=settings.user_pool_id, Username=email, Password=temporary,
                                            Permanent=False)
            print(f"OK {email}: temporary password {temporary} (to be changed at first sign-in)")
        else:
            cognito.admin_create_user(UserPoolId=settings.user_pool_id, Username=email, MessageAction="RESEND",
                                      DesiredDeliveryMediums=["EMAIL"])
            print(f"OK {email}: Cognito sent the invitation again")
    except cognito.exceptions.UserNotFoundException:
        return fail(f"{email} is not a user: add them with `civic staff set {email} --role … --unit …`")
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
