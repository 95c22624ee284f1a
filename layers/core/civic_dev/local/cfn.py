"""Offline CloudFormation/SAM helpers: load the SAM template, translate it like `sam package` +
CloudFormation's Serverless transform would, lint it, and resolve intrinsic functions.

Nothing here calls AWS. Used by `civic_dev.local.deploy`, the tests and `infra/package.sh`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

#: The repository root (layers/core/civic/local/cfn.py -> four levels up).
REPO_ROOT = Path(__file__).resolve().parents[4]
DEFAULT_TEMPLATE = REPO_ROOT / "infra" / "template.yaml"
DEFAULT_MERGE_TEMPLATE = REPO_ROOT / "infra" / "chalice-merge.yaml"

#: The bucket named in placeholder code locations when the caller does not give one.
PLACEHOLDER_ARTIFACT_BUCKET = "civicbridge-artifacts"

#: Properties that hold a local code path that `sam package` would upload, by resource type.
CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}

NO_VALUE = object()


# --------------------------------------------------------------------------- loading

def _plain(node: Any) -> Any:
    """cfn-lint's nodes (dict/str subclasses carrying line marks) to plain Python values."""
    return json.loads(json.dumps(node))


def load_sam_template(path: str | Path = DEFAULT_TEMPLATE) -> dict:
    """Load a CloudFormation/SAM YAML (or JSON) template as a plain dict.

    Short-form tags (!Ref, !GetAtt A.B, !Sub, !If, !Equals, ...) come back in long form
    ({"Ref": ..}, {"Fn::GetAtt": ["A", "B"]}, ...), using cfn-lint's own decoder.
    """
    from cfnlint.decode import cfn_json, cfn_yaml

    path = Path(path)
    if not path.is_absolute() and not path.exists():
        path = REPO_ROOT / path
    if path.suffix == ".json":
        return _plain(cfn_json.load(str(path)))
    return _plain(cfn_yaml.load(str(path)))


# --------------------------------------------------------------------------- translation

def code_paths(sam: Mapping[str, Any]) -> dict[str, str]:
    """Local code paths (as written in the template) of functions and layers, by logical id."""
    out = {}
    for logical_id, res in sam.get("Resources", {}).items():
        prop = CODE_PROPERTIES.get(res.get("Type"))
        if not prop:
            continue
        value = res.get("Properties", {}).get(prop)
        if isinstance(value, str) and not value.startswith("s3://"):
            out[logical_id] = value
    return out


def _as_s3_uri(location: Any) -> str:
    if isinstance(location, str):
        if not location.startswith("s3://"):
            raise ValueError(f"code location must be s3://bucket/key, got {location!r}")
        return location
    if isinstance(location, Mapping):
        return f"s3://{location['Bucket']}/{location['Key']}"
    raise TypeError(f"unsupported code location {location!r}")


def with_code_locations(sam: Mapping[str, Any], code_locations: Mapping[str, Any] | None = None) -> dict:
    """A copy of `sam` whose local CodeUri/ContentUri are replaced by S3 URIs, as `sam package` does.

    `code_locations` maps logical ids to "s3://bucket/key" or {"Bucket":..,"Key":..}; ids not given
    point at a placeholder object s3://civicbridge-artifacts/<LogicalId>.zip (fine for translation
    and lint, which never read the code).
    """
    code_locations = dict(code_locations or {})
    out = copy.deepcopy(dict(sam))
    for logical_id, _path in code_paths(out).items():
        res = out["Resources"][logical_id]
        prop = CODE_PROPERTIES[res["Type"]]
        loc = code_locations.get(logical_id, f"s3://{PLACEHOLDER_ARTIFACT_BUCKET}/{logical_id}.zip")
        res["Properties"][prop] = _as_s3_uri(loc)
    return out


class _OfflineManagedPolicyMap(dict):
    """Managed policy name -> ARN without calling IAM: every AWS managed policy lives at
    arn:aws:iam::aws:policy/[path/]<name>; the service-role ones SAM templates use are listed."""

    _SERVICE_ROLE = {
        "AWSLambdaBasicExecutionRole", "AWSLambdaDynamoDBExecutionRole", "AWSLambdaKinesisExecutionRole",
        "AWSLambdaSQSQueueExecutionRole", "AWSLambdaVPCAccessExecutionRole", "AWSLambdaRole",
    }

    def __contains__(self, name: object) -> bool:  # every name resolves
        return isinstance(name, str) and not name.startswith("arn:")

    def __getitem__(self, name: str) -> str:
        path = "service-role/" if name in self._SERVICE_ROLE else ""
        return f"arn:aws:iam::aws:policy/{path}{name}"

    def get(self, name, default=None):  # noqa: D401 - dict API
        return self[name] if name in self else default


