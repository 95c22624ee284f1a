"""Organisation units, routing rules, and the decision of who handles a report.

Units form a tree of any depth (province/city → district → commune/ward, with departments and
agencies anywhere). Rules are data: they send a category to a specialised agency.

Precedence — the first level that matches decides; inside a level the highest `priority` wins,
then the lowest rule id:
  1. a `unit` rule on the administrative unit that contains the point;
  2. a `boundary` rule whose agency's own service area contains the point;
  3. an `ancestor` rule on the nearest ancestor of that unit (its parent, then grandparent, ...);
  4. no rule: the unit itself if it handles the category, else its nearest ancestor that does,
     else the unit itself (somebody must look at it).
A point outside every administrative boundary (after snapping) goes to `needs_triage`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

ADMIN_KINDS = ("country", "province", "city", "district", "commune", "ward", "town")
AGENCY_KINDS = ("agency", "department", "company")
# The smallest administrative units: where citizens live and reports are made.
LOCAL_KINDS = ("ward", "commune", "town")
KINDS = ADMIN_KINDS + AGENCY_KINDS
SCOPES = ("unit", "boundary", "ancestor")
Scope = Literal["unit", "boundary", "ancestor"]
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@dataclass
class Unit:
    code: str
    name_vi: str
    name_en: str
    kind: str
    parent_code: str | None = None
    categories: list[str] = field(default_factory=list)  # empty: handles every category
    contact: dict[str, str] = field(default_factory=dict)  # the office's public phone, email, address
    synthetic: bool = False
    requires_approval: bool = False  # results wait for a leader's approval before they are published

    @property
    def is_agency(self) -> bool:
        return self.kind in AGENCY_KINDS

    def handles(self, category: str) -> bool:
        return not self.categories or category in self.categories

    def public(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RoutingRule:
    id: str
    category: str
    scope: Scope
    target: str  # the unit that handles matching reports (usually an agency)
    where: str | None = None  # the admin unit (unit/ancestor scopes); unused for boundary scope
    priority: int = 0
    enabled: bool = True
    note: str = ""

    def public(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    admin_unit: str | None  # the administrative unit containing the point
    handler: str | None  # who handles it; None means triage
    rule_id: str | None = None
    reason: str = "default"  # unit_rule | boundary_rule | ancestor_rule | default | parent_handles | outside

    @property
    def status(self) -> str:
        return "routed" if self.handler else "needs_triage"


class UnitTree:
    """Units by code with ancestor walks; built once per container from the Units table."""

    def __init__(self, units: Iterable[Unit]):
        self.by_code: dict[str, Unit] = {u.code: u for u in units}

    def __contains__(self, code: str) -> bool:
        return code in self.by_code

    def get(self, code: str | None) -> Unit | None:
        return self.by_code.get(code) if code else None

    def ancestors(self, code: str) -> list[str]:
        """Parent first, root last; stops on a cycle rather than looping."""
        out: list[str] = []
        seen = {code}
        unit = self.get(code)
        while unit and unit.parent_code and unit.parent_code not in seen:
            out.append(unit.parent_code)
            seen.add(unit.parent_code)
            unit = self.get(unit.parent_code)
        return out

    def children(self, code: str) -> list[Unit]:
        return sorted((u for u in self.by_code.values() if u.parent_code == code), key=lambda u: u.code)


# Words that name a unit's kind in front of its name ("Phường Mường Thanh"), left out when matching.
_KIND_WORDS = ("phuong", "xa", "thi tran", "ward", "commune", "town")


def _plain(value: str) -> str:
    """Lower case without diacritics (đ → d), parentheses dropped, spaces folded: how people type."""
    import re
    import unicodedata

    value = re.sub(r"\([^)]*\)", " ", value.replace("đ", "d").replace("Đ", "D"))
    value = "".join(c for c in unicodedata.normalize("NFD", value) if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", value.lower()).split())


def unit_named_in(text: str, tree: UnitTree, kinds: tuple[str, ...] = LOCAL_KINDS) -> str | None:
    """The ward or commune an address names ("số 5 đường Võ Nguyên Giáp, phường Mường Thanh"), matched
    by its name without the kind word, tolerant of missing diacritics; the longest name wins, and a
    name two units share names none."""
    address = f" {_plain(text)} "
    found: dict[str, list[str]] = {}
    for unit in tree.by_code.values():
        if unit.kind not in kinds:
            continue
        name = _plain(unit.name_vi)
        for word in _KIND_WORDS:
            name = name.removeprefix(word + " ")
        if len(name) >= 3 and f" {name} " in address:
            found.setdefault(name, []).append(unit.code)
    if not found:
        return None
    longest = max(found, key=len)
    return found[longest][0] if len(found[longest]) == 1 else None


def _best(rules: list[RoutingRule]) -> RoutingRule | None:
    return min(rules, key=lambda r: (-r.priority, r.id)) if rules else None


def decide(
    admin_unit: str | None,
    agencies_covering: Iterable[str],
    category: str,
    tree: UnitTree,
    rules: Iterable[RoutingRule],
) -> Decision:
    """Who handles a report of `category` located in `admin_unit` (see the module's precedence)."""
    if not admin_unit:
        return Decision(admin_unit=None, handler=None, reason="outside")
    active = [r for r in rules if r.enabled and r.category == category and r.target in tree]

    unit_rule = _best([r for r in active if r.scope == "unit" and r.where == admin_unit])
    if unit_rule:
        return Decision(admin_unit, unit_rule.target, unit_rule.id, "unit_rule")

    covering = set(agencies_covering)
    boundary_rule = _best([r for r in active if r.scope == "boundary" and r.target in covering])
    if boundary_rule:
        return Decision(admin_unit, boundary_rule.target, boundary_rule.id, "boundary_rule")

    ancestors = tree.ancestors(admin_unit)
    for ancestor in ancestors:
        rule = _best([r for r in active if r.scope == "ancestor" and r.where == ancestor])
        if rule:
            return Decision(admin_unit, rule.target, rule.id, "ancestor_rule")

    unit = tree.get(admin_unit)
    if unit is None or unit.handles(category):
        return Decision(admin_unit, admin_unit, None, "default")
    for ancestor in ancestors:
        parent = tree.get(ancestor)
        if parent and parent.handles(category):
            return Decision(admin_unit, ancestor, None, "parent_handles")
    return Decision(admin_unit, admin_unit, None, "default")


# ---------------------------------------------------------------- validation of operator input


class UnitError(ValueError):
    """An operator's unit or rule is not valid; `fields` says which parts and why."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def parse_unit(raw: dict[str, Any], known_categories: Iterable[str]) -> Unit:
    if not isinstance(raw, dict):
        raise UnitError({"unit": "must be an object"})
    allowed = {"code", "name_vi", "name_en", "kind", "parent_code", "categories", "contact", "synthetic", "requires_approval"}
    problems: dict[str, str] = {k: "unknown field" for k in raw if k not in allowed}
    code = raw.get("code")
    if not isinstance(code, str) or not CODE.match(code):
        problems["code"] = "1–64 letters, digits, '-', '_' or '.'"
    for name in ("name_vi", "name_en"):
        value = raw.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            problems[name] = "required text, at most 200 characters"
    if not isinstance(raw.get("kind"), str) or raw["kind"] not in KINDS:
        problems["kind"] = "one of " + ", ".join(KINDS)
    parent = raw.get("parent_code")
    if parent is not None and (not isinstance(parent, str) or not CODE.match(parent) or parent == code):
        problems["parent_code"] = "a unit code other than the unit's own, or null"
    categories = raw.get("categories", [])
    known = set(known_categories)
    if not isinstance(categories, list) or any(not isinstance(c, str) or c not in known for c in categories):
        problems["categories"] = "a list of category codes from /v1/categories"
    contact = raw.get("contact", {}) or {}
    if not isinstance(contact, dict) or any(
        k not in ("phone", "email", "address", "website") or not isinstance(v, str) or len(v) > 300
        for k, v in contact.items()
    ):
        problems["contact"] = "an object with phone, email, address, website (text)"
    for flag in ("synthetic", "requires_approval"):
        if not isinstance(raw.get(flag, False), bool):
            problems[flag] = "true or false"
    if problems:
        raise UnitError(problems)
    return Unit(
        code=str(code),
        name_vi=raw["name_vi"].strip(),
        name_en=raw["name_en"].strip(),
        kind=raw["kind"],
        parent_code=parent,
        categories=list(dict.fromkeys(categories)),
        contact=dict(contact),
        synthetic=bool(raw.get("synthetic", False)),
        requires_approval=bool(raw.get("requires_approval", False)),
    )


def parse_rule(raw: dict[str, Any], known_categories: Iterable[str]) -> RoutingRule:
    if not isinstance(raw, dict):
        raise UnitError({"rule": "must be an object"})
    allowed = {"id", "category", "scope", "target", "where", "priority", "enabled", "note"}
    problems: dict[str, str] = {k: "unknown field" for k in raw if k not in allowed}
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not CODE.match(rule_id):
        problems["id"] = "1–64 letters, digits, '-', '_' or '.'"
    if not isinstance(raw.get("category"), str) or raw["category"] not in set(known_categories):
        problems["category"] = "a category code from /v1/categories"
    scope = raw.get("scope")
    if not isinstance(scope, str) or scope not in SCOPES:
        problems["scope"] = "one of unit, boundary, ancestor"
    target = raw.get("target")
    if not isinstance(target, str) or not CODE.match(target):
        problems["target"] = "the code of the unit that handles matching reports"
    where = raw.get("where")
    if scope in ("unit", "ancestor") and (not isinstance(where, str) or not CODE.match(where)):
        problems["where"] = "the administrative unit the rule applies to (required for unit/ancestor scopes)"
    if scope == "boundary" and where is not None:
        problems["where"] = "must be empty for boundary rules (the target's own boundary is used)"
    priority = raw.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool) or not -1000 <= priority <= 1000:
        problems["priority"] = "an integer from -1000 to 1000"
    if not isinstance(raw.get("enabled", True), bool):
        problems["enabled"] = "true or false"
    note = raw.get("note", "")
    if not isinstance(note, str) or len(note) > 500:
        problems["note"] = "text, at most 500 characters"
    if problems:
        raise UnitError(problems)
    return RoutingRule(  # every field checked above
        id=str(rule_id), category=raw["category"], scope=cast(Scope, scope), target=str(target), where=where,
        priority=priority, enabled=raw.get("enabled", True), note=note,
    )


def check_references(units: Iterable[Unit], rules: Iterable[RoutingRule]) -> dict[str, str]:
    """Problems in a whole set: unknown parents, cycles, rules naming unknown units."""
    tree = UnitTree(units)
    problems: dict[str, str] = {}
    for unit in tree.by_code.values():
        if unit.parent_code and unit.parent_code not in tree:
            problems[f"units.{unit.code}.parent_code"] = f"unknown unit {unit.parent_code}"
        chain = tree.ancestors(unit.code)
        last = tree.get(chain[-1]) if chain else None
        if last and last.parent_code and last.parent_code in tree:
            problems[f"units.{unit.code}.parent_code"] = "the parent chain has a cycle"
    for rule in rules:
        if rule.target not in tree:
            problems[f"rules.{rule.id}.target"] = f"unknown unit {rule.target}"
        if rule.where and rule.where not in tree:
            problems[f"rules.{rule.id}.where"] = f"unknown unit {rule.where}"
    return problems
