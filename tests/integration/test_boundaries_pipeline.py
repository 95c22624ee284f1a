"""The boundaries pipeline on moto: upload → the boundaries function → artifact, pointer, status; the cache."""

import importlib.util
import json
import threading
from pathlib import Path
from urllib.parse import quote_plus

import boto3
import pytest
from moto import mock_aws

from civic.adapters.dynamo import models
from civic.adapters.dynamo.units import DynamoUnitStore
from civic.adapters.s3.routing_index import (
    POINTER_KEY,
    STATUS_KEY,
    IndexCache,
    NoRoutingIndex,
    publish_collection,
)
from civic.services.boundaries import RoutingArtifact
from civic.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]
W, S, D = 105.80, 21.00, 0.01


def square(x0, y0, side=D):
    return [[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side], [x0, y0]]


def fc(*pairs):
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"unit_code": code}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
            for code, ring in pairs
        ],
    }


GOOD = fc(("W1", square(W, S)), ("W2", square(W + D, S)), ("AG", square(W, S, 2 * D)))
MOVED = fc(("W1", square(W, S + D)), ("W2", square(W + D, S + D)), ("AG", square(W, S, 2 * D)))
BROKEN = fc(("W1", square(W, S)[:-1]), ("W9", square(W + D, S)), ("W2", square(W + 0.5 * D, S)))


@pytest.fixture(scope="module")
def stack():
    from civic_dev.local.deploy import deploy_stack

    with mock_aws():
        deployed = deploy_stack(endpoint_url=None, region="ap-southeast-1")
        settings = Settings(**{k.lower(): v for k, v in deployed.env.items() if k.lower() in Settings.model_fields})
        models.bind(settings)
        models.UnitModel(code="CITY", kind="city", name_vi="Thành phố", name_en="City").save()
        for code, kind in (("W1", "ward"), ("W2", "ward"), ("W3", "ward"), ("AG", "company")):
            models.UnitModel(code=code, parent_code="CITY", kind=kind, name_vi=code, name_en=code,
                             contact={"phone": "1900"} if kind == "company" else None).save()
        yield deployed, settings, boto3.client("s3", region_name="ap-southeast-1")


@pytest.fixture
def handler(stack, monkeypatch):
    deployed, settings, _ = stack
    for name, value in deployed.env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    spec = importlib.util.spec_from_file_location("boundaries_handler", ROOT / "functions/boundaries/handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from civic_dev.local.lambda_runtime import LambdaContext

    def invoke(key):
        event = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {
            "bucket": {"name": settings.config_bucket}, "object": {"key": quote_plus(key), "size": 1}}}]}
        return module.handler(event, LambdaContext("BoundariesFunction", "arn:aws:lambda:::function:b", 1536, 300))

    yield invoke
    get_settings.cache_clear()


def get_json(s3, bucket, key):
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


class CountingS3:
    """The real client, counting get_object calls by key (and how many were answered 304)."""

    def __init__(self, client):
        self.client, self.gets, self.not_modified = client, {}, 0
        self.lock = threading.Lock()

    def get_object(self, **kwargs):
        from botocore.exceptions import ClientError

        with self.lock:
            self.gets[kwargs["Key"]] = self.gets.get(kwargs["Key"], 0) + 1
        try:
            return self.client.get_object(**kwargs)
        except ClientError as exc:
            if exc.response["ResponseMetadata"]["HTTPStatusCode"] == 304:
                with self.lock:
                    self.not_modified += 1
            raise


def test_units_loader(stack):
    tree = DynamoUnitStore().tree()
    assert sorted(tree.by_code) == ["AG", "CITY", "W1", "W2", "W3"]
    assert tree.get("AG").contact == {"phone": "1900"} and tree.get("W1").parent_code == "CITY"


def test_cache_before_any_publication(stack):
    _, settings, s3 = stack
    with pytest.raises(NoRoutingIndex, match="civic boundaries import"):
        IndexCache(s3, settings.config_bucket).get()


