"""Lambda event filtering (FilterCriteria) with moto's EventBridge pattern matcher, not a hand-written one."""

from __future__ import annotations

import json
from typing import Any


def event_matches_pattern(pattern: dict[str, Any], event: Any) -> bool:
    """EventBridge pattern matching as Lambda's event filtering applies it (moto's implementation)."""
    from moto.events.models import EventPattern

    if not isinstance(pattern, dict):
        raise ValueError("a filter pattern must be a JSON object")
    return EventPattern.load(json.dumps(pattern)).matches_event(event)


def record_matches_filters(patterns: list[dict[str, Any]], record: dict[str, Any], source: str) -> bool:
    """Lambda semantics: no filters → everything; several → any. For SQS a ``body`` pattern is
    matched against the parsed JSON body (a non-JSON body only matches plain string values)."""
    if not patterns:
        return True
    subject = record
    if source == "SQS":
        subject = dict(record)
        try:
            subject["body"] = json.loads(record.get("body", ""))
        except (TypeError, ValueError):
            pass
    return any(event_matches_pattern(p, subject) for p in patterns)


def parse_filter_criteria(props: dict[str, Any]) -> list[dict[str, Any]]:
    filters = ((props.get("FilterCriteria") or {}).get("Filters")) or []
    out = []
    for f in filters:
        pattern = f.get("Pattern")
        if isinstance(pattern, str):
            pattern = json.loads(pattern)
        if not isinstance(pattern, dict):
            raise ValueError(f"unsupported FilterCriteria pattern {pattern!r}")
        out.append(pattern)
    return out
