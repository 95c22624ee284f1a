"""The intake use cases over in-memory fakes: validation, tracking codes, views, listings."""

import pytest

from civic.domain.errors import DomainError
from civic.domain.reports import TRACKING_ALPHABET, normalise_tracking_code
from civic.services import intake
from civic.settings import Settings
from civic_dev.fakes import FakeUploadSigner, InMemoryReportStore

SETTINGS = Settings(tracking_prefix="HN", media_base_url="https://cdn.test/media", feed_default_bbox=(20.9, 105.7, 21.1, 105.95))
GOOD = {"category": "traffic", "description": "Ổ gà lớn trước số 12", "lat": 21.0285, "lon": 105.8542}


@pytest.fixture
def store():
    return InMemoryReportStore()


def submit(store, body=None, citizen="citizen-1", signer=None):
    return intake.submit(
        dict(GOOD) if body is None else body,
        citizen_id=citizen,
        store=store,
        signer=signer or FakeUploadSigner(),
        settings=SETTINGS,
    )


def test_submit_creates_report_event_and_uploads(store):
    signer = FakeUploadSigner()
    body = dict(GOOD, media=[{"content_type": "image/jpeg", "size": 2000}, {"content_type": "video/mp4", "size": 9000}])
    created = submit(store, body, signer=signer)
    assert created["status"] == "submitted"
    prefix, code = created["tracking_code"].split("-")
    assert prefix == "HN" and len(code) == 6 and set(code) <= set(TRACKING_ALPHABET)
    assert len(created["uploads"]) == 2
    assert [s[1:] for s in signer.signed] == [("image/jpeg", 2000), ("video/mp4", 9000)]
    assert signer.signed[0][0] == f"uploads/{created['id']}/{created['uploads'][0]['media_id']}"
    events = store.timeline(created["id"])
    assert [(e.seq, e.type, e.status) for e in events] == [(1, "submitted", "submitted")]
    assert store.get(created["id"]).version == 1


