"""Moderation over in-memory fakes: hide, redact, hide a photo, refusal as inappropriate, citizens'
flags, the publish policy, and every public surface asking the same rule."""

from dataclasses import replace

import pytest

from chalicelib import open311
from civic.domain import moderation
from civic.domain.categories import all_categories
from civic.domain.errors import DomainError
from civic.domain.inputs import EvidenceRequest, FlagInput
from civic.domain.notify import Event, ReportFacts, audience
from civic.domain.reports import MediaItem, owner_view, public_view
from civic.services import intake, staff
from civic.services.units import nearby
from civic_dev.fakes import InMemoryReportStore
from tests.unit.test_intake import GOOD, SETTINGS, submit
from tests.unit.test_workflow import COORDINATOR, LEADER_W1, OFFICER_W1, TREE, act

MODERATOR = staff.StaffMember("mod-1", "moderator", ())
ABUSE = {**GOOD, "description": "Thằng tổ trưởng X là đồ ăn cắp, gọi 0912 345 678 mà chửi"}


@pytest.fixture
def store():
    return InMemoryReportStore()


def routed_report(store, body=None, status="routed"):
    created = submit(store, body or ABUSE)
    report = store.reports[created["id"]]
    photo = MediaItem("p1", "photo", "image/jpeg", 10, status="ready", renditions={"large": "m/p1-large"}, formats=["jpeg"])
    store.reports[report.id] = replace(report, status=status, unit_code="W1", media=[photo])
    return report.id


def public_surfaces(store, report_id):
    """What each public route answers about the report: None where it is absent."""
    report = store.get(report_id)
    out = {}
    try:
        out["report"] = intake.view_report(store, report_id, None, SETTINGS)
    except DomainError:
        out["report"] = None
    try:
        out["track"] = intake.track(store, report.tracking_code, SETTINGS)
    except DomainError:
        out["track"] = None
    feed = intake.feed(store, {"bbox": "21.0,105.8,21.1,105.9"}, SETTINGS)["items"]
    out["feed"] = next((i for i in feed if i["id"] == report_id), None)
    near = nearby(store, {"lat": "21.0285", "lon": "105.8542"}, SETTINGS)["items"]
    out["nearby"] = next((i for i in near if i["id"] == report_id), None)
    out["open311"] = open311.published(report)
    return out


def test_a_leader_hides_a_report_from_every_public_surface_and_the_audit_stays_internal(store):
    report_id = routed_report(store)
    assert all(v for v in public_surfaces(store, report_id).values())
    view = act(store, LEADER_W1, report_id, {"action": "hide", "reason": "Xúc phạm cá nhân"})
    assert view["moderation"]["hidden"]["code"] == "moderation" and view["moderation"]["public"] is False
    assert not any(public_surfaces(store, report_id).values())
    event = store.timeline(report_id)[-1]
    assert (event.type, event.public, event.actor_id, event.data["note"]) == ("hide", False, "leader-1", "Xúc phạm cá nhân")
    # The author still sees it, and why.
    mine = intake.view_report(store, report_id, "citizen-1", SETTINGS)
    assert mine["description"] == ABUSE["description"] and mine["hidden"]["code"] == "moderation"
    # Unhidden after review: public again.
    act(store, LEADER_W1, report_id, {"action": "unhide", "reason": "Đã xem lại"})
    assert all(v for v in public_surfaces(store, report_id).values())


def test_a_refusal_as_inappropriate_takes_the_report_down(store):
    report_id = routed_report(store)
    act(store, OFFICER_W1, report_id, {"action": "refuse", "reason": "inappropriate"})
    assert store.get(report_id).hidden == "inappropriate"
    assert not any(public_surfaces(store, report_id).values())
    other = routed_report(store, GOOD)
    act(store, OFFICER_W1, other, {"action": "refuse", "reason": "duplicate"})
    assert intake.view_report(store, other, None, SETTINGS)["status"] == "refused"  # other refusals stay public


def test_redact_publishes_staff_text_and_keeps_the_original_for_staff_and_author(store):
    report_id = routed_report(store, {**ABUSE, "address": "Nhà ông X, số 5"})
    with pytest.raises(DomainError) as err:
        act(store, LEADER_W1, report_id, {"action": "redact", "reason": "x"})
    assert err.value.code == "invalid_action"
    act(store, LEADER_W1, report_id, {"action": "redact", "description": "Phản ánh về tổ trưởng dân phố",
                                      "address": None, "reason": "Bỏ lời xúc phạm"})
    public = intake.view_report(store, report_id, None, SETTINGS)
    assert public["description"] == "Phản ánh về tổ trưởng dân phố" and public["address"] is None
    report = store.get(report_id)
    assert open311.service_request(report, [], "vi", "", lambda c: c)["description"] == "Phản ánh về tổ trưởng dân phố"
    mine = intake.view_report(store, report_id, "citizen-1", SETTINGS)
    assert mine["description"] == ABUSE["description"] and mine["public_description"] == "Phản ánh về tổ trưởng dân phố"
    assert staff.detail(store, LEADER_W1, report_id, TREE, SETTINGS)["description"] == ABUSE["description"]


