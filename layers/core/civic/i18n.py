"""Bilingual text: Vietnamese first, English second."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

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


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso_utc(moment: datetime) -> str:
    """UTC ISO-8601 with a Z, as stored in data."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# People's days are Asia/Ho_Chi_Minh days (UTC+7 all year: Vietnam has no daylight saving).
LOCAL_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")


def local_day(iso: str) -> str:
    """The Asia/Ho_Chi_Minh day (YYYY-MM-DD) of a UTC ISO-8601 time (a time without a zone is UTC):
    the day statistics count an event on, and the day open data and the ByDay index file a report under."""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(LOCAL_TZ).date().isoformat()