def test_good_then_broken_upload(stack, handler):
    _, settings, s3 = stack
    bucket = settings.config_bucket
    good_key = "boundaries/incoming/20260101T000000Z-phường mẫu.geojson"  # a space and diacritics: URL-encoded in events
    s3.put_object(Bucket=bucket, Key=good_key, Body=json.dumps(GOOD).encode())
    result = handler(good_key)
    assert result["results"][0]["outcome"] == "published", result

    pointer = get_json(s3, bucket, POINTER_KEY)
    assert pointer["source_key"] == good_key and pointer["key"] == f"routing/index/{pointer['version']}.bin"
    assert pointer["counts"] == {"features": 3, "admin": 2, "agency": 1, "missing_coverage": 1}
    artifact = RoutingArtifact.from_bytes(s3.get_object(Bucket=bucket, Key=pointer["key"])["Body"].read())
    assert artifact.version == pointer["version"] and artifact.locate(S + D / 2, W + D / 2) == "W1"
    assert artifact.agencies_at(S + D / 2, W + D / 2) == ["AG"]
    status = get_json(s3, bucket, STATUS_KEY)
    assert status["ok"] and status["source_key"] == good_key and status["active_version"] == pointer["version"]
    assert [w["unit_code"] for w in status["report"]["warnings"]] == ["W3"]  # W3 has no boundary
    assert get_json(s3, bucket, "boundaries/reports/20260101T000000Z-phường mẫu.geojson.json") == status

    bad_key = "boundaries/incoming/20260102T000000Z-broken.geojson"
    s3.put_object(Bucket=bucket, Key=bad_key, Body=json.dumps(BROKEN).encode())
    assert handler(bad_key)["results"][0]["outcome"] == "refused"
    status = get_json(s3, bucket, STATUS_KEY)
    assert not status["ok"] and status["source_key"] == bad_key and status["active_version"] == pointer["version"]
    found = {(e["feature"], e["unit_code"], e["problem"]) for e in status["report"]["errors"]}
    assert found == {(0, "W1", "unclosed_ring"), (1, "W9", "unknown_unit")}  # W2 cannot overlap W1's broken ring
    assert get_json(s3, bucket, POINTER_KEY) == pointer

    junk_key = "boundaries/incoming/20260103T000000Z-wards.zip"
    s3.put_object(Bucket=bucket, Key=junk_key, Body=b"PK\x03\x04....")
    handler(junk_key)
    status = get_json(s3, bucket, STATUS_KEY)
    assert status["report"]["errors"][0]["problem"] == "not_json" and get_json(s3, bucket, POINTER_KEY) == pointer


def test_cache_checks_cheaply_and_picks_up_a_new_version(stack):
    _, settings, s3 = stack
    bucket = settings.config_bucket
    first = publish_collection(GOOD, DynamoUnitStore().tree(), client=s3, bucket=bucket, source_key="seed:a")
    assert first["ok"]
    now = [0.0]
    counting = CountingS3(s3)
    cache = IndexCache(counting, bucket, check_interval=30, clock=lambda: now[0])
    artifact = cache.get()
    assert artifact.version == first["active_version"]
    artifact_key = f"routing/index/{artifact.version}.bin"
    assert counting.gets == {POINTER_KEY: 1, artifact_key: 1}

    for t in (1.0, 10.0, 29.0):  # inside the interval: no request at all
        now[0] = t
        assert cache.get() is artifact
    assert counting.gets == {POINTER_KEY: 1, artifact_key: 1}

    now[0] = 31.0  # one conditional GET, answered 304: no download
    assert cache.get() is artifact
    assert counting.gets == {POINTER_KEY: 2, artifact_key: 1} and counting.not_modified == 1

    second = publish_collection(MOVED, DynamoUnitStore().tree(), client=s3, bucket=bucket, source_key="seed:b")
    assert second["active_version"] != first["active_version"]
    now[0] = 40.0  # published, but the cache has not looked yet
    assert cache.get() is artifact
    now[0] = 62.0
    fresh = cache.get()
    assert fresh.version == second["active_version"] and fresh.locate(S + 1.5 * D, W + D / 2) == "W1"
    assert counting.gets[POINTER_KEY] == 3 and counting.gets[f"routing/index/{fresh.version}.bin"] == 1

    # The same pointer rewritten (same version, new ETag): read, but the artifact is not downloaded again.
    again = publish_collection(MOVED, DynamoUnitStore().tree(), client=s3, bucket=bucket, source_key="seed:c")
    assert again["active_version"] == fresh.version
    now[0] = 100.0
    assert cache.get() is fresh and cache.pointer["source_key"] == "seed:c"
    assert counting.gets[f"routing/index/{fresh.version}.bin"] == 1


