"""The catalogue's search vocabulary: synonyms, the words of life events, and
referrals to other offices (procedures/data/vocabulary.json, or the authority's
own file named by CATALOGUE_VOCABULARY). Each department adds its own words to
its procedures as keywords; this file holds what belongs to the whole catalogue."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from django.utils.translation import get_language

from procedures.reading import WORD_START, query_forms, reading_of

DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "vocabulary.json"


@dataclass(frozen=True)
class Referral:
    key: str
    terms: tuple[str, ...]
    title_text: dict
    body_text: dict
    link_url: str
    link_label_text: dict

    def _localized(self, text: dict) -> str:
        language = (get_language() or "ja")[:2]
        return text.get(language) or text.get("ja", "")

    @property
    def title(self) -> str:
        return self._localized(self.title_text)

    @property
    def text(self) -> str:
        return self._localized(self.body_text)

    @property
    def link_label(self) -> str:
        return self._localized(self.link_label_text)


@dataclass(frozen=True)
class Vocabulary:
    synonyms: dict[str, tuple[str, ...]]
    life_events: dict[str, tuple[str, ...]]
    referrals: tuple[Referral, ...]


def _keys(term: str) -> list[str]:
    """What a query word may be when it is this term: any of its forms, or its
    reading typed in kana."""
    return list(dict.fromkeys([*query_forms(term), reading_of(term)] if term else []))


@cache
def _load(path: str) -> Vocabulary:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    synonyms: dict[str, list[str]] = {}
    for group in data.get("synonyms", []):
        forms = list(dict.fromkeys(form for term in group for form in query_forms(term)))
        for key in dict.fromkeys(key for term in group for key in _keys(term)):
            synonyms.setdefault(key, [])
            synonyms[key] += [form for form in forms if form != key]
    events: dict[str, list[str]] = {}
    for event, terms in data.get("life_events", {}).items():
        for term in terms:
            for key in _keys(term):
                events.setdefault(key, []).append(event)
    referrals = tuple(
        Referral(
            key=item["key"],
            # Found anywhere in the query as written, read or usually spelt.
            terms=tuple(
                dict.fromkeys(
                    key
                    for term in item["terms"]
                    for key in _keys(term)
                    if not key.startswith(WORD_START)
                )
            ),
            title_text=item["title"],
            body_text=item["text"],
            link_url=(item.get("link") or {}).get("url", ""),
            link_label_text=(item.get("link") or {}).get("label", {}),
        )
        for item in data.get("referrals", [])
    )
    return Vocabulary(
        synonyms={form: tuple(dict.fromkeys(others)) for form, others in synonyms.items()},
        life_events={form: tuple(dict.fromkeys(names)) for form, names in events.items()},
        referrals=referrals,
    )


def current() -> Vocabulary:
    return _load(str(getattr(settings, "CATALOGUE_VOCABULARY", "") or DEFAULT_FILE))


def synonyms_of(form: str) -> tuple[str, ...]:
    return current().synonyms.get(form, ())


def life_events_of(form: str) -> tuple[str, ...]:
    return current().life_events.get(form, ())


def referrals() -> tuple[Referral, ...]:
    return current().referrals