@pytest.mark.parametrize(
    "body, code, field",
    [
        ({**GOOD, "category": "nope"}, "unknown_category", "category"),
        ({**GOOD, "lat": 95}, "invalid_request", "lat"),
        ({**GOOD, "lat": "21.0"}, "invalid_request", "lat"),
        ({**GOOD, "lat": True}, "invalid_request", "lat"),
        ({**GOOD, "lat": 48.85, "lon": 2.35}, "outside_service_area", "lat"),
        ({**GOOD, "description": "x" * 4001}, "invalid_request", "description"),
        ({**GOOD, "description": "   "}, "invalid_request", "description"),
        ({**GOOD, "description": "a\x00b"}, "invalid_request", "description"),
        ({**GOOD, "address": "ngõ\x1b[31m 5"}, "invalid_request", "address"),
        ({**GOOD, "extra": 1}, "invalid_request", "extra"),
        ({k: v for k, v in GOOD.items() if k != "lon"}, "invalid_request", "lon"),
        ({**GOOD, "media": [{"content_type": "image/jpeg", "size": 1}] * 6}, "invalid_request", "media"),
        ({**GOOD, "media": [{"content_type": "application/pdf", "size": 1}]}, "invalid_request", "media.0.content_type"),
        ({**GOOD, "media": [{"content_type": "image/jpeg", "size": 0}]}, "invalid_request", "media.0.size"),
        ({**GOOD, "category": "electricity"}, "invalid_answers", "answers.live_wire"),  # a required question
        ({**GOOD, "answers": {"danger": "extreme"}}, "invalid_answers", "answers.danger"),
        ({**GOOD, "answers": {"live_wire": "yes"}}, "invalid_answers", "answers.live_wire"),  # not traffic's
        ({**GOOD, "answers": "high"}, "invalid_request", "answers"),
        # A photo's declared position: both coordinates, in range, for photos only.
        ({**GOOD, "media": [{"content_type": "image/jpeg", "size": 9, "lat": 21.0}]}, "invalid_request", "media.0"),
        ({**GOOD, "media": [{"content_type": "video/mp4", "size": 9, "lat": 21.0, "lon": 105.8}]}, "invalid_request", "media.0"),
        ({**GOOD, "media": [{"content_type": "image/jpeg", "size": 9, "lat": 91, "lon": 105.8}]}, "invalid_request", "media.0.lat"),
        ({**GOOD, "media": [{"content_type": "image/jpeg", "size": 9, "lat": "21", "lon": 105.8}]}, "invalid_request", "media.0.lat"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(store, body, code, field):
    with pytest.raises(DomainError) as err:
        submit(store, body)
    assert store.reports == {}
    assert err.value.kind == "invalid"
    assert err.value.code == code
    assert field in err.value.fields
    assert err.value.body("en")["error"]["message"]
    assert store.reports == {} and store.events == {}


def test_oversized_media_is_413(store):
    with pytest.raises(DomainError) as err:
        submit(store, {**GOOD, "media": [{"content_type": "image/jpeg", "size": 10**9}]})
    assert err.value.kind == "too_large" and store.reports == {}


def test_body_must_be_object(store):
    with pytest.raises(DomainError) as err:
        submit(store, [GOOD])
    assert err.value.code == "invalid_request"


def test_tracking_code_collision_draws_again(store, monkeypatch):
    codes = iter(["HN-AAAAAA", "HN-AAAAAA", "HN-BBBBBB"])
    monkeypatch.setattr(intake, "new_tracking_code", lambda prefix: next(codes))
    first = submit(store)
    second = submit(store)
    assert (first["tracking_code"], second["tracking_code"]) == ("HN-AAAAAA", "HN-BBBBBB")


def test_views_owner_vs_public(store):
    created = submit(store, {**GOOD, "address": "12 Phố Huế", "anonymous": True})
    public = intake.view_report(store, created["id"], None, SETTINGS)
    other = intake.view_report(store, created["id"], "someone-else", SETTINGS)
    mine = intake.view_report(store, created["id"], "citizen-1", SETTINGS)
    assert public == other
    assert "citizen_id" not in public and "anonymous" not in public and "is_owner" not in public
    assert mine["is_owner"] and mine["anonymous"] is True


def test_private_category_location_is_rounded_and_address_hidden(store):
    created = submit(store, {**GOOD, "category": "security", "lat": 21.028512, "lon": 105.854211, "address": "ngõ 5"})
    public = intake.view_report(store, created["id"], None, SETTINGS)
    assert public["location"] == {"lat": 21.03, "lon": 105.85, "precision": "approximate"}
    assert public["address"] is None
    mine = intake.view_report(store, created["id"], "citizen-1", SETTINGS)
    assert mine["location"]["lat"] == 21.028512


def test_track_by_code_accepts_sloppy_typing(store):
    created = submit(store)
    code = created["tracking_code"]
    tracked = intake.track(store, " " + code.lower().replace("-", "") + " ", SETTINGS)
    assert tracked["id"] == created["id"]
    assert [e["type"] for e in tracked["timeline"]] == ["submitted"]
    assert "actor_id" not in tracked["timeline"][0]
    assert normalise_tracking_code("hn 4k7q2m") == "HN-4K7Q2M"


def test_unknown_ids_and_codes_are_404(store):
    for call in (
        lambda: intake.view_report(store, "0" * 32, None, SETTINGS),
        lambda: intake.view_report(store, "../etc", None, SETTINGS),
        lambda: intake.track(store, "HN-ZZZZZZ", SETTINGS),
    ):
        with pytest.raises(DomainError) as err:
            call()
        assert err.value.kind == "not_found"


def test_feed_pages_newest_first_with_filters(store):
    ids = []
    for i in range(5):
        created = intake.submit(
            {**GOOD, "category": "traffic" if i % 2 == 0 else "environment"},
            citizen_id="c", store=store, signer=FakeUploadSigner(), settings=SETTINGS, now=f"2026-11-0{i + 1}T00:00:00.000Z",
        )
        ids.append(created["id"])
    page1 = intake.feed(store, {"limit": "2"}, SETTINGS)
    assert [r["id"] for r in page1["items"]] == [ids[4], ids[3]]
    page2 = intake.feed(store, {"limit": "2", "cursor": page1["next_cursor"]}, SETTINGS)
    assert [r["id"] for r in page2["items"]] == [ids[2], ids[1]]
    traffic = intake.feed(store, {"category": "traffic"}, SETTINGS)
    assert [r["id"] for r in traffic["items"]] == [ids[4], ids[2], ids[0]]
    assert traffic["next_cursor"] is None
    outside = intake.feed(store, {"bbox": "10,106,10.5,106.5"}, SETTINGS)
    assert outside["items"] == []


@pytest.mark.parametrize(
    "params, code",
    [
        ({"bbox": "1,2,3"}, "invalid_bbox"),
        ({"bbox": "21,106,20,105"}, "invalid_bbox"),
        ({"bbox": "8,102,23.5,110"}, "bbox_too_large"),
        ({"limit": "0"}, "invalid_limit"),
        ({"limit": "abc"}, "invalid_limit"),
        ({"cursor": "!!!"}, "invalid_cursor"),
        ({"status": "nope"}, "unknown_status"),
        ({"colour": "red"}, "unknown_parameter"),
    ],
)
def test_feed_bad_params(store, params, code):
    with pytest.raises(DomainError) as err:
        intake.feed(store, params, SETTINGS)
    assert err.value.kind == "invalid" and err.value.code == code


def test_private_reports_cannot_be_pinned_down_by_a_tiny_bbox_or_radius(store):
    from civic.services import units as directory
    exact = (21.028512, 105.854211)
    created = submit(store, {**GOOD, "category": "security", "lat": exact[0], "lon": exact[1]})
    tiny = f"{exact[0] - 0.00001},{exact[1] - 0.00001},{exact[0] + 0.00001},{exact[1] + 0.00001}"
    assert intake.feed(store, {"bbox": tiny}, SETTINGS)["items"] == []
    near = directory.nearby(store, {"lat": str(exact[0]), "lon": str(exact[1]), "radius": "1"}, SETTINGS)
    assert near["items"] == []
    # Around the published (rounded) place it is found, with the distance to that place.
    around = directory.nearby(store, {"lat": "21.03", "lon": "105.85", "radius": "5"}, SETTINGS)
    assert [r["id"] for r in around["items"]] == [created["id"]] and around["items"][0]["distance_m"] == 0


@pytest.mark.parametrize(
    "params, code",
    [({"limit": "²"}, "invalid_limit"), ({"cursor": "A" * 5000}, "invalid_cursor"), ({"bbox": "-90,-180,90,180"}, "bbox_too_large")],
)
def test_odd_listing_params_are_400s(store, params, code):
    with pytest.raises(DomainError) as err:
        intake.feed(store, params, SETTINGS)
    assert err.value.code == code


def test_absurd_numbers_and_codes_are_refused_cleanly(store):
    with pytest.raises(DomainError) as err:
        submit(store, {**GOOD, "lat": 10**400})
    assert err.value.code == "invalid_request" and "lat" in err.value.fields
    with pytest.raises(DomainError) as err:
        intake.track(store, "HN-" + "A" * 5000, SETTINGS)
    assert err.value.kind == "not_found"


def test_answers_to_the_categorys_questions_reach_staff_not_the_public(store):
    created = submit(store, {**GOOD, "category": "electricity", "answers": {"live_wire": "yes", "pole_number": "C-12"}})
    submitted = store.timeline(created["id"])[0]
    assert submitted.data["answers"] == {"live_wire": "yes", "pole_number": "C-12"}
    public = intake.track(store, created["tracking_code"], SETTINGS)
    assert public["id"] == created["id"] and "C-12" not in str(public) and "answers" not in str(public)


def test_a_new_upload_slot_for_a_photo_that_has_not_arrived(store):
    from dataclasses import replace

    body = dict(GOOD, media=[{"content_type": "image/jpeg", "size": 2000, "lat": 21.03, "lon": 105.85},
                             {"content_type": "image/png", "size": 3000}])
    created = submit(store, body)
    report_id, first, second = created["id"], created["uploads"][0]["media_id"], created["uploads"][1]["media_id"]
    assert store.get(report_id).media[0].declared_lat == 21.03  # kept for the media function
    signer = FakeUploadSigner()
    slot = intake.upload_again(store, signer, SETTINGS, report_id, second, "citizen-1")
    assert slot["media_id"] == second and slot["url"] and slot["fields"]
    assert signer.signed == [(f"uploads/{report_id}/{second}", "image/png", 3000)]  # that item alone, as declared
    version = store.get(report_id).version
    refused = []
    for media_id, citizen, kind, code in (
        (second, "someone-else", "forbidden", "forbidden"),
        ("nope", "citizen-1", "not_found", "media_not_found"),
    ):
        with pytest.raises(DomainError) as err:
            intake.upload_again(store, signer, SETTINGS, report_id, media_id, citizen)
        refused.append((err.value.kind, err.value.code))
        assert err.value.body("vi")["error"]["message"] != err.value.body("en")["error"]["message"]
        assert (kind, code) == refused[-1]
    with pytest.raises(DomainError) as err:
        intake.upload_again(store, signer, SETTINGS, "0" * 32, second, "citizen-1")
    assert err.value.kind == "not_found"
    # Once the file arrived, no new slot: the report changes nothing either way.
    report = store.reports[report_id]
    report.media[0] = replace(report.media[0], status="ready")
    with pytest.raises(DomainError) as err:
        intake.upload_again(store, signer, SETTINGS, report_id, first, "citizen-1")
    assert (err.value.kind, err.value.code) == ("conflict", "media_not_pending")
    assert "đã được nhận" in err.value.body("vi")["error"]["message"]
    assert store.get(report_id).version == version and len(signer.signed) == 1
