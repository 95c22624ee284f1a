"""openapi.yaml is the API's contract: valid OpenAPI 3.1, in step with the Chalice routes, and served."""

import json
import re
from pathlib import Path

import pytest
import yaml
from chalice.app import CognitoUserPoolAuthorizer
from chalice.test import Client
from openapi_spec_validator import validate

from civic_dev.local.loader import load_chalice_app

ROOT = Path(__file__).resolve().parents[2]
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# Open311 GeoReport v2 routes are documented too, but their errors are the specification's
# [{code, description}] (in XML or JSON), not the API's error shape.
OPEN311 = re.compile(r"^/open311/")


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def app():
    return load_chalice_app(ROOT / "chalice_app")


def _documented(spec: dict) -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in spec["paths"].items() for method in item if method in METHODS}


def _routed(app) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, methods in app.routes.items()
        for method in methods
        if method != "OPTIONS"
    }


def _deref(spec: dict, node: dict) -> dict:
    """Follow one local $ref (#/components/...)."""
    if "$ref" not in node:
        return node
    target = spec
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return target


def test_document_is_valid_openapi_31(spec):
    validate(spec)  # raises with the first problem
    assert spec["openapi"].startswith("3.1")


def test_every_route_is_documented(spec, app):
    missing = sorted(_routed(app) - _documented(spec))
    assert not missing, f"routes missing from openapi.yaml: {missing}"


def test_every_documented_route_exists(spec, app):
    ghosts = sorted(_documented(spec) - _routed(app))
    assert not ghosts, f"openapi.yaml documents routes the app does not have: {ghosts}"


def test_signed_in_routes_require_a_token_and_document_401(spec, app):
    """Routes behind the Cognito authorizer say so (bearerAuth, not optional) and answer 401."""
    problems = []
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            if method == "OPTIONS":
                continue
            operation = spec["paths"][path][method.lower()]
            security = operation.get("security", spec.get("security", []))
            if isinstance(entry.authorizer, CognitoUserPoolAuthorizer):
                if security != [{"bearerAuth": []}] or "401" not in operation["responses"]:
                    problems.append(f"{method} {path}: needs security [bearerAuth] and a 401 answer")
            elif {} not in security and security:
                problems.append(f"{method} {path}: public route documented as requiring a token")
    assert not problems, problems


def test_path_parameters_match_the_routes(spec):
    for path, item in spec["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        declared = set()
        for operation in [item] + [item[m] for m in item if m in METHODS]:
            declared |= {
                p["name"] for p in (_deref(spec, p) for p in operation.get("parameters", [])) if p["in"] == "path"
            }
        assert declared == names, f"{path}: path parameters {declared} != {names}"


def test_every_error_answer_has_the_error_shape(spec):
    error = {"$ref": "#/components/schemas/Error"}
    for path, item in spec["paths"].items():
        if OPEN311.match(path):
            continue
        for method in (m for m in item if m in METHODS):
            for status, answer in item[method]["responses"].items():
                if status.startswith(("4", "5")):
                    body = _deref(spec, answer)["content"]["application/json"]["schema"]
                    assert body == error, f"{method.upper()} {path} {status} is not the error shape"


def test_category_codes_are_the_shipped_categories(spec):
    from civic.domain.categories import all_categories

    assert spec["components"]["schemas"]["CategoryCode"]["enum"] == list(all_categories())


def test_served_as_json(spec, app):
    with Client(app) as client:
        response = client.http.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert json.loads(response.body) == spec


def test_lambda_serves_the_packaged_copy(app, monkeypatch, tmp_path):
    """In Lambda only chalice_app/ exists: the route reads the JSON infra/package.sh wrote there."""
    import chalicelib.routes.meta as routes

    packaged = tmp_path / "openapi.json"
    packaged.write_text(json.dumps({"openapi": "3.1.0", "info": {"title": "packaged"}, "paths": {}}))
    monkeypatch.setattr(routes, "SOURCE", tmp_path / "absent.yaml")
    monkeypatch.setattr(routes, "PACKAGED", packaged)
    routes.document.cache_clear()
    try:
        assert routes.document()["info"]["title"] == "packaged"
    finally:
        routes.document.cache_clear()


def test_open311_errors_are_the_specification_shape(spec):
    for path, item in spec["paths"].items():
        if not OPEN311.match(path):
            continue
        for method in (m for m in item if m in METHODS):
            for status, answer in item[method]["responses"].items():
                if status == "429":  # the same errors, with a Retry-After header
                    assert answer == {"$ref": "#/components/responses/Open311TooMany"}, f"{method.upper()} {path}"
                elif status.startswith("4"):
                    assert answer == {"$ref": "#/components/responses/Open311Error"}, f"{method.upper()} {path} {status}"
    responses = spec["components"]["responses"]
    assert responses["Open311TooMany"]["content"] == responses["Open311Error"]["content"]


def test_no_key_is_written_twice():
    """YAML keeps the last of two equal keys without a word; generators such as openapi-python-client
    refuse such a document. Every mapping's keys must be unique."""
    duplicates = []

    class Strict(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
        duplicates.extend(f"line {node.start_mark.line + 1}: {k}" for k in sorted({k for k in keys if keys.count(k) > 1}))
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    yaml.load((ROOT / "openapi.yaml").read_text(encoding="utf-8"), Loader=Strict)
    assert duplicates == []


def test_routes_that_count_a_quota_document_429_with_retry_after(spec, app):
    """Reads without a sign-in (but the uncounted ones), report submissions, flags and Open311 POSTs may answer 429."""
    from chalicelib.http import UNCOUNTED_READS

    counted = {(path, "get") for path, methods in app.routes.items() for method, entry in methods.items()
               if method == "GET" and not isinstance(entry.authorizer, CognitoUserPoolAuthorizer)
               and entry.view_name not in UNCOUNTED_READS}
    counted |= {("/v1/reports", "post"), ("/open311/v2/{resource}", "post"), ("/v1/reports/{report_id}/flags", "post")}
    missing = sorted(c for c in counted if "429" not in spec["paths"][c[0]][c[1]]["responses"])
    assert not missing, f"routes that may answer 429 without documenting it: {missing}"
    for path, method in counted:
        answer = _deref(spec, spec["paths"][path][method]["responses"]["429"])
        assert "Retry-After" in answer["headers"], (path, method)
