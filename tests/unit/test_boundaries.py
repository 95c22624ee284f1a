"""Validation of operators' boundaries GeoJSON, and the routing artifact built from a clean one."""

import json

import pytest

from civic.domain.units import Unit, UnitTree
from civic.services.boundaries import (
    BoundaryError,
    RoutingArtifact,
    artifact_version,
    build_artifact,
    process_bytes,
    validate,
)

W, S, D = 105.80, 21.00, 0.01  # the south-west corner of ward W1, and the side of a ward


def tree(*extra: Unit) -> UnitTree:
    units = [
        Unit("CITY", "Thành phố", "City", "city"),
        Unit("W1", "Phường 1", "Ward 1", "ward", "CITY"),
        Unit("W2", "Phường 2", "Ward 2", "ward", "CITY"),
        Unit("AG", "Công ty điện", "Power company", "company", "CITY"),
        Unit("AG2", "Công ty nước", "Water company", "company", "CITY"),
    ]
    return UnitTree(units + list(extra))


def square(x0, y0, side=D):
    return [[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side], [x0, y0]]


def feature(code, geometry_or_rings, gtype="Polygon"):
    geometry = geometry_or_rings if isinstance(geometry_or_rings, dict) else {"type": gtype, "coordinates": geometry_or_rings}
    return {"type": "Feature", "properties": {"unit_code": code}, "geometry": geometry}


def fc(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def good():
    return fc(feature("W1", [square(W, S)]), feature("W2", [square(W + D, S)]))


def problems(report):
    return [(e["feature"], e["unit_code"], e["problem"]) for e in report.errors]


def test_two_adjacent_wards_are_ok():
    report = validate(good(), tree())
    assert report.ok and report.errors == [] and report.warnings == []
    assert report.counts["admin"] == 2 and report.counts["features"] == 2
    assert report.counts["overlap_pairs_checked"] == 1  # the shared edge: touching is not overlapping
    json.dumps(report.as_dict())


def test_multipolygon_with_a_hole_is_ok():
    outer = square(W, S, 3 * D)
    hole = square(W + D, S + D, D)[::-1]
    island = square(W + 4 * D, S, D)
    collection = fc(feature("W1", [[outer, hole], [island]], "MultiPolygon"), feature("W2", [square(W + D, S + D)]))
    report = validate(collection, tree())
    assert report.ok, report.errors  # W2 fills W1's hole exactly


@pytest.mark.parametrize(
    "collection",
    [[], {"type": "Feature"}, {"type": "FeatureCollection"}, {"type": "FeatureCollection", "features": {}}],
)
def test_not_a_feature_collection(collection):
    report = validate(collection, tree())
    assert not report.ok and problems(report) == [(None, None, "not_feature_collection")]


def test_empty_collection_is_refused():
    assert problems(validate(fc(), tree())) == [(None, None, "empty")]


def test_not_a_feature_and_unit_code_problems():
    collection = fc(
        {"type": "Polygon", "coordinates": [square(W, S)]},
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [square(W, S)]}},
        {"type": "Feature", "properties": None, "geometry": {"type": "Polygon", "coordinates": [square(W, S)]}},
        feature(17, [square(W, S)]),
        feature("W1", [square(W, S)]),
        feature("W2", [square(W + D, S)]),
    )
    assert problems(validate(collection, tree())) == [
        (0, None, "not_feature"),
        (1, None, "missing_unit_code"),
        (2, None, "missing_unit_code"),
        (3, None, "bad_unit_code"),
    ]


def test_unknown_unit_code():
    report = validate(fc(feature("W1", [square(W, S)]), feature("W2", [square(W + D, S)]), feature("W9", [square(W, S + D)])), tree())
    assert problems(report) == [(2, "W9", "unknown_unit")]
    assert "W9" in report.errors[0]["message"] and "W9" in report.errors[0]["message_vi"]


def test_duplicate_unit_code():
    report = validate(fc(feature("W1", [square(W, S)]), feature("W2", [square(W + D, S)]), feature("W1", [square(W, S + D)])), tree())
    assert problems(report) == [(2, "W1", "duplicate_unit")]
    assert "#0" in report.errors[0]["message"]


