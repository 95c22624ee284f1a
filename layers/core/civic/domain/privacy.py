"""Contact details that citizens type into free text, hidden before the text is published.

People write "gọi 0912 345 678" or their email into a description so the ward can call them back.
The unit sees the text as written; the public view, Open311 and the open data show it with phone
numbers and email addresses replaced, so a report never publishes its author's contact details.
"""

from __future__ import annotations

import re

HIDDEN = "[đã ẩn / hidden]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Vietnamese numbers (0… or +84/84…, 9–11 digits) and other international ones, with the spaces,
# dots and dashes people put between groups. Shorter runs (house numbers, "Số 12") are left alone.
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\d(?:[\s.\-()]{0,2}\d){8,13}(?!\w)")


def mask_contacts(text: str | None) -> str | None:
    if not text:
        return text
    return _PHONE.sub(HIDDEN, _EMAIL.sub(HIDDEN, text))
