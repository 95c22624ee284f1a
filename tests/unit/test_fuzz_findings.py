"""Regressions for what schemathesis found while fuzzing the local stack (tests/e2e/test_openapi_fuzz.py)."""

from civic.domain import geo
from civic.services import intake
from civic.services import units as directory
from civic.settings import Settings
from civic_dev.fakes import FakeUploadSigner, InMemoryReportStore

SETTINGS = Settings(tracking_prefix="HN", media_base_url="https://cdn.test/media", service_bbox=(20.5, 105.2, 21.4, 106.1))


class CountingStore(InMemoryReportStore):
    """The in-memory store, recording how many map cells each feed query asks for."""

    def __init__(self):
        super().__init__()
        self.cells_asked: list[int] = []

    def feed(self, query):
        self.cells_asked.append(len(query.cells))
        return super().feed(query)


def test_box_intersection():
    assert geo.intersection((0, 0, 2, 2), (1, 1, 3, 3)) == (1, 1, 2, 2)
    assert geo.intersection((0, 0, 1, 1), (2, 2, 3, 3)) is None


def test_nearby_at_a_pole_asks_no_cells():
    """GET /v1/reports/nearby?lat=-90&lon=-180&radius=1999 took 9 s: the box around a pole spans every
    longitude (1,440 cells, one query each). Reports only exist in the service area, so only that is searched."""
    store = CountingStore()
    answer = directory.nearby(store, {"lat": "-90", "lon": "-180", "radius": "1999"}, SETTINGS)
    assert answer == {"items": [], "radius_m": 1999.0}
    assert store.cells_asked == []


def test_nearby_inside_the_service_area_still_finds_reports():
    store = CountingStore()
    created = intake.submit(
        {"category": "traffic", "description": "Ổ gà", "lat": 21.0285, "lon": 105.8542},
        citizen_id="c1", store=store, signer=FakeUploadSigner(), settings=SETTINGS,
    )
    answer = directory.nearby(store, {"lat": "21.0285", "lon": "105.8542", "radius": "50"}, SETTINGS)
    assert [item["id"] for item in answer["items"]] == [created["id"]]
    assert store.cells_asked == [1]