def test_point_feature_is_refused():
    report = validate(fc(feature("W1", {"type": "Point", "coordinates": [W, S]}), feature("W2", [square(W + D, S)])), tree())
    assert problems(report) == [(0, "W1", "bad_geometry_type")]
    assert "Point" in report.errors[0]["message"]


def test_bow_tie_self_intersection():
    bow_tie = [[W, S], [W + D, S + D], [W + D, S], [W, S + D], [W, S]]
    report = validate(fc(feature("W1", [bow_tie]), feature("W2", [square(W + D, S)])), tree())
    assert problems(report) == [(0, "W1", "invalid_geometry")]
    assert "Self-intersection" in report.errors[0]["message"] and "tự cắt" in report.errors[0]["message_vi"]


def test_ring_touching_itself():
    ring = [[W, S], [W + 2 * D, S], [W + D, S + D], [W + 2 * D, S + 2 * D], [W, S + 2 * D], [W + D, S + D], [W, S]]
    report = validate(fc(feature("W1", [ring]), feature("W2", [square(W + 3 * D, S)])), tree())
    assert problems(report) == [(0, "W1", "invalid_geometry")]
    assert "Ring Self-intersection" in report.errors[0]["message"]


def test_unclosed_ring_is_not_silently_closed():
    ring = square(W, S)[:-1]
    report = validate(fc(feature("W1", [ring]), feature("W2", [square(W + D, S)])), tree())
    assert problems(report) == [(0, "W1", "unclosed_ring")]


def test_too_short_ring():
    report = validate(fc(feature("W1", [[[W, S], [W + D, S], [W, S]]]), feature("W2", [square(W + D, S)])), tree())
    assert problems(report) == [(0, "W1", "ring_too_short")]


def test_hole_outside_its_shell():
    report = validate(fc(feature("W1", [square(W, S), square(W + 5 * D, S)[::-1]]), feature("W2", [square(W + D, S)])), tree())
    assert problems(report) == [(0, "W1", "invalid_geometry")]
    assert "Hole lies outside shell" in report.errors[0]["message"]


def test_coordinates_out_of_range_hint_at_swapped_order():
    swapped = [[y, x] for x, y in square(W, S)]
    report = validate(fc(feature("W1", [swapped]), feature("W2", [square(W + D, S)])), tree())
    assert problems(report) == [(0, "W1", "out_of_range")]
    assert "latitude may come first" in report.errors[0]["message"]


@pytest.mark.parametrize("coordinates", [[[["a", "b"], [1, 2], [3, 4], ["a", "b"]]], [[[1], [2], [3], [1]]], "x", []])
def test_malformed_coordinates(coordinates):
    report = validate(fc(feature("W1", coordinates), feature("W2", [square(W + D, S)])), tree())
    assert problems(report) == [(0, "W1", "bad_coordinates")]


def test_wards_overlapping_by_ten_percent_are_refused():
    report = validate(fc(feature("W1", [square(W, S)]), feature("W2", [square(W + 0.9 * D, S)])), tree())
    assert problems(report) == [(1, "W2", "overlap")]
    assert "W1" in report.errors[0]["message"] and "10%" in report.errors[0]["message"]


def test_a_rounding_sliver_is_tolerated():
    report = validate(fc(feature("W1", [square(W, S)]), feature("W2", [square(W + D - 1e-7, S)])), tree())
    assert report.ok, report.errors


def test_nested_admin_units_are_an_overlap_with_a_hint():
    big = square(W, S, 2 * D)
    report = validate(fc(feature("CITY", [big]), feature("W1", [square(W, S)]), feature("W2", [square(W + D, S)])), tree())
    assert sorted(problems(report)) == [(1, "W1", "overlap"), (2, "W2", "overlap")]
    assert "upload one level only" in report.errors[0]["message"]


