"""How the catalogue search reads Japanese: folding (width, kana, case, spacing)
and SudachiPy's readings and usual spellings of each word, for the index and for
what a resident types. Shared by the search and its vocabulary."""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass

# Parts of speech that carry no meaning of their own in a query or a title.
_FUNCTION_WORDS = {"助詞", "助動詞", "補助記号", "記号", "空白"}
KANJI = re.compile(r"[\u3400-\u9fff\uf900-\ufaff々〆]")

_local = threading.local()


def _tokenizer():
    """One SudachiPy tokenizer per thread (they are not thread-safe); the
    dictionary itself is memory-mapped once per process."""
    tokenizer = getattr(_local, "tokenizer", None)
    if tokenizer is None:
        from sudachipy import Dictionary, SplitMode

        tokenizer = Dictionary(dict="core").tokenizer(SplitMode.C)
        _local.tokenizer = tokenizer
    return tokenizer


def normalize_for_search(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    # Katakana to hiragana (ァ..ヶ -> ぁ..ゖ), so either script finds both.
    folded = "".join(chr(ord(ch) - 0x60) if "ァ" <= ch <= "ヶ" else ch for ch in folded)
    return "".join(ch for ch in folded if not ch.isspace() and ch not in "・･-‐ー")


@dataclass(frozen=True)
class Morpheme:
    surface: str
    reading: str
    normalized: str
    content: bool


def analyse(text: str) -> list[Morpheme]:
    """The words of Japanese text with their readings and usual spellings."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        return []
    morphemes = []
    for token in _tokenizer().tokenize(text[:2000]):
        surface = token.surface()
        if not surface.strip():
            continue
        morphemes.append(
            Morpheme(
                surface=surface,
                reading=token.reading_form(),
                normalized=token.normalized_form(),
                content=token.part_of_speech()[0] not in _FUNCTION_WORDS,
            )
        )
    return morphemes


def reading_of(text: str) -> str:
    """The reading of Japanese text, folded as the index is (hiragana)."""
    return normalize_for_search("".join(m.reading or m.surface for m in analyse(text)))


# Marks where a word starts in the index's readings: a reading found from a query's
# kanji must start where a word starts (開業 かいぎょう must not match the middle
# of 取扱業 とりあつかいぎょう), though it may run on over the following words.
WORD_START = "|"


def _readings(morphemes: list[Morpheme]) -> list[str]:
    return [r for r in (normalize_for_search(m.reading or m.surface) for m in morphemes) if r]


def _japanese(text: str) -> bool:
    return any(ch > "\u3000" for ch in text)


def index_forms(text: str, read: bool = True) -> list[str]:
    """What a text is found by: itself; for Japanese, its reading (for kana typed
    anywhere), its reading from each word on (for readings found from kanji) and
    its words' usual spellings."""
    if not text:
        return []
    forms = [normalize_for_search(text)]
    if read and _japanese(text):
        morphemes = analyse(text)
        readings = _readings(morphemes)
        forms.append("".join(readings))
        forms += [WORD_START + "".join(readings[i:]) for i in range(len(readings))]
        forms.append(normalize_for_search("".join(m.normalized for m in morphemes)))
    return list(dict.fromkeys(form for form in forms if form))


def query_forms(text: str) -> list[str]:
    """What a typed word is looked for as: itself folded; for Japanese with kanji,
    its reading from a word's start and its usual spelling."""
    folded = normalize_for_search(text)
    if not folded:
        return []
    forms = [folded]
    if KANJI.search(text):
        morphemes = analyse(text)
        forms.append(WORD_START + "".join(_readings(morphemes)))
        forms.append(normalize_for_search("".join(m.normalized for m in morphemes)))
    return list(dict.fromkeys(form for form in forms if form and form != WORD_START))
