"""Publishing the web app to the web bucket (civic_dev.webdeploy), on moto's S3 in-process."""

import boto3
import pytest
from moto import mock_aws

from civic_dev.webdeploy import IMMUTABLE, REVALIDATE, config_js, publish, web_objects


@pytest.fixture
def web_root(tmp_path):
    (tmp_path / "dist" / "chunks").mkdir(parents=True)
    (tmp_path / "index.html").write_text("<!doctype html><title>CivicBridge</title>", "utf-8")
    (tmp_path / "dist" / "app.js").write_text("import('./chunks/charts-AB12.js');", "utf-8")
    (tmp_path / "dist" / "app.js.map").write_text("{}", "utf-8")
    (tmp_path / "dist" / "app.css").write_text("body{}", "utf-8")
    (tmp_path / "dist" / "chunks" / "charts-AB12.js").write_text("export{};", "utf-8")
    (tmp_path / "dist" / ".built").write_text("stamp", "utf-8")
    return tmp_path


def test_config_js_points_at_the_api_and_an_optional_tile_server():
    assert config_js("https://api.example/", None) == b'window.CIVIC_API = "https://api.example";\n'
    with_tiles = config_js("https://api.example", "https://t.example/{z}/{x}/{y}.png", "© OSM").decode()
    assert 'window.CIVIC_TILE_URL = "https://t.example/{z}/{x}/{y}.png";' in with_tiles
    assert 'window.CIVIC_TILE_ATTRIBUTION = "\\u00a9 OSM";' in with_tiles


def test_missing_build_is_refused(tmp_path):
    (tmp_path / "index.html").write_text("x", "utf-8")
    with pytest.raises(FileNotFoundError, match="make web"):
        web_objects(tmp_path, "https://api.example")


@mock_aws
def test_publish_uploads_every_file_with_type_and_cache_policy(web_root):
    s3 = boto3.client("s3", region_name="ap-southeast-1")
    s3.create_bucket(Bucket="web", CreateBucketConfiguration={"LocationConstraint": "ap-southeast-1"})
    keys = publish(s3, "web", web_objects(web_root, "https://api.example"))
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="web")["Contents"])
    # Source maps and stamp files stay out of the public site.
    assert listed == sorted(keys) == ["config.js", "dist/app.css", "dist/app.js", "dist/chunks/charts-AB12.js", "index.html"]
    head = {k: s3.head_object(Bucket="web", Key=k) for k in listed}
    assert head["index.html"]["ContentType"] == "text/html; charset=utf-8"
    assert head["dist/app.js"]["ContentType"].endswith("javascript; charset=utf-8")
    assert head["dist/app.css"]["ContentType"] == "text/css; charset=utf-8"
    assert head["dist/app.js"]["CacheControl"] == REVALIDATE
    assert head["dist/chunks/charts-AB12.js"]["CacheControl"] == IMMUTABLE
    body = s3.get_object(Bucket="web", Key="config.js")["Body"].read()
    assert body == b'window.CIVIC_API = "https://api.example";\n'