def test_agencies_may_overlap_wards_and_each_other():
    collection = fc(
        feature("W1", [square(W, S)]), feature("W2", [square(W + D, S)]),
        feature("AG", [square(W, S, 2 * D)]), feature("AG2", [square(W + 0.5 * D, S, D)]),
    )
    report = validate(collection, tree())
    assert report.ok, report.errors
    assert report.counts["agency"] == 2 and report.counts["admin"] == 2


def test_a_ward_without_boundary_is_a_warning():
    extra = Unit("C3", "Xã 3", "Commune 3", "commune", "CITY")
    report = validate(good(), tree(extra, Unit("D1", "Quận 1", "District 1", "district", "CITY")))
    assert report.ok
    assert [(w["unit_code"], w["problem"]) for w in report.warnings] == [("C3", "missing_coverage")]
    assert report.counts["missing_coverage"] == 1


def test_every_problem_is_reported_not_just_the_first():
    collection = fc(feature("W1", [square(W, S)[:-1]]), feature("W9", [square(W, S)]), {"type": "x"})
    assert len(validate(collection, tree()).errors) == 3


# ------------------------------------------------------------------------------------ the artifact


def city():
    return fc(
        feature("W1", [square(W, S)]), feature("W2", [square(W + D, S)]),
        feature("AG", [square(W, S, 2 * D)]), feature("AG2", [square(W + 0.5 * D, S, D)]),
    )


def test_artifact_round_trip_and_locate():
    data = build_artifact(city(), tree(), built_at="2026-01-01T00:00:00.000Z")
    artifact = RoutingArtifact.from_bytes(data)
    assert artifact.version == artifact_version(data) and len(artifact.version) == 64
    assert artifact.built_at == "2026-01-01T00:00:00.000Z"
    assert artifact.counts == {"features": 4, "admin": 2, "agency": 2, "missing_coverage": 0}
    assert sorted(artifact.admin.codes) == ["W1", "W2"] and sorted(artifact.agency.codes) == ["AG", "AG2"]
    assert artifact.locate(S + D / 2, W + D / 4) == "W1"
    assert artifact.locate(S + D / 2, W + 1.75 * D) == "W2"
    assert artifact.locate(S + 5 * D, W) is None
    assert artifact.locate(S + D + 0.0001, W + D / 2, snap_m=50) == "W1"  # ~11 m north of W1
    assert artifact.agencies_at(S + D / 2, W + D / 4) == ["AG"]
    assert artifact.agencies_at(S + D / 2, W + D) == ["AG", "AG2"]
    assert artifact.agencies_at(S + 5 * D, W) == []


def test_same_boundaries_same_version():
    a = build_artifact(city(), tree(), built_at="2026-01-01T00:00:00.000Z")
    b = build_artifact(city(), tree(), built_at="2026-02-01T00:00:00.000Z")
    assert artifact_version(a) == artifact_version(b)


def test_artifact_without_agencies():
    artifact = RoutingArtifact.from_bytes(build_artifact(good(), tree()))
    assert artifact.agency is None and artifact.agencies_at(S, W) == []


def test_corrupt_artifacts_are_refused():
    data = build_artifact(city(), tree())
    for bad in (b"", b"garbage", data[:-10], data[:-1] + bytes([data[-1] ^ 1]), b"CBRIDX1\n\x00\x00\x00\x05{}{}{"):
        with pytest.raises(ValueError):
            RoutingArtifact.from_bytes(bad)


def test_build_refuses_an_invalid_collection():
    with pytest.raises(BoundaryError) as caught:
        build_artifact(fc(feature("W9", [square(W, S)])), tree())
    assert caught.value.report.errors[0]["problem"] == "unknown_unit"


class MemoryStore:
    def __init__(self):
        self.pointer, self.artifacts, self.statuses, self.collections = None, {}, [], {}

    def current(self):
        return self.pointer

    def publish(self, artifact, pointer, collection):
        self.artifacts[pointer["version"]] = artifact
        self.collections[pointer["version"]] = collection
        self.pointer = {**pointer, "key": pointer["version"]}
        return self.pointer

    def collection(self, pointer):
        return self.collections.get(pointer["version"])

    def save_status(self, source_key, status):
        self.statuses.append(status)
        return status


