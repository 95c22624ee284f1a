"""Preferences and alert input validation, alert areas, deferral and fan-out steps (civic.services.notify;
in-memory stand-ins for the store and the queue: no AWS)."""

import pytest

from civic.domain.errors import DomainError
from civic.domain.inputs import PreferencesInput
from civic.domain.notify import Alert, Message, Preferences
from civic.domain.units import Unit, UnitTree
from civic.services import notify

NOW = "2026-11-23T03:00:00.000Z"
TREE = UnitTree([
    Unit("CITY", "Thành phố", "City", "city"),
    Unit("W01", "Phường 1", "Ward 1", "ward", parent_code="CITY"),
    Unit("W02", "Phường 2", "Ward 2", "ward", parent_code="CITY"),
    Unit("EVN", "Điện lực", "Power", "company", parent_code="CITY"),
])


def parse_preferences(body, unit_exists):
    """As the route does: the body's shape by its model, then the units by the service."""
    return notify.parse_preferences(PreferencesInput.parse(body), unit_exists)


def test_preferences_parse_and_refuse_bad_fields():
    ok = parse_preferences({"channels": ["inbox", "sms"], "language": "en", "quiet_hours": {"start": "22:00", "end": "06:30"},
                                   "phone": "+84901234567", "home_unit": "W01", "email": None}, lambda c: c in TREE)
    assert ok == {"channels": ["inbox", "sms"], "language": "en", "quiet_start": "22:00", "quiet_end": "06:30",
                  "phone": "+84901234567", "home_unit": "W01", "email": None}
    with pytest.raises(DomainError) as bad:
        parse_preferences({"channels": ["fax"], "language": "fr", "quiet_hours": {"start": "24:00", "end": "1"},
                                  "phone": "0901", "email": "nope", "home_unit": "ZZ", "colour": "red"}, lambda c: c in TREE)
    assert bad.value.kind == "invalid"
    assert set(bad.value.fields) == {"channels", "language", "quiet_hours", "phone", "email", "colour"}
    with pytest.raises(DomainError) as unknown:  # well-formed, but no such unit
        parse_preferences({"home_unit": "ZZ", "follow_units": ["W01", "EVN"]}, lambda c: c in TREE and c != "EVN")
    assert set(unknown.value.fields) == {"home_unit", "follow_units"} and unknown.value.fields["home_unit"].vi


def body(**kw):
    base = {"kind": "flood", "severity": "severe", "title": {"vi": "Ngập", "en": "Flood"},
            "body": {"vi": "Nước lên", "en": "Water rising"}, "area": {"units": ["CITY"]},
            "expires_at": "2026-11-24T00:00:00+07:00"}
    base.update(kw)
    return base


def test_alert_parsing_and_areas():
    alert = notify.parse_alert(body(), tree=TREE, now=NOW, created_by="coord")
    assert alert.expires_at == "2026-11-23T17:00:00.000Z" and alert.starts_at == NOW
    # a unit covers every unit below it (agencies have no residents but are harmless in the index)
    assert notify.alert_areas(alert, TREE, lambda code: None) == ["CITY", "EVN", "W01", "W02"]
    for bad, field in ((body(kind="tsunami"), "kind"), (body(area={"units": ["NOPE"]}), "area"),
                       (body(area={"polygon": {"type": "Point", "coordinates": [1, 2]}}), "area"),
                       (body(expires_at="2020-01-01T00:00:00Z"), "expires_at"), (body(title={"vi": ""}), "title")):
        with pytest.raises(DomainError) as refused:
            notify.parse_alert(bad, tree=TREE, now=NOW, created_by="coord")
        assert field in refused.value.fields


def test_polygon_alert_reaches_the_wards_it_touches():
    from shapely.geometry import box

    shapes = {"W01": box(105.0, 21.0, 105.1, 21.1), "W02": box(105.1, 21.0, 105.2, 21.1)}
    polygon = {"type": "Polygon", "coordinates": [[[105.02, 21.02], [105.05, 21.02], [105.05, 21.05], [105.02, 21.02]]]}
    alert = notify.parse_alert(body(area={"polygon": polygon}), tree=TREE, now=NOW, created_by="coord")
    assert notify.alert_areas(alert, TREE, shapes.get) == ["W01"]


class Queue:
    def __init__(self):
        self.messages, self.jobs = [], []

    def send_messages(self, messages, now):
        self.messages += messages
        return 1

    def send_job(self, job):
        self.jobs.append(job)
        return 1


class Store:
    def __init__(self, members):
        self.members = members
        self.alert = Alert("a1", "flood", "warning", {"vi": "Ngập", "en": "Flood"}, {"vi": "Nước", "en": "Water"},
                           "2026-11-23T00:00:00.000Z", "2026-11-24T00:00:00.000Z", ("W01",))

    def get_alert(self, alert_id):
        return self.alert if alert_id == "a1" else None

    def area_members(self, unit, after=None, limit=1000):
        ids = [m for m in self.members if after is None or m > after][:limit]
        more = len([m for m in self.members if after is None or m > after]) > limit
        return ids, (ids[-1] if more else None)

    def preferences(self, ids):
        return {i: Preferences(i, channels=("inbox",)) for i in ids}


