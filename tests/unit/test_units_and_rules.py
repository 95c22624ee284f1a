"""Routing decisions: rule precedence, fallbacks, validation of operators' data, route_report."""

import pytest

from civic.domain.reports import new_report
from civic.domain.submission import ReportSubmission
from civic.domain.units import RoutingRule, Unit, UnitError, UnitTree, check_references, decide, parse_rule, parse_unit
from civic.services.routing import route_report
from civic.settings import Settings
from civic_dev.fakes import InMemoryReportStore

CATS = ["traffic", "electricity", "culture_tourism", "environment", "other"]


def tree():
    return UnitTree([
        Unit("P", "Tỉnh", "Province", "province"),
        Unit("D1", "Quận 1", "District 1", "district", "P"),
        Unit("W1", "Phường 1", "Ward 1", "ward", "D1", categories=["traffic", "environment", "other"]),
        Unit("W2", "Phường 2", "Ward 2", "ward", "D1"),
        Unit("EVN", "Điện lực", "Power company", "company", "P", categories=["electricity"]),
        Unit("EVN2", "Điện lực 2", "Power company 2", "company", "P", categories=["electricity"]),
        Unit("CULT", "Sở VHDL", "Culture dept", "department", "P"),
    ])


def rule(id, category, scope, target, where=None, priority=0, enabled=True):
    return RoutingRule(id, category, scope, target, where, priority, enabled)


def test_default_is_the_located_unit():
    d = decide("W2", [], "traffic", tree(), [])
    assert (d.handler, d.reason, d.status) == ("W2", "default", "routed")


def test_unit_that_does_not_handle_the_category_goes_up_the_tree():
    d = decide("W1", [], "culture_tourism", tree(), [])
    assert (d.handler, d.reason) == ("D1", "parent_handles")


def test_precedence_unit_then_boundary_then_nearest_ancestor():
    rules = [
        rule("a-prov", "electricity", "ancestor", "EVN2", "P"),
        rule("a-dist", "electricity", "ancestor", "EVN", "D1"),
        rule("b", "electricity", "boundary", "EVN2"),
        rule("u", "electricity", "unit", "CULT", "W1"),
    ]
    t = tree()
    assert decide("W1", ["EVN2"], "electricity", t, rules).rule_id == "u"
    assert decide("W2", ["EVN2"], "electricity", t, rules).rule_id == "b"
    assert decide("W2", [], "electricity", t, rules).rule_id == "a-dist"  # parent before grandparent
    assert decide("W2", [], "electricity", t, rules[:1]).handler == "EVN2"


def test_priority_then_id_break_ties_and_disabled_rules_are_ignored():
    t = tree()
    rules = [rule("z", "electricity", "boundary", "EVN"), rule("a", "electricity", "boundary", "EVN2")]
    assert decide("W2", ["EVN", "EVN2"], "electricity", t, rules).rule_id == "a"
    rules[0].priority = 5
    assert decide("W2", ["EVN", "EVN2"], "electricity", t, rules).rule_id == "z"
    rules[0].enabled = False
    assert decide("W2", ["EVN", "EVN2"], "electricity", t, rules).rule_id == "a"


def test_outside_every_boundary_is_triage():
    d = decide(None, ["EVN"], "electricity", tree(), [rule("b", "electricity", "boundary", "EVN")])
    assert d.status == "needs_triage" and d.handler is None


def test_parse_unit_and_rule_refuse_bad_data():
    good = {"code": "W9", "name_vi": "Phường 9", "name_en": "Ward 9", "kind": "ward", "parent_code": "D1"}
    assert parse_unit(good, CATS).code == "W9"
    with pytest.raises(UnitError) as err:
        parse_unit({**good, "kind": "castle", "categories": ["nope"], "extra": 1, "code": "bad code"}, CATS)
    assert set(err.value.fields) == {"kind", "categories", "extra", "code"}
    with pytest.raises(UnitError) as err:
        parse_rule({"id": "r1", "category": "electricity", "scope": "unit", "target": "EVN"}, CATS)
    assert "where" in err.value.fields
    with pytest.raises(UnitError):
        parse_rule({"id": "r1", "category": "electricity", "scope": "boundary", "target": "EVN", "where": "W1"}, CATS)


def test_check_references_finds_unknown_parents_cycles_and_dangling_rules():
    units = [Unit("A", "a", "a", "ward", "B"), Unit("B", "b", "b", "ward", "A"), Unit("C", "c", "c", "ward", "Q")]
    problems = check_references(units, [rule("r", "traffic", "unit", "Z", "A")])
    assert "units.C.parent_code" in problems and "units.A.parent_code" in problems
    assert "rules.r.target" in problems


class GridLocator:
    """W1 west of lon 106, W2 east; an agency area over everything north of lat 21."""

    def admin_unit(self, lat, lon):
        if not 20 <= lat <= 22:
            return None, False
        return ("W1" if lon < 106 else "W2"), False

    def agencies(self, lat, lon):
        return ["EVN"] if lat > 21 else []