@pytest.mark.parametrize(
    "raw,detail",
    [(b"\x1f\x8b\x08rest", "compressed"), (b"{not json", "line 1 column 2"), (b"\xff\xfe", "UTF-8"),
     (b"PK\x03\x04zip", "compressed")],
)
def test_not_json_is_refused_clearly(raw, detail):
    store = MemoryStore()
    status = process_bytes(raw, source_key="boundaries/incoming/x", store=store, tree=tree(), now="t")
    assert not status["ok"] and status["outcome"] == "refused" and store.pointer is None
    assert status["report"]["errors"][0]["problem"] == "not_json" and detail in status["report"]["errors"][0]["message"]


def test_a_bad_upload_never_replaces_a_good_index():
    store = MemoryStore()
    ok = process_bytes(json.dumps(city()).encode(), source_key="k1", store=store, tree=tree(), now="t1",
                       source_modified="2026-01-01T00:00:01+00:00")
    assert ok["ok"] and ok["outcome"] == "published" and ok["active_version"] == store.pointer["version"]
    bad = process_bytes(json.dumps(fc(feature("W9", [square(W, S)]))).encode(), source_key="k2", store=store,
                        tree=tree(), now="t2", source_modified="2026-01-01T00:00:02+00:00")
    assert not bad["ok"] and bad["active_version"] == ok["active_version"] and store.pointer["source_key"] == "k1"
    late = process_bytes(json.dumps(good()).encode(), source_key="k0", store=store, tree=tree(), now="t3",
                         source_modified="2026-01-01T00:00:00+00:00")
    assert late["ok"] and late["outcome"] == "superseded" and store.pointer["source_key"] == "k1"


def test_only_agency_areas_is_refused():
    report = validate(fc(feature("AG", [square(W, S)])), tree())
    assert problems(report) == [(None, None, "no_admin")]


def test_artifact_from_a_memoryview_and_aligned_sections():
    import struct

    data = build_artifact(city(), tree())
    artifact = RoutingArtifact.from_bytes(memoryview(bytearray(data)))
    assert artifact.locate(S + D / 2, W + D / 4) == "W1"
    (length,) = struct.unpack_from(">I", data, 8)
    start = 12 + length
    assert start % 8 == 0
    assert all((start + offset) % 8 == 0 for offset, _ in artifact.header["sections"].values())


def test_merge_keeps_the_codes_an_upload_does_not_name_and_numbers_problems_as_uploaded():
    from civic.services.boundaries import merge_collections

    published = fc(feature("W1", [square(0, 0)]), feature("W2", [square(D, 0)]), feature("AG", [square(0, 0, 2 * D)]))
    upload = fc(feature("W2", [square(D, D)]), feature("W3", [square(2 * D, 0)]))
    merged, summary = merge_collections(published, upload)
    assert [f["properties"]["unit_code"] for f in merged["features"]] == ["W2", "W3", "W1", "AG"]
    assert summary == {"added": 1, "replaced": 1, "kept": 2}
    assert merge_collections(None, upload) == (upload, {})


def test_process_merges_by_default_and_replaces_when_asked():
    store = MemoryStore()
    units = tree(Unit("W3", "W3", "W3", "ward", "CITY"))
    process_bytes(json.dumps(fc(feature("W1", [square(0, 0)]), feature("W2", [square(D, 0)]))).encode(),
                  source_key="a", store=store, tree=units)
    merged = process_bytes(json.dumps(fc(feature("W3", [square(2 * D, 0)]))).encode(), source_key="b",
                           store=store, tree=units)
    assert merged["merged"] == {"added": 1, "replaced": 0, "kept": 2} and merged["report"]["counts"]["admin"] == 3
    replaced = process_bytes(json.dumps(fc(feature("W3", [square(2 * D, 0)]))).encode(), source_key="c",
                             store=store, tree=units, mode="replace")
    assert replaced["outcome"] == "published" and replaced["report"]["counts"]["admin"] == 1 and "merged" not in replaced
