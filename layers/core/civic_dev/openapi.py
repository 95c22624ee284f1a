"""`make openapi`: write openapi.yaml from the edge's pydantic models and the operations table.

The models and the table live in `chalice_app/chalicelib/schemas/`; this module only renders them
(PyYAML, a dev dependency, is never needed by the Lambda). The output is deterministic: the table's
order for paths, sorted component names, and keys in a fixed order, so `--check` (and
tests/unit/test_openapi_generated.py) can compare it with the committed file.

    python -m civic_dev.openapi            # write openapi.yaml
    python -m civic_dev.openapi --check    # exit 1 when openapi.yaml is stale
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from civic_dev.local.loader import _ensure_chalicelib

ROOT = Path(__file__).resolve().parents[3]
APP_DIR = ROOT / "chalice_app"
TARGET = ROOT / "openapi.yaml"
REF = "#/components/schemas/{model}"

DESCRIPTION = """\
The HTTP API of CivicBridge: citizens submit and follow reports, staff handle them, operators manage
units and routing rules, leaders read statistics.

* Errors always have the shape `{"error": {"code", "message", "fields"}}`; `message` and the
  `fields` messages are in the language picked from `Accept-Language` (Vietnamese by default).
* Times in data are UTC ISO-8601 (`2026-11-23T07:00:00.000Z`); statistics' days are days in
  Asia/Ho_Chi_Minh.
* Signed-in routes take a Cognito **id token** as `Authorization: Bearer <token>`; roles are the
  Cognito groups `citizen`, `officer`, `leader`, `coordinator`, `admin`.
* Open311 GeoReport v2 clients use `/open311/v2`, whose contract is the GeoReport v2 specification.