class OfflineManagedPolicyLoader:
    """Stands in for samtranslator's ManagedPolicyLoader (which lists IAM policies over the network)."""

    def load(self) -> dict[str, str]:
        return _OfflineManagedPolicyMap()


def translate(sam: Mapping[str, Any], code_locations: Mapping[str, Any] | None = None,
              parameter_values: Mapping[str, Any] | None = None, region: str | None = None) -> dict:
    """Translate a SAM template to plain CloudFormation offline (no AWS calls).

    Local CodeUri/ContentUri are first replaced by S3 URIs (see `with_code_locations`); managed
    policy names resolve without IAM; the region (for pseudo parameters only) defaults to
    AWS_REGION / AWS_DEFAULT_REGION / ap-southeast-1. Raises samtranslator's
    InvalidDocumentException on SAM errors.
    """
    import os

    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "ap-southeast-1"
    fragment = with_code_locations(sam, code_locations)
    params = dict(parameter_values or {})
    to_py27_compatible_template(fragment, params)
    # A Session with an explicit region is pure configuration: no credentials or calls needed.
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    policies = OfflineManagedPolicyLoader().load()
    translated = translator.translate(fragment, parameter_values=params,
                                      get_managed_policy_map=lambda: policies)
    return _plain(undo_mark_unicode_str_in_template(translated))


# --------------------------------------------------------------------------- lint

def lint(template: Mapping[str, Any] | str | Path, regions: list[str] | None = None,
         ignore_checks: list[str] | None = None) -> list:
    """cfn-lint matches (errors and warnings) for a template dict, a YAML/JSON string or a path."""
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    if isinstance(template, Path) or (isinstance(template, str) and "\n" not in template
                                      and Path(template).exists()):
        text = Path(template).read_text(encoding="utf-8")
    elif isinstance(template, str):
        text = template
    else:
        text = json.dumps(template)
    config = ManualArgs(regions=regions or ["ap-southeast-1"], ignore_checks=ignore_checks or [])
    return list(cfn_lint(text, config=config))


def lint_errors(template, **kwargs) -> list:
    """Only the error-level matches of `lint` (rule ids starting with E)."""
    return [m for m in lint(template, **kwargs) if m.rule.id.startswith("E")]


# --------------------------------------------------------------------------- intrinsics

_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


class Resolver:
    """Evaluates CloudFormation intrinsic functions against known values.

    `refs` maps names (parameters, pseudo parameters, logical ids) to Ref values; `get_att` is called
    with (logical_id, attribute) for Fn::GetAtt and ${A.B} in Fn::Sub; `conditions` holds the
    template's Conditions section (evaluated lazily).
    """

    def __init__(self, refs: Mapping[str, Any], conditions: Mapping[str, Any] | None = None,
                 get_att: Callable[[str, str], Any] | None = None):
        self.refs = dict(refs)
        self.conditions = dict(conditions or {})
        self._get_att = get_att
        self._cond_cache: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._cond_cache:
            self._cond_cache[name] = bool(self.resolve(self.conditions[name]))
        return self._cond_cache[name]

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name not in self.refs:
            raise KeyError(f"cannot resolve Ref {name}")
        return self.refs[name]

    def get_att(self, logical_id: str, attr: str) -> Any:
        if self._get_att is None:
            raise KeyError(f"cannot resolve Fn::GetAtt {logical_id}.{attr}")
        return self._get_att(logical_id, attr)

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def repl(match: re.Match) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attr = name.split(".", 1)
                return str(self.get_att(logical_id, attr))
            return str(self.ref(name))

        return _SUB_VAR.sub(repl, text).replace("${!", "${")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::GetAtt":
                logical_id, attr = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.get_att(logical_id, self.resolve(attr))
            if key == "Fn::Sub":
                if isinstance(arg, str):
                    return self._sub(arg, {})
                text, variables = arg
                return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = (self.resolve(v) for v in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(v) for v in arg)
            if key == "Fn::Or":
                return any(self.resolve(v) for v in arg)
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(v) for v in self.resolve(items))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                sep, text = arg
                return self.resolve(text).split(sep)
            if key == "Fn::ToJsonString":
                return json.dumps(self.resolve(arg))
        out = {}
        for k, v in value.items():
            r = self.resolve(v)
            if r is not NO_VALUE:
                out[k] = r
        return out


