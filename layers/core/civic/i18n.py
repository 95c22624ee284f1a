"""Bilingual text: Vietnamese first, English second."""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("vi", "en")


@dataclass(frozen=True)
class Text:
    vi: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi

    def as_dict(self) -> dict[str, str]:
        return {"vi": self.vi, "en": self.en}


def text(vi: str, en: str) -> Text:
    return Text(vi, en)


def pick_language(accept_language: str | None) -> str:
    """The first of vi/en named in an Accept-Language header, by q-value; Vietnamese by default."""
    if not accept_language:
        return "vi"
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower().split("-")[0]
        q = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag in LANGUAGES and q > 0:
            ranked.append((-q, index, tag))
    return sorted(ranked)[0][2] if ranked else "vi"