def test_hide_media_removes_one_photo_from_public_views_and_open311(store):
    report_id = routed_report(store)
    assert [m["media_id"] for m in intake.view_report(store, report_id, None, SETTINGS)["media"]] == ["p1"]
    act(store, LEADER_W1, report_id, {"action": "hide_media", "media_id": "p1", "reason": "Ảnh có mặt người"})
    assert intake.view_report(store, report_id, None, SETTINGS)["media"] == []
    assert open311.media_url(store.get(report_id), "https://cdn") is None
    assert intake.view_report(store, report_id, "citizen-1", SETTINGS)["media"][0]["hidden"] is True
    with pytest.raises(DomainError):
        act(store, LEADER_W1, report_id, {"action": "hide_media", "media_id": "nope", "reason": "x"})
    act(store, LEADER_W1, report_id, {"action": "show_media", "media_id": "p1"})
    assert len(intake.view_report(store, report_id, None, SETTINGS)["media"]) == 1


def test_officers_cannot_moderate_and_moderators_can_do_nothing_else(store):
    report_id = routed_report(store)
    with pytest.raises(DomainError) as err:
        act(store, OFFICER_W1, report_id, {"action": "hide", "reason": "x"})
    assert err.value.code == "illegal_action"
    detail = staff.detail(store, MODERATOR, report_id, TREE, SETTINGS)  # province-wide
    assert set(detail["allowed_actions"]) == {"hide", "redact", "hide_media"}  # what applies now
    with pytest.raises(DomainError):
        act(store, MODERATOR, report_id, {"action": "accept"})
    act(store, MODERATOR, report_id, {"action": "hide", "reason": "Spam"})
    assert store.get(report_id).hidden == "moderation"
    from civic_dev.fakes import FakeUploadSigner

    with pytest.raises(DomainError) as err:  # no evidence either: moderators only moderate
        staff.request_evidence(store, FakeUploadSigner(), MODERATOR, report_id,
                               EvidenceRequest.parse({"media": [{"content_type": "image/jpeg", "size": 10}]}), TREE, SETTINGS,
                               "2026-11-20T05:00:00.000Z")
    assert err.value.kind == "forbidden"


def test_three_distinct_flags_hide_a_report_pending_review(store):
    report_id = routed_report(store)
    now = "2026-11-20T05:00:00.000Z"
    intake.flag(store, report_id, "c-a", FlagInput.parse({"reason": "offensive"}), now, threshold=3)
    with pytest.raises(DomainError) as err:  # one flag per account
        intake.flag(store, report_id, "c-a", FlagInput.parse({"reason": "spam"}), now, threshold=3)
    assert err.value.code == "already_flagged"
    with pytest.raises(DomainError) as err:
        intake.flag(store, report_id, "citizen-1", FlagInput.parse({"reason": "spam"}), now, threshold=3)
    assert err.value.code == "own_report"
    for bad in ({"reason": "boring"}, {"reason": "spam", "text": "x" * 501}, {"reason": "spam", "x": 1}, []):
        with pytest.raises(DomainError) as err:
            intake.flag(store, report_id, "c-z", FlagInput.parse(bad), now, threshold=3)
        assert err.value.code == "invalid_request"
    intake.flag(store, report_id, "c-b", FlagInput.parse({"reason": "personal_data", "text": "có số điện thoại"}), now, threshold=3)
    assert public_surfaces(store, report_id)["report"] is not None
    assert [r.id for r in store.review_queue(10)] == [report_id]  # the first flag queued it for review
    intake.flag(store, report_id, "c-c", FlagInput.parse({"reason": "offensive"}), now, threshold=3)
    assert store.get(report_id).hidden == "flags"
    assert not any(public_surfaces(store, report_id).values())
    events = store.timeline(report_id)
    assert [e.type for e in events[-3:]] == ["flag", "flag", "flag_hidden"] and not any(e.public for e in events[-3:])
    # The moderation queue shows it to a moderator; keeping it settles the flags.
    queue = staff.inbox(store, MODERATOR, {"queue": "moderation"}, TREE, SETTINGS, lambda due: "none")
    assert [i["id"] for i in queue["items"]] == [report_id]
    act(store, MODERATOR, report_id, {"action": "unhide", "reason": "Không vi phạm"})
    assert store.get(report_id).flag_count == 0 and store.review_queue(10) == []
    assert public_surfaces(store, report_id)["report"] is not None


