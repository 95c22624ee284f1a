"""Contact details that citizens type into free text, hidden before the text is published.

People write "gọi 0912 345 678" or their email into a description so the ward can call them back.
The unit sees the text as written; the public view, Open311 and the open data show it with phone
numbers and email addresses replaced, so a report never publishes its author's contact details.

Phone numbers are written every which way ("091 - 234 - 5679", "0912 / 345 / 678", "0912_345_678",
"o912345678", full-width digits), so the text is read leniently: any run of digits with any separators
between them, the letter o standing for a zero, is a candidate, and libphonenumber (region VN) decides
whether a stretch of it is a real number. House numbers, dates, counts and kilometre posts are not
numbers it accepts, so they stay.
"""

from __future__ import annotations

import re

HIDDEN = "[đã ẩn / hidden]"
REGION = "VN"

# An address starts where a word does (no quadratic search inside long words).
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+\s?@\s?[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_FULL_WIDTH = str.maketrans("０１２３４５６７８９＋", "0123456789+")
# A candidate: a digit (or o/O for zero) not inside a word, then digits with up to five separators of
# any kind between them (anything but a letter, a digit or a line break: dashes of every width too);
# a leading "+" is kept.
_SEPARATOR = r"(?:[^\w\n]|_)"
_RUN = re.compile(rf"(?<![^\W\d_])(?:\+\s?)?[0-9oO](?:{_SEPARATOR}{{0,5}}[0-9oO])+")
# Shorter than a subscriber number (9 digits after the 0) is never a phone number here.
_MIN_DIGITS, _MAX_DIGITS = 9, 15
_LONG_RUN = 40
# How many stretches one text may ask libphonenumber about; past it, candidates are hidden whole
# (a public page must stay fast whatever a text holds).
_BUDGET = 300


def _is_phone(digits: str, international: bool) -> bool:
    import phonenumbers  # on the first candidate only: most texts have none, and a cold start stays light

    candidates = ["+" + digits] if international else [digits]
    if not international and digits.startswith("00"):
        candidates.append("+" + digits[2:])
    elif not international and digits.startswith("84"):
        candidates.append("+" + digits)
    for raw in candidates:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(raw, REGION)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def _phone_spans(text: str) -> list[tuple[int, int]]:
    """Where the phone numbers are, as (start, end) offsets of `text`."""
    normal = text.translate(_FULL_WIDTH)  # same length: offsets carry over
    spans: list[tuple[int, int]] = []
    budget = _BUDGET
    for run in _RUN.finditer(normal):
        plus = normal[run.start():run.end()].lstrip().startswith("+")
        digits = [(i, "0" if ch in "oO" else ch) for i, ch in enumerate(normal[run.start():run.end()], run.start())
                  if ch.isdigit() or ch in "oO"]
        if len(digits) < _MIN_DIGITS or not any(normal[i].isdigit() for i, _ in digits):
            continue
        if len(digits) > _LONG_RUN or budget <= 0:  # a wall of digits, or too many candidates: hide it whole
            spans.append((run.start(), run.end()))
            continue
        # A number starts and ends where a group of digits does ("9876543210" holds no 9-digit number),
        # except inside a group too long to be one number ("09123456780987654321": two typed together).
        edges = {0, len(digits)} | {k for k in range(1, len(digits)) if digits[k][0] != digits[k - 1][0] + 1}
        bounds = sorted(edges)
        for a, b in zip(bounds, bounds[1:]):
            if b - a > _MAX_DIGITS:
                edges |= set(range(a, b))

        # The longest valid number first, from each starting digit; a found number is not searched again.
        start = 0
        while start <= len(digits) - _MIN_DIGITS:
            if start not in edges:
                start += 1
                continue
            for end in range(min(len(digits), start + _MAX_DIGITS), start + _MIN_DIGITS - 1, -1):
                if end not in edges:
                    continue
                number = "".join(d for _, d in digits[start:end])
                budget -= 1
                if _is_phone(number, plus and start == 0):
                    first = run.start() if plus and start == 0 else digits[start][0]
                    spans.append((first, digits[end - 1][0] + 1))
                    start = end
                    break
            else:
                start += 1
    return spans


def mask_phones(text: str) -> str:
    for start, end in reversed(_phone_spans(text)):
        text = text[:start] + HIDDEN + text[end:]
    return text


def mask_contacts(text: str | None) -> str | None:
    if not text:
        return text
    return mask_phones(_EMAIL.sub(HIDDEN, text))
