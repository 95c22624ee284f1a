"""Areas a citizen follows beyond the home ward (PUT /v1/me/preferences follow_units): validated, kept in
the area index beside the home ward (so alerts for them reach the person), and the alerts that reach one
unit (GET /v1/alerts?unit=), as the fan-out decides them."""

from dataclasses import replace

import pytest
from shapely.geometry import box

from civic.domain.errors import DomainError
from civic.domain.inputs import PreferencesInput
from civic.domain.notify import MAX_FOLLOW_UNITS, Alert, Preferences
from civic.domain.units import Unit, UnitTree
from civic.services import notify

NOW = "2026-11-23T03:00:00.000Z"
TREE = UnitTree([
    Unit("CITY", "Thành phố", "City", "city"),
    Unit("W01", "Phường 1", "Ward 1", "ward", parent_code="CITY"),
    Unit("W02", "Phường 2", "Ward 2", "ward", parent_code="CITY"),
    Unit("W03", "Phường 3", "Ward 3", "ward", parent_code="CITY"),
    Unit("EVN", "Điện lực", "Power", "company", parent_code="CITY"),
])


def admin_unit(code):
    return code in TREE and not TREE.get(code).is_agency


class Store:
    """The preferences and the area index of one person, in memory."""

    def __init__(self):
        self.prefs: Preferences | None = None
        self.areas: dict[str, str] = {}

    def get_preferences(self, user_id):
        return self.prefs

    def save_preferences(self, user_id, changes):
        fields = dict(changes)
        if "follow_units" in fields:  # as the Users row reads back: a tuple, none when removed
            fields["follow_units"] = tuple(fields["follow_units"] or ())
        self.prefs = replace(self.prefs or Preferences(user_id), **fields)
        return self.prefs

    def index_area(self, unit, user_id, source, at):
        self.areas[unit] = source

    def unindex_area(self, unit, user_id):
        self.areas.pop(unit, None)


def save(store, body):
    return notify.save_preferences("u1", PreferencesInput.parse(body), store=store, unit_exists=admin_unit, now=NOW)


def test_followed_areas_are_validated_and_indexed_beside_the_home_ward():
    store = Store()
    view = save(store, {"home_unit": "W01", "follow_units": ["W02", "CITY"]})
    assert view["home_unit"] == "W01" and view["follow_units"] == ["W02", "CITY"]
    assert store.areas == {"W01": "home", "W02": "follow", "CITY": "follow"}
    # Moving home onto a followed ward keeps it (as home); dropping a follow removes it from the index.
    save(store, {"home_unit": "W02", "follow_units": ["W02"]})
    assert store.areas == {"W02": "home"}
    save(store, {"follow_units": None})
    assert store.areas == {"W02": "home"} and save(store, {})["follow_units"] == []
    for bad in (["NOPE"], ["EVN"], ["W01", "W01"], "W01", [1], [f"W0{i}" for i in range(MAX_FOLLOW_UNITS + 1)]):
        with pytest.raises(DomainError) as refused:
            save(store, {"follow_units": bad})
        assert refused.value.kind == "invalid" and set(refused.value.fields) == {"follow_units"}
        assert refused.value.fields["follow_units"].vi and refused.value.fields["follow_units"].en
    assert store.areas == {"W02": "home"}, "a refused body changes nothing"


class Alerts:
    def __init__(self, *alerts):
        self.items = list(alerts)

    def alerts(self):
        return self.items


def alert(alert_id, units=(), polygon=None, severity="warning"):
    return Alert(alert_id, "flood", severity, {"vi": "Ngập", "en": "Flood"}, {"vi": "Nước", "en": "Water"},
                 "2026-11-23T00:00:00.000Z", "2026-11-24T00:00:00.000Z", tuple(units), polygon)


def test_alerts_that_reach_a_unit():
    over_w03 = {"type": "Polygon", "coordinates": [[[105.21, 21.01], [105.25, 21.01], [105.25, 21.05], [105.21, 21.01]]]}
    shapes = {"W01": box(105.0, 21.0, 105.1, 21.1), "W03": box(105.2, 21.0, 105.3, 21.1)}
    store = Alerts(alert("city", ["CITY"]), alert("w02", ["W02"]), alert("drawn", polygon=over_w03, severity="severe"))

    def at(unit):
        found = notify.alerts_at({"unit": unit}, store=store, locator=lambda: None, tree=TREE, now=NOW,
                                 geometry_of=shapes.get)
        return [a["id"] for a in found["items"]]

    assert at("W01") == ["city"]  # the city's alert reaches its wards
    assert at("W02") == ["city", "w02"]
    assert at("W03") == ["drawn", "city"]  # most severe first
    for bad in ({"unit": "NOPE"}, {"unit": "EVN"}, {"unit": "W01", "lat": "21.0"}):
        with pytest.raises(DomainError) as refused:
            notify.alerts_at(bad, store=store, locator=lambda: None, tree=TREE, now=NOW)
        assert refused.value.kind == "invalid" and "unit" in refused.value.fields
