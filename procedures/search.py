"""Catalogue search that finds a procedure however a resident types it.

Text is folded (full/half width, katakana/hiragana, case, spacing), Japanese is
read by a morphological analyser (SudachiPy with its core dictionary) so that a
title can be found by its reading (ほいく finds 保育所) and by the usual spelling
of each word (申し込み finds 申込), and the catalogue's vocabulary adds synonyms
and life events. Everything here is pure: selectors turn it into one query.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from procedures import vocabulary
from procedures.reading import (
    KANJI,
    analyse,
    index_forms,
    normalize_for_search,
    query_forms,
    reading_of,
)

MAX_QUERY_WORDS = 10
_LATIN_WORD = re.compile(r"^[a-z0-9]+$")


@dataclass(frozen=True)
class SearchIndex:
    """The three texts a procedure is matched and ranked by (see Procedure)."""

    title: str
    keywords: str
    text: str


def search_index_of(procedure) -> SearchIndex:
    title_parts = [procedure.title_ja, procedure.title_en]
    keyword_parts = [*procedure.keywords, *procedure.readings]
    other_parts = [
        procedure.code,
        procedure.description_ja,
        procedure.description_en,
        procedure.owning_organization.name_ja,
        procedure.owning_organization.name_en,
    ]
    title = " ".join(form for part in title_parts for form in index_forms(part))
    keywords = " ".join(form for part in keyword_parts for form in index_forms(part))
    # Descriptions are found as written: their readings would match words by sound
    # alone across long texts (こせき in 戸籍 of a sentence about something else).
    rest = " ".join(form for part in other_parts for form in index_forms(part, read=False))
    return SearchIndex(title=title, keywords=keywords, text=" ".join([title, keywords, rest]))


def analyser_readings(procedure) -> list[str]:
    """What the analyser reads the title and each keyword as, in hiragana, so a
    department can check it and add the right reading where it is wrong."""
    parts = [procedure.title_ja, *procedure.keywords]
    return [f"{part} → {reading_of(part)}" for part in parts if part and KANJI.search(part or "")]


# --- Queries ---------------------------------------------------------------------------


@dataclass
class QueryWord:
    """One word of a query. It matches a procedure whose text contains one of
    its `forms` (as typed, folded, or in the singular) or of its `related` forms
    (its reading, usual spelling, synonyms), or all of `parts` (each a list of
    forms, for a compound typed without spaces), or that has one of its
    `life_events`. A match on `forms` ranks above one on `related`."""

    text: str
    forms: list[str]
    related: list[str] = field(default_factory=list)
    parts: list[list[str]] = field(default_factory=list)
    life_events: list[str] = field(default_factory=list)

    @property
    def alternatives(self) -> list[str]:
        return [*self.forms, *self.related]


def _english_variants(word: str) -> list[str]:
    if not _LATIN_WORD.match(word) or len(word) < 4:
        return []
    if word.endswith("ies"):
        return [word[:-3] + "y"]
    if word.endswith("es") and len(word) > 4:
        return [word[:-2], word[:-1]]
    if word.endswith("s") and not word.endswith("ss"):
        return [word[:-1]]
    return []


def _word_forms(text: str) -> tuple[list[str], list[str]]:
    """A word's own forms (folded, English singular) and its related ones (its
    reading and usual spelling, and the catalogue's synonyms of each)."""
    own = query_forms(text)
    if not own:
        return [], []
    forms = [own[0], *_english_variants(own[0])]
    related = list(own[1:])
    for form in [*forms, *related]:
        related += vocabulary.synonyms_of(form)
    related = [form for form in dict.fromkeys(related) if form not in forms]
    return forms, related


def query_words(query: str) -> list[QueryWord]:
    words = []
    for raw in unicodedata.normalize("NFKC", query or "").split()[:MAX_QUERY_WORDS]:
        forms, related = _word_forms(raw)
        if not forms:
            continue
        parts = []
        content = [m for m in analyse(raw) if m.content]
        if len(content) > 1:
            parts = [
                [*own, *related] for own, related in map(_word_forms, (m.surface for m in content))
            ]
        events = set()
        for form in [*forms, *related, *(form for part in parts for form in part)]:
            events.update(vocabulary.life_events_of(form))
        words.append(
            QueryWord(
                text=raw, forms=forms, related=related, parts=parts, life_events=sorted(events)
            )
        )
    return words


def referrals_for(query: str) -> list[vocabulary.Referral]:
    """What the query asks for that another office handles (住民票 at the
    municipality, and so on): any referral term in the query or its reading."""
    folded = normalize_for_search(query)
    if not folded:
        return []
    usual = normalize_for_search("".join(m.normalized for m in analyse(query)))
    texts = [folded, reading_of(query), usual]
    return [
        referral
        for referral in vocabulary.referrals()
        if any(term in text for term in referral.terms for text in texts)
    ]


SEARCH_INDEX_FIELDS = ["search_title", "search_keywords", "search_text"]


def search_index_refresh(procedure) -> list[str]:
    """Recompute the procedure's search columns in place; returns their names,
    for save(update_fields=...)."""
    index = search_index_of(procedure)
    procedure.search_title, procedure.search_keywords = index.title, index.keywords
    procedure.search_text = index.text
    return SEARCH_INDEX_FIELDS