def references(value: Any) -> set[str]:
    """Logical ids/parameters that `value` refers to through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, list):
            for item in v:
                walk(item)
        elif isinstance(v, dict):
            for key, arg in v.items():
                if key == "Ref" and isinstance(arg, str):
                    found.add(arg)
                elif key == "Fn::GetAtt":
                    found.add((arg.split(".", 1) if isinstance(arg, str) else arg)[0])
                elif key == "Fn::Sub":
                    text = arg if isinstance(arg, str) else arg[0]
                    for name in _SUB_VAR.findall(text):
                        found.add(name.split(".", 1)[0] if not name.startswith("AWS::") else name)
                    if not isinstance(arg, str):
                        walk(arg[1])
                else:
                    walk(arg)

    walk(value)
    return found


def substitute(value: Any, refs: Mapping[str, Any], atts: Mapping[tuple[str, str], Any]) -> Any:
    """Replace Ref/Fn::GetAtt/${..} of the given names by literal values, leaving the rest intact."""
    if isinstance(value, list):
        return [substitute(v, refs, atts) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref" and isinstance(arg, str) and arg in refs:
            return refs[arg]
        if key == "Fn::GetAtt":
            pair = tuple(arg.split(".", 1) if isinstance(arg, str) else arg)
            if pair in atts:
                return atts[pair]
        if key == "Fn::Sub":
            text, variables = (arg, None) if isinstance(arg, str) else arg

            def repl(match: re.Match) -> str:
                name = match.group(1)
                if variables and name in variables:
                    return match.group(0)
                if name in refs:
                    return str(refs[name])
                if "." in name and tuple(name.split(".", 1)) in atts:
                    return str(atts[tuple(name.split(".", 1))])
                return match.group(0)

            text = _SUB_VAR.sub(repl, text)
            if variables is None:
                return {"Fn::Sub": text}
            return {"Fn::Sub": [text, substitute(variables, refs, atts)]}
    return {k: substitute(v, refs, atts) for k, v in value.items()}


# --------------------------------------------------------------------------- packaging

def _deep_merge(base: Any, override: Any) -> Any:
    """Dicts merge key by key; anything else in `override` replaces (as chalice's TemplateDeepMerger)."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _deep_merge(base.get(key), value)
        return merged
    return copy.deepcopy(override)


def compose_merge_template(sam_path: str | Path = DEFAULT_TEMPLATE,
                           merge_path: str | Path = DEFAULT_MERGE_TEMPLATE,
                           out_dir: str | Path = REPO_ROOT / "build" / "package") -> dict:
    """The template that `chalice package --merge-template` merges into Chalice's SAM output.

    It is infra/template.yaml (every resource, parameter, condition, global and output) deep-merged
    with infra/chalice-merge.yaml (the APIHandler/RestAPI/DefaultRole overrides), with local code
    paths rewritten relative to `out_dir`, where Chalice writes the merged sam.yaml.
    """
    sam_path, merge_path, out_dir = Path(sam_path), Path(merge_path), Path(out_dir)
    sam = load_sam_template(sam_path)
    overrides = load_sam_template(merge_path)
    merged = _deep_merge(sam, overrides)
    base = sam_path.resolve().parent
    for logical_id, rel in code_paths(merged).items():
        if logical_id not in sam.get("Resources", {}):
            continue  # Chalice's own APIHandler code (deployment.zip) is not ours to move
        res = merged["Resources"][logical_id]
        absolute = (base / rel).resolve()
        new = Path(_relpath(absolute, out_dir.resolve()))
        res["Properties"][CODE_PROPERTIES[res["Type"]]] = new.as_posix() + ("/" if rel.endswith("/") else "")
    return merged


def _relpath(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target, start)