def test_cache_keeps_its_artifact_when_s3_fails(stack):
    _, settings, s3 = stack

    class Flaky(CountingS3):
        fail = False

        def get_object(self, **kwargs):
            if self.fail:
                from botocore.exceptions import ClientError

                raise ClientError({"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "GetObject")
            return super().get_object(**kwargs)

    now = [0.0]
    flaky = Flaky(s3)
    cache = IndexCache(flaky, settings.config_bucket, check_interval=5, clock=lambda: now[0])
    artifact = cache.get()
    flaky.fail, now[0] = True, 10.0
    assert cache.get() is artifact


def test_cache_is_loaded_once_by_concurrent_threads(stack):
    _, settings, s3 = stack
    counting = CountingS3(s3)
    cache = IndexCache(counting, settings.config_bucket)
    barrier = threading.Barrier(8)
    versions = []

    def worker():
        barrier.wait()
        versions.append(cache.get().version)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(versions) == 8 and len(set(versions)) == 1
    assert counting.gets == {POINTER_KEY: 1, f"routing/index/{versions[0]}.bin": 1}


def test_cli_import_and_status(stack, handler, monkeypatch, tmp_path, capsys):
    from civic_dev.cli import main
    from civic_dev.cli import target as targets

    deployed, settings, s3 = stack
    notjson = tmp_path / "wards.geojson"
    notjson.write_text("<html>not json</html>")
    assert main(["boundaries", "import", str(notjson)]) == 2
    assert "is not JSON: Expecting value at line 1 column 1" in capsys.readouterr().err

    monkeypatch.setattr(
        targets, "resolve",
        lambda args: targets.Target(env=deployed.env, region="ap-southeast-1", endpoint_url=None, description="moto"),
    )
    done = set()
    stop = threading.Event()

    def function():  # stands in for the dispatcher: delivers each new upload to the handler
        while not stop.is_set():
            listed = s3.list_objects_v2(Bucket=settings.config_bucket, Prefix="boundaries/incoming/")
            for item in listed.get("Contents", []):
                if item["Key"] not in done and "cli" in item["Key"]:
                    done.add(item["Key"])
                    handler(item["Key"])
            stop.wait(0.05)

    worker = threading.Thread(target=function, daemon=True)
    worker.start()
    try:
        good = tmp_path / "cli good.geojson"
        good.write_text(json.dumps(GOOD))
        assert main(["boundaries", "import", str(good), "--lang", "en", "--timeout", "20", "--poll", "0.05"]) == 0
        out = capsys.readouterr().out
        assert "OK: boundaries/incoming/" in out and "-cli_good.geojson published as version" in out
        assert "W3" in out  # the missing-coverage warning

        bad = tmp_path / "cli-bad.geojson"
        bad.write_text(json.dumps(BROKEN))
        assert main(["boundaries", "import", str(bad), "--timeout", "20", "--poll", "0.05"]) == 1
        out = capsys.readouterr().out
        assert "REFUSED" in out and "#1 W9" in out and "không có trong danh mục" in out
    finally:
        stop.set()
        worker.join()

    assert main(["boundaries", "status", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    pointer = get_json(s3, settings.config_bucket, POINTER_KEY)
    assert f"active version {pointer['version']}" in out and "-cli-bad.geojson" in out and "REFUSED" in out


def test_an_upload_merges_by_unit_code_and_any_version_can_be_exported_and_rolled_back(stack, handler, monkeypatch,
                                                                                       tmp_path, capsys):
    """An operator's file with one ward no longer drops the others; --replace-all does; export gives the
    set back; history lists the publications and rollback makes an earlier one active again."""
    from civic_dev.cli import main
    from civic_dev.cli import target as targets

    deployed, settings, s3 = stack
    monkeypatch.setattr(
        targets, "resolve",
        lambda args: targets.Target(env=deployed.env, region="ap-southeast-1", endpoint_url=None, description="moto"),
    )

    def upload(name, collection, *flags):
        path = tmp_path / name
        path.write_text(json.dumps(collection))
        before = {item["Key"] for item in s3.list_objects_v2(Bucket=settings.config_bucket,
                                                              Prefix="boundaries/incoming/").get("Contents", [])}
        worker = threading.Thread(target=lambda: _deliver_new(s3, settings.config_bucket, before, handler), daemon=True)
        worker.start()
        code = main(["boundaries", "import", str(path), "--lang", "en", "--timeout", "20", "--poll", "0.05", *flags])
        worker.join()
        return code, capsys.readouterr().out

    def exported(*flags):
        assert main(["boundaries", "export", *flags]) == 0
        return {f["properties"]["unit_code"]: f["geometry"]["coordinates"][0][0]
                for f in json.loads(capsys.readouterr().out)["features"]}

    code, out = upload("all-merge.geojson", GOOD, "--replace-all")
    assert code == 0 and "replaced the whole set" in out
    first = get_json(s3, settings.config_bucket, POINTER_KEY)["version"]
    assert exported() == {"W1": [W, S], "W2": [W + D, S], "AG": [W, S]}

    # One ward moved: merged by unit code, the other ward and the agency area stay.
    code, out = upload("w1-only.geojson", fc(("W1", square(W, S + D))))
    assert code == 0 and "1 replaced, 2 kept" in out
    second = get_json(s3, settings.config_bucket, POINTER_KEY)["version"]
    assert second != first and exported() == {"W1": [W, S + D], "W2": [W + D, S], "AG": [W, S]}
    assert exported("--version", first[:12])["W1"] == [W, S]

    # A merged set is validated whole: a new ward overlapping a kept one is refused, nothing changes.
    code, out = upload("overlap.geojson", fc(("W3", square(W + D, S))))
    assert code == 1 and "REFUSED" in out
    assert get_json(s3, settings.config_bucket, POINTER_KEY)["version"] == second

    assert main(["boundaries", "history"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].startswith(f"* {second[:12]}") and listing[1].startswith(f"  {first[:12]}")
    assert main(["boundaries", "rollback", first[:12]]) == 0
    assert "is active again" in capsys.readouterr().out
    pointer = get_json(s3, settings.config_bucket, POINTER_KEY)
    assert pointer["version"] == first and pointer["rollback_of"] == second
    assert exported()["W1"] == [W, S]
    assert main(["boundaries", "rollback", "deadbeefdeadbeef"]) == 2
    capsys.readouterr()
    # The functions' cache follows the pointer: the rolled-back artifact is what they load.
    cache = IndexCache(s3, settings.config_bucket, check_interval=0)
    assert cache.get().version == first


def _deliver_new(s3, bucket, before, handler, timeout=20.0):
    """Stands in for the S3 notification: hands the next new upload to the boundaries handler."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="boundaries/incoming/").get("Contents", [])
        new = [item["Key"] for item in listed if item["Key"] not in before]
        if new:
            handler(new[0])
            return
        time.sleep(0.05)
