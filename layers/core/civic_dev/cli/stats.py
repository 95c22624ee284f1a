"""`civic stats rebuild`: recompute the statistics counters from the whole Timeline (civic.services.stats.rebuild)."""

from __future__ import annotations

import argparse
import json

from civic_dev.cli.target import add_arguments, resolve


def _rebuild(args: argparse.Namespace) -> int:
    target = resolve(args)
    target.settings()  # binds the models to the target's tables
    from civic.adapters.dynamo.reports import DynamoReportStore
    from civic.adapters.dynamo.stats import DynamoStatsStore, all_events
    from civic.adapters.dynamo.units import DynamoUnitStore
    from civic.services.stats import rebuild

    reports = DynamoReportStore()

    def facts(report_id: str) -> dict:
        report = reports.get(report_id)
        return {"category": report.category, "created_at": report.created_at} if report else {}

    result = rebuild(all_events(), DynamoStatsStore(), DynamoUnitStore().tree(), facts)
    print(json.dumps({"target": target.description, **result}, ensure_ascii=False))
    return 0


def register(sub) -> None:
    stats = sub.add_parser("stats", help="statistics: `civic stats rebuild` recomputes the counters from the Timeline")
    actions = stats.add_subparsers(dest="action", required=True)
    rebuild = actions.add_parser("rebuild", help="recompute every counter from the whole Timeline (idempotent; "
                                                 "run while the stream is quiet)")
    add_arguments(rebuild)
    rebuild.set_defaults(func=_rebuild)
