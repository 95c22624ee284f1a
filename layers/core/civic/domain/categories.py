"""The category list. Shipped as package data for now; operators' changes come with the admin API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from civic.domain.errors import Invalid
from civic.domain.moderation import PUBLISH_POLICIES, PublishPolicy
from civic.domain.questions import Question
from civic.i18n import Text, text


@dataclass(frozen=True)
class Category:
    code: str
    name: Text
    description: Text
    keywords: tuple[str, ...]
    # Locations in this category are published rounded (e.g. security reports protect the reporter).
    private_location: bool
    # A broader heading for clients that group categories (Open311 `group`).
    group: Text | None = None
    # Extra questions asked with a report, typed (civic.domain.questions); Open311 serves them as attributes.
    questions: tuple[Question, ...] = ()
    # When its reports become public (civic.domain.moderation.PUBLISH_POLICIES): shown before sending.
    publish: PublishPolicy = "immediate"
    # A result may be the answer alone (a complaint about staff conduct has no natural photo); by default
    # a resolution needs the answer and evidence (civic.domain.workflow's resolve step).
    evidence_optional: bool = False

    def public(self, lang: str | None = None) -> dict[str, Any]:
        out = {
            "code": self.code,
            "name": self.name.as_dict(),
            "description": self.description.as_dict(),
            "keywords": list(self.keywords),
            "private_location": self.private_location,
            "questions": [q.public() for q in self.questions],
            "publish": self.publish,
            "publish_note": PUBLISH_POLICIES[self.publish].as_dict(),
            "evidence_optional": self.evidence_optional,
        }
        if lang:
            out["label"] = self.name.get(lang)
        return out


@lru_cache(maxsize=1)
def all_categories() -> dict[str, Category]:
    raw = json.loads(resources.files("civic").joinpath("data/categories.json").read_text("utf-8"))
    return {
        item["code"]: Category(
            code=item["code"],
            name=Text(**item["name"]),
            description=Text(**item["description"]),
            keywords=tuple(item.get("keywords", ())),
            private_location=bool(item.get("private_location")),
            group=Text(**item["group"]) if item.get("group") else None,
            questions=tuple(Question.from_data(q) for q in item.get("questions", ())),
            publish=_policy(item.get("publish", "immediate")),
            evidence_optional=_flag(item, "evidence_optional"),
        )
        for item in raw
    }


def _flag(item: dict[str, Any], name: str) -> bool:
    value = item.get(name, False)
    if not isinstance(value, bool):  # "false" in the file must not read as true
        raise ValueError(f"category {item.get('code')!r}: {name} must be true or false, not {value!r}")
    return value


def evidence_optional(code: str) -> bool:
    """Whether a resolution in this category may be the answer alone (unknown categories: no)."""
    category = all_categories().get(code)
    return bool(category and category.evidence_optional)


def _policy(raw: str) -> PublishPolicy:
    if raw == "after_acceptance":
        return "after_acceptance"
    if raw != "immediate":
        raise ValueError(f"unknown publish policy {raw!r}: {', '.join(PUBLISH_POLICIES)}")
    return "immediate"


def require_category(code: str) -> Category:
    """The category with this code, or the API's `unknown_category` refusal."""
    category = all_categories().get(code) if isinstance(code, str) else None
    if category is None:
        raise Invalid(
            "unknown_category",
            text("Lĩnh vực không tồn tại", "Unknown category"),
            {"category": text("Chọn một lĩnh vực trong /v1/categories", "Pick one from /v1/categories")},
        )
    return category
