"""The `civic` command: operators' and developers' entry point.

Each sub-command group lives in its own module with a `register(subparsers)` function.
"""

from __future__ import annotations

import argparse
import sys

from civic.cli import boundaries, local, units

GROUPS = [local, units, boundaries]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="civic", description="CivicBridge operator and developer tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
