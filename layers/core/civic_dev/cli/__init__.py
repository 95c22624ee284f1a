"""The `civic` command: operators' and developers' entry point.

Each sub-command group lives in its own module with a `register(subparsers)` function.
"""

from __future__ import annotations

import argparse
import os
import sys

from civic_dev.cli import boundaries, dlq, doctor, exports, local, staff, units
from civic_dev.cli import stats as stats_cli
from civic_dev.cli.target import TargetError, fail

GROUPS = [local, units, boundaries, staff, dlq, exports, doctor]
GROUPS.append(stats_cli)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="civic", description="CivicBridge operator and developer tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # here, so that a closed pipe is caught below and not at exit
        return code
    except TargetError as exc:  # no running local stack, an unreadable --stack, a missing output
        return fail(str(exc))
    except BrokenPipeError:  # `civic token | head`: the reader has gone, which is fine
        # Python would report the pipe again while flushing stdout at exit: point it at /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
