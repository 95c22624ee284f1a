"""`civic staff set EMAIL --role R --unit CODE…`: make someone staff of units, or change their role or units.

One command keeps the three places that say who is staff in step: the Cognito group (the role the
API reads from the token), the Users table (`units`: which reports they see) and the Notifications
table's `staff#<unit>` index (who hears about a unit's reports). A new person gets a Cognito invitation
email with a temporary password; running it again with other units moves them, and the old units stop
notifying them.
"""

from __future__ import annotations

import argparse
import json

from civic_dev.cli.target import add_arguments, fail, resolve

ROLES = ("officer", "leader", "coordinator", "moderator", "admin")
NOTIFIED_ROLES = ("officer", "leader")  # the staff#<unit> index (civic.services.notify: a unit's staff)


def set_membership(cognito, pool_id: str, email: str, role: str, units: list[str], name: str | None,
                   unit_exists) -> dict:
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
        # Cognito emails the invitation with a temporary password; it is never printed here.
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
    return {"user_id": sub, "email": email, "role": role, "units": list(units), "created": created,
            "notified_for": notified}


def _set(args: argparse.Namespace) -> int:
    target = resolve(args)
    settings = target.settings()  # binds the models to the target's tables
    from civic.adapters.dynamo.units import DynamoUnitStore

    tree = DynamoUnitStore().tree()
    try:
        result = set_membership(target.client("cognito-idp"), settings.user_pool_id, args.email.strip().lower(),
                                args.role, args.unit or [], args.name, lambda code: code in tree)
    except ValueError as exc:
        return fail(str(exc))
    print(json.dumps({"target": target.description, **result}, ensure_ascii=False))
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
