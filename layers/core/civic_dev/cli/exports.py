"""`civic exports backfill`: give reports written before the ByDay index their `created_day`, so the
open data export finds them (see README, Open data and exports)."""

from __future__ import annotations

import argparse
import json

from civic_dev.cli import target


def _backfill(args: argparse.Namespace) -> int:
    from civic.adapters.s3.opendata import backfill_created_day

    where = target.resolve(args)
    where.settings()  # binds the models to the target's tables
    print(json.dumps(backfill_created_day()))
    return 0


def register(sub) -> None:
    group = sub.add_parser("exports", help="open data exports: operators' tools")
    actions = group.add_subparsers(dest="action", required=True)
    backfill = actions.add_parser("backfill", help="set created_day on reports written before the ByDay index")
    target.add_arguments(backfill)
    backfill.set_defaults(func=_backfill)
