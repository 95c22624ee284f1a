"""Units and routing rules on DynamoDB (Units and Rules tables), and the followers of reports."""

from __future__ import annotations

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from civic.adapters.dynamo.models import FollowModel, RuleModel, UnitModel, UserModel
from civic.adapters.dynamo.reports import condition_failed
from civic.domain.units import RoutingRule, Unit, UnitTree

# The Units table's version row: its `data_version` is bumped after every write of a unit or a rule
# (never a unit: '#' is not in any unit code), so a cache reads one item to learn whether to re-read.
VERSION_CODE = "#version"


def _unit(model: UnitModel) -> Unit:
    contact = model.contact.as_dict() if model.contact is not None and hasattr(model.contact, "as_dict") else dict(model.contact or {})
    return Unit(
        code=model.code,
        name_vi=model.name_vi,
        name_en=model.name_en,
        kind=model.kind,
        parent_code=model.parent_code,
        categories=list(model.categories or []),
        contact={k: str(v) for k, v in contact.items()},
        synthetic=bool(model.synthetic),
        requires_approval=bool(model.requires_approval),
    )


def _rule(model: RuleModel) -> RoutingRule:
    return RoutingRule(
        id=model.id,
        category=model.category,
        scope=model.scope,
        target=model.target,
        where=model.where,
        priority=int(model.priority or 0),
        enabled=bool(model.enabled),
        note=model.note or "",
    )


class DynamoUnitStore:
    def units(self) -> list[Unit]:
        return sorted((_unit(m) for m in UnitModel.scan() if m.code != VERSION_CODE), key=lambda u: u.code)

    def version(self) -> int:
        """The units' and rules' version: changes whenever a unit or a rule was written since."""
        try:
            return int(UnitModel.get(VERSION_CODE, consistent_read=True).data_version or 0)
        except DoesNotExist:
            return 0

    def _changed(self) -> None:
        UnitModel(code=VERSION_CODE).update(actions=[UnitModel.data_version.add(1)])

    def tree(self) -> UnitTree:
        return UnitTree(self.units())

    def put(self, unit: Unit) -> None:
        UnitModel(
            code=unit.code,
            parent_code=unit.parent_code,
            kind=unit.kind,
            name_vi=unit.name_vi,
            name_en=unit.name_en,
            categories=unit.categories,
            contact=unit.contact or None,
            synthetic=unit.synthetic,
            requires_approval=unit.requires_approval,
        ).save()
        self._changed()

    def delete(self, code: str) -> bool:
        try:
            UnitModel(code=code).delete(condition=UnitModel.code.exists())
            self._changed()
            return True
        except DeleteError as exc:
            if not condition_failed(exc):
                raise
            return False

    def rules(self) -> list[RoutingRule]:
        return sorted((_rule(m) for m in RuleModel.scan()), key=lambda r: r.id)

    def put_rule(self, rule: RoutingRule) -> None:
        RuleModel(
            id=rule.id, category=rule.category, scope=rule.scope, target=rule.target, where=rule.where,
            priority=rule.priority, enabled=rule.enabled, note=rule.note,
        ).save()
        self._changed()

    def delete_rule(self, rule_id: str) -> bool:
        try:
            RuleModel(id=rule_id).delete(condition=RuleModel.id.exists())
            self._changed()
            return True
        except DeleteError as exc:
            if not condition_failed(exc):
                raise
            return False


class DynamoFollowStore:
    """Follows are rows (report_id, user_id); the count is a COUNT query, never a counter on the
    report row, so following never races with the staff's versioned writes to the report."""

    def follow(self, report_id: str, user_id: str, at: str) -> bool:
        """True if this started a follow, False if the user already followed."""
        try:
            FollowModel(report_id=report_id, user_id=user_id, at=at).save(condition=FollowModel.user_id.does_not_exist())
            return True
        except PutError as exc:
            if not condition_failed(exc):
                raise
            return False

    def unfollow(self, report_id: str, user_id: str) -> bool:
        try:
            FollowModel(report_id=report_id, user_id=user_id).delete(condition=FollowModel.user_id.exists())
            return True
        except DeleteError as exc:
            if not condition_failed(exc):
                raise
            return False

    def is_following(self, report_id: str, user_id: str) -> bool:
        try:
            FollowModel.get(report_id, user_id)
            return True
        except DoesNotExist:
            return False

    def count(self, report_id: str) -> int:
        return FollowModel.count(report_id)


class DynamoStaffDirectory:
    """Which units a staff member belongs to (the Users table; Cognito groups give the role)."""

    def staff_units(self, user_id: str) -> list[str]:
        """The units of an officer or leader (empty for anyone else: citizens, strangers)."""
        try:
            user = UserModel.get(user_id)
        except DoesNotExist:
            return []
        return list(user.units or []) if user.role in ("officer", "leader") else []

    def membership(self, user_id: str) -> tuple[str | None, list[str]]:
        """(role, units) from the Users table in one read; (None, []) for someone unknown."""
        try:
            user = UserModel.get(user_id)
        except DoesNotExist:
            return None, []
        return user.role, [str(u) for u in user.units or []]

    def units_of(self, user_id: str) -> list[str]:
        """A staff member's units; none for someone disabled (a token issued before still signs nothing)."""
        role, units = self.membership(user_id)
        return [] if role == "disabled" else units

    def is_disabled(self, user_id: str) -> bool:
        return self.membership(user_id)[0] == "disabled"

    def save_membership(self, user_id: str, role: str, units: list[str], email: str, name: str | None,
                        verified_email: str) -> list[str]:
        """Write a staff member's role and units (and their email, which the pool holds as verified);
        returns the units they had before."""
        try:
            before = [str(u) for u in UserModel.get(user_id).units or []]
        except DoesNotExist:
            before = []
        actions = [UserModel.role.set(role), UserModel.units.set(list(units)), UserModel.email.set(email),
                   UserModel.verified.add({verified_email})]
        if name:
            actions.append(UserModel.display_name.set(name))
        UserModel(user_id).update(actions=actions)
        return before

    def profiles(self, user_ids: list[str]) -> dict[str, dict]:
        """Role and units of these people, by id (the staff list of the admin pages)."""
        found = {}
        for user in UserModel.batch_get(list(dict.fromkeys(user_ids))):
            found[user.user_id] = {"role": user.role, "units": list(user.units or [])}
        return found
