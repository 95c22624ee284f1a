"""`civic units import|export` and `civic rules import|export`: operators manage units and rules as
JSON or CSV. An import is validated completely (fields, parents, cycles, rule references) before
anything is written; then it is written in batches with a progress bar."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from civic_dev.cli.target import add_arguments, fail, resolve

UNIT_COLUMNS = [
    "code", "name_vi", "name_en", "kind", "parent_code", "categories", "phone", "email", "address", "website",
    "synthetic", "requires_approval",
]
RULE_COLUMNS = ["id", "category", "scope", "target", "where", "priority", "enabled", "note"]


def _read_rows(path: Path, key: str) -> list[dict[str, Any]]:
    """JSON (a list, or an object with `key`) or CSV (by extension) → raw dicts."""
    raw = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        return list(csv.DictReader(io.StringIO(raw)))
    data = json.loads(raw)
    if isinstance(data, dict):
        data = data.get(key, [])
    if not isinstance(data, list):
        raise ValueError(f"expected a list of {key} (or an object with '{key}')")
    return data


def _unit_from_csv(row: dict[str, str]) -> dict[str, Any]:
    contact = {k: row[k] for k in ("phone", "email", "address", "website") if row.get(k)}
    return {
        "code": row.get("code", ""),
        "name_vi": row.get("name_vi", ""),
        "name_en": row.get("name_en", ""),
        "kind": row.get("kind", ""),
        "parent_code": row.get("parent_code") or None,
        "categories": [c for c in (row.get("categories") or "").split(";") if c],
        "contact": contact,
        "synthetic": (row.get("synthetic") or "").lower() in ("1", "true", "yes"),
        "requires_approval": (row.get("requires_approval") or "").lower() in ("1", "true", "yes"),
    }


def _rule_from_csv(row: dict[str, str]) -> dict[str, Any]:
    try:
        priority: Any = int(row.get("priority") or 0)
    except ValueError:
        priority = row.get("priority")
    return {
        "id": row.get("id", ""),
        "category": row.get("category", ""),
        "scope": row.get("scope", ""),
        "target": row.get("target", ""),
        "where": row.get("where") or None,
        "priority": priority,
        "enabled": (row.get("enabled") or "true").lower() in ("1", "true", "yes"),
        "note": row.get("note", ""),
    }


def _progress(items, label: str):
    from tqdm import tqdm

    return tqdm(items, desc=label, unit=" rows", disable=len(items) < 50 or not sys.stderr.isatty())


def _import(args: argparse.Namespace, kind: str) -> int:
    from civic.domain.categories import all_categories
    from civic.domain.units import UnitError, check_references, parse_rule, parse_unit

    path = Path(args.file)
    try:
        rows = _read_rows(path, kind)
    except (OSError, ValueError) as exc:
        return fail(f"cannot read {path}: {exc}")
    convert = (_unit_from_csv if kind == "units" else _rule_from_csv) if path.suffix.lower() == ".csv" else (lambda r: r)
    parse = parse_unit if kind == "units" else parse_rule
    problems: dict[str, str] = {}
    parsed = []
    for index, row in enumerate(rows):
        try:
            parsed.append(parse(convert(row), all_categories()))
        except UnitError as exc:
            for name, message in exc.fields.items():
                problems[f"{kind}[{index}].{name}"] = message
    target = resolve(args)
    target.settings()
    from civic.adapters.dynamo.units import DynamoUnitStore

    store = DynamoUnitStore()
    existing_units = {u.code: u for u in store.units()}
    if kind == "units":
        ids = [u.code for u in parsed]
        merged_units = {**existing_units, **{u.code: u for u in parsed}}.values()
        problems.update(check_references(merged_units, []))
    else:
        ids = [r.id for r in parsed]
        problems.update(check_references(existing_units.values(), parsed))
    duplicates = {i for i in ids if ids.count(i) > 1}
    for dup in sorted(duplicates):
        problems[f"{kind}.{dup}"] = "appears more than once in the file"
    if problems:
        print(f"civic: {path} was NOT imported; nothing was written. Problems:", file=sys.stderr)
        for name, message in sorted(problems.items()):
            print(f"  {name}: {message}", file=sys.stderr)
        return 1
    put = store.put if kind == "units" else store.put_rule
    for item in _progress(parsed, f"{kind} → {target.description}"):
        put(item)
    print(f"imported {len(parsed)} {kind} into {target.description}")
    return 0


def _export(args: argparse.Namespace, kind: str) -> int:
    target = resolve(args)
    target.settings()
    from civic.adapters.dynamo.units import DynamoUnitStore

    store = DynamoUnitStore()
    items = [u.public() for u in store.units()] if kind == "units" else [r.public() for r in store.rules()]
    out = io.StringIO()
    if args.format == "json":
        json.dump({kind: items}, out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        columns = UNIT_COLUMNS if kind == "units" else RULE_COLUMNS
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        for item in items:
            if kind == "units":
                contact = item.pop("contact") or {}
                item = {**item, **contact, "categories": ";".join(item["categories"])}
            writer.writerow({c: item.get(c) if item.get(c) is not None else "" for c in columns})
    if args.output:
        Path(args.output).write_text(out.getvalue(), encoding="utf-8")
        print(f"exported {len(items)} {kind} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(out.getvalue())
    return 0


def register(sub) -> None:
    for kind in ("units", "rules"):
        group = sub.add_parser(kind, help=f"import or export {kind} (JSON or CSV)")
        actions = group.add_subparsers(dest="action", required=True)
        imp = actions.add_parser("import", help=f"validate a whole file of {kind}, then write it")
        imp.add_argument("file", help=f"a .json file (a list, or {{\"{kind}\": [...]}}) or a .csv file")
        add_arguments(imp)
        imp.set_defaults(func=lambda a, k=kind: _import(a, k))
        exp = actions.add_parser("export", help=f"print or save all {kind}")
        exp.add_argument("--format", choices=("json", "csv"), default="json")
        exp.add_argument("-o", "--output", help="write to this file instead of standard output")
        add_arguments(exp)
        exp.set_defaults(func=lambda a, k=kind: _export(a, k))
