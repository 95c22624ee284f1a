"""Public answers name units and roles (never codes), and carry a tag that changes with the report:
a tracking page polls with If-None-Match and the unchanged answer costs one report read."""

import pytest

from civic.domain import wording
from civic.domain.errors import DomainError
from civic.domain.reports import TimelineEvent, change
from civic.domain.units import Unit, UnitTree
from civic.domain.workflow import ACTIONS
from civic.services import intake
from civic.settings import Settings
from civic_dev.fakes import FakeUploadSigner, InMemoryReportStore

SETTINGS = Settings(tracking_prefix="HN", media_base_url="https://cdn.test/media")
GOOD = {"category": "traffic", "description": "Ổ gà lớn trước số 12", "lat": 21.0285, "lon": 105.8542}
TREE = UnitTree([
    Unit("DB-MT", "UBND phường Mường Thanh", "Muong Thanh Ward People's Committee", "ward"),
    Unit("DB-NH", "UBND xã Noong Hẹt", "Noong Het Commune People's Committee", "commune"),
])
NAMES = intake.unit_names(TREE)


class CountingStore(InMemoryReportStore):
    """Counts timeline reads: an unchanged answer must not read the timeline."""

    def __init__(self):
        super().__init__()
        self.timeline_reads = 0

    def timeline(self, report_id):
        self.timeline_reads += 1
        return super().timeline(report_id)


def _step(store, report_id, event_type, actor="system", **updates):
    report = store.get(report_id)
    data = {k: v for k, v in updates.items() if k in ("unit_code",)}
    if event_type == "transfer":
        data = {"from_unit": report.unit_code, "to_unit": updates["unit_code"]}
    updated = change(report, at=report.updated_at, **updates)
    store.save(updated, report.version, TimelineEvent(report_id, updated.version, event_type, updated.updated_at,
                                                      actor, None, status=updated.status, data=data))
    return updated


@pytest.fixture
def routed():
    store = CountingStore()
    created = intake.submit(dict(GOOD), citizen_id="citizen-1", store=store, signer=FakeUploadSigner(), settings=SETTINGS)
    _step(store, created["id"], "routed", status="routed", unit_code="DB-MT")
    return store, created


def test_views_and_timelines_name_units(routed):
    store, created = routed
    _step(store, created["id"], "transfer", actor="officer", unit_code="DB-NH")
    tracked = intake.track(store, created["tracking_code"], SETTINGS, names=NAMES)
    assert tracked["unit_code"] == "DB-NH"
    assert tracked["unit_name"] == {"vi": "UBND xã Noong Hẹt", "en": "Noong Het Commune People's Committee"}
    routed_event = next(e for e in tracked["timeline"] if e["type"] == "routed")
    assert routed_event["data"]["unit_name"]["vi"] == "UBND phường Mường Thanh"
    transfer = next(e for e in tracked["timeline"] if e["type"] == "transfer")
    assert transfer["data"]["from_unit_name"]["vi"] == "UBND phường Mường Thanh"
    assert transfer["data"]["to_unit_name"]["vi"] == "UBND xã Noong Hẹt"
    assert transfer["by"] == "officer" and wording.ROLES["officer"].vi == "cán bộ"
    view = intake.view_report(store, created["id"], None, SETTINGS, names=NAMES)
    assert view["unit_name"]["vi"] == "UBND xã Noong Hẹt"
    # An unknown code stays a code (no name invented), and no names without a directory.
    assert intake.unit_names(UnitTree([]))("DB-MT") is None
    assert "unit_name" not in intake.track(store, created["tracking_code"], SETTINGS)["timeline"][1]["data"]


def test_every_event_and_action_reads_in_both_languages():
    assert set(ACTIONS) <= set(wording.EVENTS)
    assert wording.EVENTS["routed"].vi == "Đã chuyển đến đơn vị xử lý"
    assert wording.EVENTS["routed"].en == "Sent to the handling unit"
    config = wording.as_config()
    assert {e["code"] for e in config["events"]} == set(wording.EVENTS)
    assert all(r["label"]["vi"] and r["label"]["en"] for r in config["roles"])


def test_an_unchanged_report_answers_its_tag_without_reading_the_timeline(routed):
    store, created = routed
    code = created["tracking_code"]
    first = intake.track_tagged(store, code, SETTINGS, names=NAMES)
    assert first.view is not None and store.timeline_reads == 1
    assert first.tag.startswith('W/"2-')  # the version it shows: submitted, then routed
    again = intake.track_tagged(store, code, SETTINGS, names=NAMES, seen={first.tag})
    assert again.tag == first.tag and again.view is None
    assert store.timeline_reads == 1, "a 304 reads the report only"
    # WebP renditions are another answer; so is the author's own view of the same version.
    assert intake.track_tagged(store, code, SETTINGS, "webp", names=NAMES).tag != first.tag
    public = intake.view_report_tagged(store, created["id"], None, SETTINGS, names=NAMES)
    owner = intake.view_report_tagged(store, created["id"], "citizen-1", SETTINGS, names=NAMES)
    assert public.tag != owner.tag and public.tag == first.tag
    # A staff action is a new version: a new tag and the new answer.
    _step(store, created["id"], "accept", actor="officer", status="accepted")
    changed = intake.track_tagged(store, code, SETTINGS, names=NAMES, seen={first.tag})
    assert changed.tag != first.tag and changed.view["status"] == "accepted"


def test_moderation_changes_the_tag_or_the_answer(routed):
    store, created = routed
    code = created["tracking_code"]
    before = intake.track_tagged(store, code, SETTINGS, names=NAMES)
    redacted = _step(store, created["id"], "redact", actor="moderator",
                     redacted={"description": "Ổ gà lớn", "address": None})
    after = intake.track_tagged(store, code, SETTINGS, names=NAMES, seen={before.tag})
    assert after.view is not None and after.view["description"] == "Ổ gà lớn"
    # Even without a new version, moderation state is part of the tag.
    same_version = change(redacted, at=redacted.updated_at, hidden=None, redacted=None)
    same_version.version = redacted.version
    assert intake.version_tag(same_version, "public", "jpeg", SETTINGS, NAMES) != after.tag
    _step(store, created["id"], "hide", actor="moderator", hidden="inappropriate")
    with pytest.raises(DomainError) as err:  # hidden: gone, whatever tag the client holds
        intake.track_tagged(store, code, SETTINGS, names=NAMES, seen={after.tag})
    assert err.value.kind == "not_found"