def test_fan_out_pages_through_the_area_one_step_at_a_time():
    store, queue = Store([f"u{i:03d}" for i in range(25)]), Queue()
    job = {"job": "alert_fanout", "alert_id": "a1", "unit": "W01", "page": 10}
    steps = 0
    while job:
        notify.fan_out(job, store=store, queue=queue, now=NOW)
        steps += 1
        job = queue.jobs.pop() if queue.jobs else None
    assert steps == 3
    assert sorted(m.user_id for m in queue.messages) == [f"u{i:03d}" for i in range(25)]
    assert notify.fan_out({"job": "alert_fanout", "alert_id": "gone", "unit": "W01"}, store=store, queue=queue, now=NOW) == 0


def test_deliver_defers_until_quiet_hours_end_and_sends_once_after():
    queue, sent = Queue(), []
    message = Message(id="m1", user_id="u", channel="sms", kind="accepted", event_type="accept", title="t", text="x",
                      language="vi", at=NOW, address="+84900000000", not_before="2026-11-23T23:30:00.000Z")
    assert notify.deliver(message, send_once=sent.append, queue=queue, now="2026-11-23T16:00:00.000Z") == "deferred"
    assert sent == [] and queue.messages == [message]
    assert notify.deliver(message, send_once=sent.append, queue=queue, now="2026-11-23T23:30:00.000Z") == "sent"
    assert sent == [message]


@pytest.mark.parametrize("bad", [{"channels": [["sms"]]}, {"channels": [{"a": 1}]}, {"channels": ["sms", "sms"]},
                                 {"home_unit": ["W01"]}, {"language": ["vi"]}, {"quiet_hours": "22:00"}, [], "x"])
def test_odd_preference_bodies_are_400_not_500(bad):
    with pytest.raises(DomainError) as refused:
        parse_preferences(bad, lambda c: c in TREE)
    assert refused.value.kind == "invalid"


def test_fan_out_reaches_people_who_never_saved_preferences():
    """Indexed by a report's ward, without a Users row: the defaults (the in-app inbox at least)."""
    store, queue = Store(["saved", "unsaved"]), Queue()
    store.preferences = lambda ids: {"saved": Preferences("saved", channels=("inbox",))}
    notify.fan_out({"job": "alert_fanout", "alert_id": "a1", "unit": "W01"}, store=store, queue=queue, now=NOW)
    reached = {(m.user_id, m.channel) for m in queue.messages}
    assert ("saved", "inbox") in reached and ("unsaved", "inbox") in reached


def test_a_coordinator_alerts_only_within_their_units():
    class Alerts:
        def __init__(self):
            self.saved = []

        def put_alert(self, alert):
            self.saved.append(alert)

    store, queue = Alerts(), Queue()
    args = dict(actor="coord", store=store, queue=queue, tree=TREE, geometry_of=lambda code: None, now=NOW)
    with pytest.raises(DomainError) as refused:
        notify.publish_alert(body(area={"units": ["W02"]}), within=["W01"], **args)
    assert refused.value.kind == "forbidden" and store.saved == [] and queue.jobs == []  # nothing written
    with pytest.raises(DomainError):
        notify.publish_alert(body(area={"units": ["CITY"]}), within=["W01"], **args)  # above their ward
    published = notify.publish_alert(body(area={"units": ["W01"]}), within=["CITY"], **args)
    assert published["areas"] == ["W01"] and len(store.saved) == 1 and queue.jobs
    assert notify.publish_alert(body(area={"units": ["W02"]}), within=None, **args)["areas"] == ["W02"]  # admin


def test_a_follower_hears_only_what_happened_after_they_followed():
    """A replayed old event is not news to someone who followed since (#19: routed now reaches followers)."""
    from civic.domain.notify import Event
    from civic.services.notify import on_timeline_event
    from civic.settings import Settings

    class Store:
        def followers(self, report_id, since=None):
            follows = {"early": "2026-11-20T01:00:00.000Z", "late": "2026-11-20T09:00:00.000Z"}
            return [u for u, at in follows.items() if since is None or at <= since]

        def staff_of(self, unit):
            return []

        def preferences(self, ids):
            return {}

    class Reports:
        def get(self, report_id):
            from civic.domain.reports import Report

            return Report(id="r1", tracking_code="HN-AAAAAA", status="accepted", category="traffic", description="x",
                          lat=21.0, lon=105.8, citizen_id="author", created_at="2026-11-20T00:00:00.000Z",
                          updated_at="2026-11-20T05:00:00.000Z", unit_code="W1")

    class Queue:
        sent: list = []

        def send_messages(self, messages, now):
            self.sent += messages

    queue = Queue()
    event = Event(report_id="r1", seq=3, type="accept", at="2026-11-20T05:00:00.000Z", status="accepted", actor_id="o1")
    on_timeline_event(event, reports=Reports(), store=Store(), queue=queue, settings=Settings(), now="2026-11-20T10:00:00.000Z")
    assert sorted({m.user_id for m in queue.sent}) == ["author", "early"]
