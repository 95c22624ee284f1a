"""The extra questions a category asks with a report ("Is there a fallen wire?"), typed, and the check of
a citizen's answers. The same definitions serve GET /v1/categories, POST /v1/reports (`answers`), the
web form, Open311's service definitions (attributes) and the staff view. Adding a question type is a
row in TYPES and its check in `_check`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from civic.domain.errors import Invalid
from civic.i18n import Text, text

QuestionType = Literal["text", "number", "single", "multiple", "yes_no", "date"]
# Each type and the Open311 datatype that carries it (GeoReport v2 service definitions).
TYPES: dict[str, str] = {
    "text": "string",
    "number": "number",
    "single": "singlevaluelist",
    "multiple": "multivaluelist",
    "yes_no": "singlevaluelist",
    "date": "datetime",
}
MAX_TEXT = 500
MAX_NUMBER = 1e12  # counts, lengths, pole numbers; beyond this a number is a typo (and DynamoDB refuses some)
YES_NO = (("yes", text("Có", "Yes")), ("no", text("Không", "No")))


@dataclass(frozen=True)
class Option:
    key: str
    label: Text


@dataclass(frozen=True)
class Question:
    code: str
    type: QuestionType
    label: Text
    required: bool = False
    options: tuple[Option, ...] = ()

    @property
    def choices(self) -> tuple[Option, ...]:
        if self.type == "yes_no":
            return tuple(Option(key, label) for key, label in YES_NO)
        return self.options

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "type": self.type, "label": self.label.as_dict(),
                               "required": self.required}
        if self.choices:
            out["options"] = [{"key": o.key, "label": o.label.as_dict()} for o in self.choices]
        return out

    @classmethod
    def from_data(cls, raw: dict[str, Any]) -> Question:
        kind = raw["type"]
        if kind not in TYPES:
            raise ValueError(f"question {raw.get('code')!r}: unknown type {kind!r}")
        options = tuple(Option(o["key"], Text(**o["label"])) for o in raw.get("options", ()))
        if kind in ("single", "multiple") and not options:
            raise ValueError(f"question {raw['code']!r}: a {kind} question needs options")
        return cls(raw["code"], kind, Text(**raw["label"]), bool(raw.get("required")), options)


def _check(q: Question, value: Any) -> tuple[Any, Text | None]:
    """The normalised answer, or a message saying what is wrong with it."""
    if q.type == "text":
        if not isinstance(value, str):
            return None, text("Cần một đoạn chữ", "Text is required")
        value = value.strip()
        if len(value) > MAX_TEXT:
            return None, text(f"Tối đa {MAX_TEXT} ký tự", f"At most {MAX_TEXT} characters")
        return value, None
    if q.type == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, text("Cần một số", "A number is required")
        try:
            ok = math.isfinite(value) and abs(value) <= MAX_NUMBER
        except OverflowError:  # an integer too large for a float
            ok = False
        if not ok:
            return None, text(f"Một số không quá {MAX_NUMBER:,.0f}", f"A number of at most {MAX_NUMBER:,.0f}")
        return (round(value, 6) if isinstance(value, float) else value), None
    if q.type == "date":
        try:
            return date.fromisoformat(value).isoformat(), None
        except (TypeError, ValueError):
            return None, text("Cần một ngày dạng YYYY-MM-DD", "A date as YYYY-MM-DD is required")
    keys = [o.key for o in q.choices]
    if q.type in ("single", "yes_no"):
        if value not in keys:
            return None, text(f"Chọn một trong: {', '.join(keys)}", f"One of: {', '.join(keys)}")
        return value, None
    if not isinstance(value, list) or not value or any(v not in keys for v in value) or len(set(value)) != len(value):
        return None, text(f"Chọn một hoặc nhiều trong: {', '.join(keys)}", f"One or more of: {', '.join(keys)}")
    return [k for k in keys if k in value], None  # in the definition's order


def check_answers(questions: tuple[Question, ...], answers: Any, field: str = "answers") -> dict[str, Any]:
    """A citizen's answers, checked against the category's questions: every required one answered,
    none unknown, each of its type. Refused as a whole, with a message per answer at fault."""
    answers = {} if answers is None else answers
    if not isinstance(answers, dict):
        raise Invalid("invalid_request", text("Câu trả lời không hợp lệ", "The answers are not valid"),
                      {field: text("Cần một đối tượng {mã câu hỏi: câu trả lời}", "An object {question code: answer}")})
    known = {q.code: q for q in questions}
    problems: dict[str, Text] = {}
    out: dict[str, Any] = {}
    for code in answers:
        if code not in known:
            problems[f"{field}.{code}"] = text("Lĩnh vực này không có câu hỏi này", "This category has no such question")
    for q in questions:
        value = answers.get(q.code)
        if isinstance(value, str):
            value = value.strip()  # blank text is no answer
        if value is None or value == "" or value == []:
            if q.required:
                problems[f"{field}.{q.code}"] = text(f"Bắt buộc: {q.label.vi}", f"Required: {q.label.en}")
            continue
        normalised, problem = _check(q, value)
        if problem is not None:
            problems[f"{field}.{q.code}"] = problem
        else:
            out[q.code] = normalised
    if problems:
        raise Invalid("invalid_answers", text("Câu trả lời chưa hợp lệ", "Some answers are not valid"), problems)
    return out