def submit(store, category, lat, lon, at, code):
    sub = ReportSubmission(category=category, description="x", lat=lat, lon=lon)
    report, event = new_report(sub, citizen_id="c", tracking_code=code, now=at)
    store.create(report, event)
    return report


def test_route_report_sets_unit_deadlines_and_flags_duplicates():
    store, settings = InMemoryReportStore(), Settings()
    rules = [rule("evn", "electricity", "boundary", "EVN")]
    first = submit(store, "electricity", 21.5, 105.5, "2026-11-20T01:00:00.000Z", "HN-AAAAA2")
    assert route_report(first.id, store=store, locator=GridLocator(), tree=tree(), rules=rules, now="2026-11-20T01:00:05.000Z", settings=settings) == "routed"
    routed = store.get(first.id)
    # Working time: routed Friday 08:00 in Hà Nội; 8 office hours → Monday 08:30; 10 working days skip
    # the weekends and Vietnam Cultural Day (Tuesday 24/11/2026) → Monday 7/12 08:00.
    assert routed.unit_code == "EVN"
    assert (routed.accept_due_at, routed.due_at) == ("2026-11-23T01:30:05.000Z", "2026-12-07T01:00:05.000Z")
    event = store.timeline(first.id)[-1]
    assert event.data["rule_id"] == "evn" and event.data["admin_unit"] == "W1" and event.data["basis"] == "boundary_rule"
    # Same category, 20 m away, an hour later: a probable duplicate of the first, still routed.
    second = submit(store, "electricity", 21.50018, 105.5, "2026-11-20T02:00:00.000Z", "HN-BBBBB2")
    route_report(second.id, store=store, locator=GridLocator(), tree=tree(), rules=rules, now="2026-11-20T02:00:01.000Z", settings=settings)
    dup = store.get(second.id)
    assert dup.duplicate_of == first.id and "probable_duplicate" in dup.flags and dup.status == "routed"
    # Another category at the same place is not a duplicate; outside everything is triage.
    third = submit(store, "traffic", 21.5, 105.5, "2026-11-20T03:00:00.000Z", "HN-CCCCC2")
    route_report(third.id, store=store, locator=GridLocator(), tree=tree(), rules=rules, now="2026-11-20T05:00:00.000Z", settings=settings)
    assert store.get(third.id).duplicate_of is None and store.get(third.id).unit_code == "W1"
    far = submit(store, "traffic", 10.0, 105.5, "2026-11-20T04:00:00.000Z", "HN-DDDDD2")
    assert route_report(far.id, store=store, locator=GridLocator(), tree=tree(), rules=rules, now="2026-11-20T05:00:00.000Z", settings=settings) == "needs_triage"
    # Replaying the event changes nothing.
    before = store.timeline(first.id)
    assert route_report(first.id, store=store, locator=GridLocator(), tree=tree(), rules=rules, now="2026-11-20T05:00:00.000Z", settings=settings) == "ignored"
    assert store.timeline(first.id) == before


def test_non_text_values_are_refused_not_crashed():
    with pytest.raises(UnitError):
        parse_unit({"code": "W9", "name_vi": "a", "name_en": "b", "kind": [], "categories": [[]]}, CATS)
    with pytest.raises(UnitError):
        parse_rule({"id": "r", "category": [], "scope": {}, "target": "EVN"}, CATS)


def test_no_published_boundaries_means_triage_not_a_stuck_report():
    from civic.domain.ports import RoutingIndexMissing

    class NoIndex:
        def admin_unit(self, lat, lon):
            raise RoutingIndexMissing("nothing published")

        def agencies(self, lat, lon):
            raise RoutingIndexMissing("nothing published")

    store = InMemoryReportStore()
    report = submit(store, "traffic", 21.5, 105.5, "2026-11-20T01:00:00.000Z", "HN-EEEEE2")
    outcome = route_report(report.id, store=store, locator=NoIndex(), tree=tree(), rules=[], now="2026-11-20T01:00:01.000Z", settings=Settings())
    assert outcome == "needs_triage" and store.timeline(report.id)[-1].data["basis"] == "no_index"


def test_an_address_names_its_ward_without_diacritics_and_ambiguity_names_none():
    from civic.domain.units import Unit, UnitTree, unit_named_in

    tree = UnitTree([Unit("C", "Thành phố", "City", "city"),
                     Unit("MT", "Phường Mường Thanh (ranh giới gần đúng)", "Muong Thanh", "ward", "C"),
                     Unit("TT", "Phường Tân Thanh", "Tan Thanh", "ward", "C"),
                     Unit("A1", "Xã Thanh An", "Thanh An", "commune", "C"),
                     Unit("A2", "Phường Thanh An", "Thanh An 2", "ward", "C")])
    assert unit_named_in("Số 5 đường Võ Nguyên Giáp, phường Mường Thanh, Điện Biên Phủ", tree) == "MT"
    assert unit_named_in("so 5 duong vo nguyen giap, p. muong thanh", tree) == "MT"
    assert unit_named_in("tổ 3, Tân Thanh", tree) == "TT"
    assert unit_named_in("Thanh An", tree) is None  # two units have that name
    assert unit_named_in("đường 7/5", tree) is None
