"""`python -m civic_dev.docs` (`make docs`): README tables generated from the domain's own tables.

Today: who hears what (civic.domain.notify.RULES and QUIET) between the README's notify-table markers.
tests/unit/test_notify.py fails when the README and the code disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
START, END = "<!-- notify-table:start -->\n", "<!-- notify-table:end -->"


def main(root: Path = ROOT) -> int:
    from civic.domain.notify import recipient_table

    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"{readme}: the notify-table markers are missing", file=sys.stderr)
        return 1
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + START + recipient_table() + END + tail, encoding="utf-8")
    print(f"wrote the notification table in {readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
