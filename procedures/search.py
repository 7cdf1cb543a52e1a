"""Catalogue search that forgives how Japanese is typed: full- or half-width,
katakana or hiragana, spaces or none, upper or lower case all match."""

from __future__ import annotations

import unicodedata


def normalize_for_search(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    # Katakana to hiragana (ァ..ヶ -> ぁ..ゖ), so either script finds both.
    folded = "".join(chr(ord(ch) - 0x60) if "ァ" <= ch <= "ヶ" else ch for ch in folded)
    return "".join(ch for ch in folded if not ch.isspace() and ch not in "・･-‐ー")


def search_words(query: str) -> list[str]:
    words = [
        normalize_for_search(word) for word in unicodedata.normalize("NFKC", query or "").split()
    ]
    return [word for word in words if word][:10]


def search_text_of(procedure) -> str:
    """Everything a resident might search a procedure by, normalized."""
    parts = [
        procedure.code,
        procedure.title_ja,
        procedure.title_en,
        procedure.description_ja,
        procedure.description_en,
        procedure.owning_organization.name_ja,
        procedure.owning_organization.name_en,
    ]
    return " ".join(normalize_for_search(part) for part in parts if part)