def test_the_moderation_queue_is_scoped_and_moderators_use_only_it(store):
    report_id = routed_report(store)
    intake.flag(store, report_id, "c-a", FlagInput.parse({"reason": "spam"}), "2026-11-20T05:00:00.000Z", threshold=3)
    assert [i["id"] for i in staff.inbox(store, LEADER_W1, {"queue": "moderation"}, TREE, SETTINGS, lambda d: "none")["items"]] == [report_id]
    outsider = staff.StaffMember("leader-2", "leader", ("W2",))
    assert staff.inbox(store, outsider, {"queue": "moderation"}, TREE, SETTINGS, lambda d: "none")["items"] == []
    with pytest.raises(DomainError):
        staff.inbox(store, MODERATOR, {}, TREE, SETTINGS, lambda d: "none")
    assert staff.member_from("u", {"moderator", "leader"}, ["W1"]).role == "leader"
    assert staff.member_from("u", {"moderator"}, []).role == "moderator"
    assert COORDINATOR.role == "coordinator"


def test_publish_after_acceptance_keeps_a_report_private_until_a_unit_accepts_it(store):
    category = replace(all_categories()["security"], publish="after_acceptance")
    report_id = routed_report(store, GOOD)
    report = replace(store.get(report_id), category="security")
    assert not moderation.is_public(report, category)
    assert moderation.is_public(replace(report, status="accepted"), category)
    assert not moderation.is_public(replace(report, status="refused"), category)
    public = all_categories()["traffic"].public("vi")
    assert public["publish"] == "immediate" and public["publish_note"]["vi"]


def test_views_publish_the_redaction_or_the_masked_text(store):
    report_id = routed_report(store)
    report = store.get(report_id)
    assert "0912" not in public_view(report, None, "")["description"]
    assert "0912" in owner_view(report, None, "")["description"]
    redacted = replace(report, redacted={"description": "Biên tập"})
    assert public_view(redacted, None, "")["description"] == "Biên tập"


def test_the_author_is_told_when_their_report_is_hidden_or_edited_and_followers_are_not():
    facts = ReportFacts(id="r", tracking_code="HN-AAAAAA", citizen_id="author", unit_code="W1")
    for event_type, kind in (("hide", "hidden"), ("flag_hidden", "hidden"), ("redact", "redacted")):
        event = Event(report_id="r", seq=5, type=event_type, at="2026-11-20T05:00:00.000Z", actor_id="mod",
                      status="routed", data={"reason": moderation.hide_reason("moderation")})
        targets = audience(event, facts, ["follower"], lambda unit: [])
        assert [(t.user_id, t.kind) for t in targets] == [("author", kind)]


def test_the_export_stream_filter_lists_the_republishing_events():
    import json
    from pathlib import Path

    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((Path(__file__).resolve().parents[2] / "infra/template.yaml").read_text(), Loader)
    events = template["Resources"]["ExportFunction"]["Properties"]["Events"]
    pattern = json.loads(events["TimelineModerated"]["Properties"]["FilterCriteria"]["Filters"][0]["Pattern"])
    assert tuple(pattern["dynamodb"]["NewImage"]["type"]["S"]) == moderation.REPUBLISHING_EVENTS


def test_a_hidden_photo_s_files_leave_the_cdn_and_come_back_when_shown(store):
    """The CDN serves media/… from the bucket: a take-down moves the files to withheld/ and asks the CDN to
    forget their paths; showing them again moves them back."""
    from civic.services.exports import withhold_media

    class Files:
        def __init__(self, keys):
            self.keys, self.forgotten = set(keys), []

        def move(self, source, target):
            if source not in self.keys:
                return False
            self.keys.discard(source)
            self.keys.add(target)
            return True

        def invalidate(self, paths):
            self.forgotten += paths

    report_id = routed_report(store)
    files = Files({"m/p1-large.jpg"})
    assert withhold_media(store, files, [report_id]) == 0  # public: nothing moves
    act(store, LEADER_W1, report_id, {"action": "hide_media", "media_id": "p1", "reason": "Ảnh có mặt người"})
    assert withhold_media(store, files, [report_id]) == 1
    assert files.keys == {"withheld/m/p1-large.jpg"} and files.forgotten == ["/m/p1-large.jpg"]
    act(store, LEADER_W1, report_id, {"action": "show_media", "media_id": "p1"})
    assert withhold_media(store, files, [report_id]) == 1 and files.keys == {"m/p1-large.jpg"}
    act(store, LEADER_W1, report_id, {"action": "hide", "reason": "Xúc phạm"})  # the whole report: its photos too
    assert withhold_media(store, files, [report_id]) == 1 and files.keys == {"withheld/m/p1-large.jpg"}


def test_followers_cannot_follow_a_hidden_report_and_the_redaction_is_masked_too(store):
    report_id = routed_report(store)
    act(store, LEADER_W1, report_id, {"action": "redact", "description": "Đèn hỏng, gọi 0912 345 678", "reason": "x"})
    assert "0912" not in intake.view_report(store, report_id, None, SETTINGS)["description"]
    act(store, LEADER_W1, report_id, {"action": "hide", "reason": "Xúc phạm"})
    with pytest.raises(DomainError) as err:
        intake.set_following(store, type("F", (), {"follow": lambda *a: None, "count": lambda *a: 0})(),
                             report_id, "someone", True)
    assert err.value.code == "not_found"