This document is generated (`make openapi`) from the pydantic models and the operations table in
chalice_app/chalicelib/schemas/; tests/unit/test_openapi_generated.py fails when it is stale. It is
checked against the Chalice routes (tests/unit/test_openapi.py), and schemathesis fuzzes the local
stack from it (tests/e2e/test_openapi_fuzz.py).
"""

TAGS = [
    ("public", "Anyone, without signing in"),
    ("citizen", "A signed-in citizen (any signed-in user)"),
    ("staff", "Officers, leaders and coordinators of units"),
    ("admin", "Operators (the `admin` group)"),
    ("stats", "Statistics for leaders and the public dashboard"),
    ("notifications", "Notification preferences, devices, the in-app inbox and public alerts"),
    ("open311", "Open311 GeoReport v2 (see the GeoReport v2 specification)"),
]

ERRORS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
          413: "TooLarge", 422: "Unprocessable", 429: "TooManyRequests", 503: "Unavailable"}
ERROR_TEXTS = {
    "BadRequest": "Invalid input (nothing was changed); `fields` says which and why",
    "Unauthorized": "Sign-in required, or the token was refused",
    "Forbidden": "Signed in, but the role may not do this",
    "NotFound": "No such thing (or not visible to the caller)",
    "Conflict": "The state does not allow it (version conflict, illegal action, already exists, in use)",
    "Unprocessable": "The Idempotency-Key was already used with a different body",
    "TooLarge": "A declared file is over the size limit, or too many files",
    "Unavailable": "Not ready yet (e.g. no boundaries have been published)",
    "TooManyRequests": (
        "A quota is used up (`too_many_requests`): reports per signed-in account (an hour, a day), or reads\n"
        "without a sign-in per source address (a minute). Nothing was written. Retry after `Retry-After`\n"
        "seconds (also in `error.retry_after`), when the quota's window ends.\n"),
}
SECURITY = {"bearer": [{"bearerAuth": []}], "optional": [{}, {"bearerAuth": []}]}


class _Schemas(GenerateJsonSchema):
    """No generated `title` on fields (the property name says it)."""

    def field_title_should_be_set(self, schema) -> bool:  # type: ignore[no-untyped-def]
        return False


def _tidy(node: Any, in_properties: bool = False) -> Any:
    """Drop model titles and `default: null` (an optional field that is not nullable has no default)."""
    if isinstance(node, dict):
        if not in_properties:
            if isinstance(node.get("title"), str):
                node.pop("title")
            if "default" in node and node["default"] is None:
                node.pop("default")
        for key, value in node.items():
            _tidy(value, in_properties=(key == "properties" and not in_properties))
    elif isinstance(node, list):
        for item in node:
            _tidy(item)
    return node


def _ref(name: str, kind: str = "schemas") -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _servers() -> list[dict[str, Any]]:
    """`/` (the local gateway, or any stage URL given as the base), and the deployed stage's URL form:
    the stage name is Chalice's api_gateway_stage, the default region samconfig.toml's."""
    chalice = json.loads((APP_DIR / ".chalice" / "config.json").read_text(encoding="utf-8"))
    stages = sorted({s["api_gateway_stage"] for s in chalice["stages"].values()})
    regions = sorted({env["deploy"]["parameters"]["region"]
                      for env in tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8")).values()
                      if isinstance(env, dict) and "deploy" in env})
    return [
        {"url": "/", "description": "The API's base URL (the local gateway, or a stage URL given as the base)"},
        {"url": "https://{rest_api_id}.execute-api.{region}.amazonaws.com/{stage}",
         "description": "A deployed stage (`sam deploy`): the stack's EndpointURL output",
         "variables": {"rest_api_id": {"default": "rest_api_id", "description": "The stack's RestAPIId output"},
                       "region": {"default": regions[0], "enum": regions},
                       "stage": {"default": stages[0], "enum": stages,
                                 "description": "API Gateway stage (chalice_app/.chalice/config.json)"}}},
    ]


def _error_responses(open311: Any) -> dict[str, Any]:
    error = {"application/json": {"schema": _ref("Error")}}
    responses: dict[str, Any] = {}
    for name in ERRORS.values():
        responses[name] = {"description": ERROR_TEXTS[name], "content": copy.deepcopy(error)}
    responses["TooManyRequests"]["headers"] = {"Retry-After": _ref("RetryAfter", "headers")}
    xml = {"text/xml": {"schema": {"type": "string"}}}
    errors = {"application/json": {"schema": _ref("Open311Errors")}, **xml}
    responses["Open311Answer"] = {
        "description": "The GeoReport v2 answer, in the format the path's extension asked for",
        "content": {"application/json": {"schema": _ref("Open311Json")}, **copy.deepcopy(xml)},
    }
    responses["Open311Error"] = {"description": "GeoReport v2 errors", "content": copy.deepcopy(errors)}
    responses["Open311TooMany"] = {
        "description": (
            "A quota is used up: service requests per api_key (an hour), or reads without a sign-in per\n"
            "source address (a minute); nothing was written. GeoReport v2 errors, code 429.\n"),
        "headers": {"Retry-After": _ref("RetryAfter", "headers")},
        "content": copy.deepcopy(errors),
    }
    responses["FollowState"] = {"description": "Whether I follow the report, and how many do",
                                "content": {"application/json": {"schema": _ref("FollowState")}}}
    responses["Deleted"] = {"description": "Deleted", "content": {"application/json": {"schema": _ref("Deleted")}}}
    return responses


PARAMETERS: dict[str, Any] = {
    "AcceptLanguage": {"name": "Accept-Language", "in": "header",
                       "description": "vi or en for messages (Vietnamese by default)",
                       "schema": {"type": "string", "examples": ["vi", "en-US,en;q=0.8"]}},
    "AcceptImage": {"name": "Accept", "in": "header",
                    "description": "Rendition URLs are WebP when this accepts image/webp, JPEG otherwise",
                    "schema": {"type": "string", "enum": ["application/json", "image/webp,application/json"]}},
    "IfNoneMatch": {"name": "If-None-Match", "in": "header",
                    "description": "The ETag of the answer the client holds: 304 without a body while it is current",
                    "schema": {"type": "string", "maxLength": 1024, "examples": ['W/"7-0123456789abcdef"']}},
    "ReportId": {"name": "report_id", "in": "path", "required": True, "schema": _ref("ReportIdValue")},
    "UnitCode": {"name": "code", "in": "path", "required": True, "schema": _ref("Code")},
    "RuleId": {"name": "rule_id", "in": "path", "required": True, "schema": _ref("Code")},
}


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        param: dict[str, Any] = {"name": name, "in": "query"}
        if name in required:
            param["required"] = True
        if "description" in prop:
            param["description"] = prop.pop("description")
        param["schema"] = prop
        params.append(param)
    return params


def build() -> dict[str, Any]:
    """The document, as a dict (what `make openapi` writes)."""
    _ensure_chalicelib(str(APP_DIR))
    from chalicelib.schemas import answers, common, open311
    from chalicelib.schemas.operations import OPERATIONS, Answer

    models: dict[str, Any] = {}
    for op in OPERATIONS:
        for model in (op.query, op.body, op.answer.model if isinstance(op.answer, Answer) else None,
                      *(alt for _, alt in op.other_bodies)):
            if model is not None:
                models[model.__name__] = model
    for model in (common.Error, answers.FollowState, common.Deleted, open311.Open311Errors, open311.Open311Json):
        models[model.__name__] = model
    _, found = models_json_schema([(m, "validation") for m in models.values()], ref_template=REF,
                                  schema_generator=_Schemas)
    schemas = _tidy(found["$defs"])
    queries = {op.query.__name__ for op in OPERATIONS if op.query is not None}

    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        operation: dict[str, Any] = {"tags": list(op.tags), "operationId": op.operation_id, "summary": op.summary}
        if op.description:
            operation["description"] = op.description
        if op.security != "none":
            operation["security"] = SECURITY[op.security]
        params = [_ref(p, "parameters") if isinstance(p, str) else p for p in op.parameters]
        if op.query is not None:
            params += _query_parameters(schemas[op.query.__name__])
        if params:
            operation["parameters"] = params
        if op.body is not None:
            content = {op.body_type: {"schema": _ref(op.body.__name__)}}
            content.update({kind: {"schema": _ref(alt.__name__)} for kind, alt in op.other_bodies})
            operation["requestBody"] = {"required": True, "content": content}
        responses: dict[str, Any] = {}
        if isinstance(op.answer, str):
            responses[str(op.status)] = _ref(op.answer, "responses")
        else:
            answer: dict[str, Any] = {"description": op.answer.description}
            if op.answer.headers or op.not_modified:
                answer["headers"] = {**op.answer.headers,
                                     **({"ETag": _ref("ETag", "headers")} if op.not_modified else {})}
            body = _ref(op.answer.model.__name__) if op.answer.model else op.answer.schema
            answer["content"] = {op.answer.media_type: {"schema": body}}
            responses[str(op.status)] = answer
        if op.not_modified:
            responses["304"] = {"description": "Unchanged since the If-None-Match tag; no body",
                                "headers": {"ETag": _ref("ETag", "headers")}}
        for status in sorted(op.errors):
            if op.path.startswith("/open311/"):
                name = "Open311TooMany" if status == 429 else "Open311Error"
            else:
                name = ERRORS[status]
            responses[str(status)] = _ref(name, "responses")
        operation["responses"] = responses
        paths.setdefault(op.path, {})[op.method] = operation

    for name in queries:  # expanded into parameters, never referenced
        schemas.pop(name, None)
    from civic import __version__

    return {
        "openapi": "3.1.0",
        "info": {"title": "CivicBridge API", "version": __version__,
                 "summary": "Citizen on-site feedback (phản ánh hiện trường)", "description": DESCRIPTION,
                 "license": {"name": "Proprietary"}},
        "servers": _servers(),
        "tags": [{"name": n, "description": d} for n, d in TAGS],
        "security": [],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "A Cognito user pool id token (`Authorization: Bearer <id token>`)"}},
            "headers": {"RetryAfter": {"description": "Seconds until the quota's window ends", "required": True,
                                       "schema": {"type": "integer", "minimum": 1}},
                        "ETag": {"description": (
                            "A weak tag of this answer: the report's version and what else shapes the view "
                            "(moderation, who looks, the rendition format); send it back as If-None-Match"),
                            "required": True, "schema": {"type": "string"}}},
            "parameters": PARAMETERS,
            "responses": _error_responses(open311),
            "schemas": dict(sorted(schemas.items())),
        },
    }


class _Dumper(yaml.SafeDumper):
    """Every value written out where it is used: no YAML anchors and aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """Texts of several lines as YAML blocks (`|`), as a person would write them."""
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)


def render() -> str:
    header = "# Generated by `make openapi` (civic_dev.openapi) from chalice_app/chalicelib/schemas/. Do not edit.\n"
    return header + yaml.dump(build(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110,
                              default_flow_style=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when openapi.yaml differs from the models")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if TARGET.read_text(encoding="utf-8") != text:
            print("openapi.yaml is stale: run make openapi", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
