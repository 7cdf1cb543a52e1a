"""Japanese conventions the form engine needs: eras, kana, phone numbers, widths."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

# (first day, name). Year 1 of an era is written 元年.
ERAS: list[tuple[date, str, str]] = [
    (date(2019, 5, 1), "令和", "Reiwa"),
    (date(1989, 1, 8), "平成", "Heisei"),
    (date(1926, 12, 25), "昭和", "Showa"),
    (date(1912, 7, 30), "大正", "Taisho"),
    (date(1868, 1, 25), "明治", "Meiji"),
]
_ERA_BY_NAME = {name: start for start, name, _latin in ERAS}
_ERA_BY_INITIAL = {latin[0]: start for start, _name, latin in ERAS}


def normalize_width(value: str) -> str:
    """Full-width letters, digits and symbols become ASCII; half-width katakana
    become full-width (NFKC); the ideographic space becomes a plain space."""
    return unicodedata.normalize("NFKC", value).replace("\u3000", " ")


def era_year(day: date) -> tuple[str, int] | None:
    for start, name, _latin in ERAS:
        if day >= start:
            return name, day.year - start.year + 1
    return None


def format_japanese_date(day: date) -> str:
    """令和8年1月2日 (Gregorian before Meiji)."""
    era = era_year(day)
    if era is None:
        return f"{day.year}年{day.month}月{day.day}日"
    name, year = era
    return f"{name}{'元' if year == 1 else year}年{day.month}月{day.day}日"


_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_ERA_KANJI = re.compile(r"^(令和|平成|昭和|大正|明治)(元|\d{1,2})年(\d{1,2})月(\d{1,2})日$")
_ERA_LATIN = re.compile(r"^([RHSTM])(\d{1,2})[./-](\d{1,2})[./-](\d{1,2})$", re.IGNORECASE)


def parse_date(value: str) -> date | None:
    """2026-01-02, 2026/1/2, 令和8年1月2日, 令和元年5月1日 or R8.1.2; None if none fits
    or the date does not exist (including a date before its era began)."""
    text = normalize_width(value).strip().replace(" ", "")
    try:
        if match := _ISO.match(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        start = None
        if match := _ERA_KANJI.match(text):
            start = _ERA_BY_NAME[match[1]]
            year = 1 if match[2] == "元" else int(match[2])
        elif match := _ERA_LATIN.match(text):
            start = _ERA_BY_INITIAL[match[1].upper()]
            year = int(match[2])
        if start is None or year < 1:
            return None
        day = date(start.year + year - 1, int(match[3]), int(match[4]))
    except (ValueError, OverflowError):
        return None
    # The day must fall within its era: 平成32年 never existed (令和2年 did).
    following = [era_start for era_start, _name, _latin in ERAS if era_start > start]
    if day < start or (following and day >= min(following)):
        return None
    return day


_HIRAGANA_START, _HIRAGANA_END = 0x3041, 0x3096


def to_katakana(value: str) -> str:
    """Normalize widths, turn hiragana into katakana and collapse spaces."""
    text = normalize_width(value)
    text = "".join(
        chr(ord(ch) + 0x60) if _HIRAGANA_START <= ord(ch) <= _HIRAGANA_END else ch for ch in text
    )
    return " ".join(text.split())


def is_katakana(value: str) -> bool:
    """Katakana, the long vowel mark, the middle dot and spaces only."""
    return bool(value) and all(
        ch == " " or ch in "ー・" or 0x30A1 <= ord(ch) <= 0x30FA for ch in value
    )


# Dashes a Japanese input method may produce instead of "-".
_DASHES = re.compile("[\u2010-\u2015\u2212\u30fc\uff70\ufe63\uff0d]")


def normalize_phone(value: str) -> str | None:
    """ASCII digits of a Japanese phone number (+81 becomes 0), or None if it is
    not one: 11 digits for mobiles (070/080/090), IP phones (050) and 0800 free
    dial; 10 digits for landlines and 0120."""
    text = _DASHES.sub("-", normalize_width(value)).strip()
    if not re.fullmatch(r"[+0-9\-() ]{6,20}", text):
        return None
    digits = re.sub(r"[^0-9]", "", text)
    if text.startswith("+81"):
        digits = "0" + digits[2:]
    if re.fullmatch(r"0[5789]0[0-9]{8}", digits) or re.fullmatch(r"0800[0-9]{7}", digits):
        return digits
    if re.fullmatch(r"0(?![5789]0)[1-9][0-9]{8}", digits):
        return digits
    return None


def format_phone(digits: str) -> str:
    """A readable grouping (03-1234-5678, 090-1234-5678, 0120-123-456)."""
    if len(digits) == 11 and not digits.startswith("0800"):
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if digits.startswith(("0120", "0800", "0570")):
        return f"{digits[:4]}-{digits[4:7]}-{digits[7:]}"
    if digits.startswith(("03", "06")):
        return f"{digits[:2]}-{digits[2:6]}-{digits[6:]}"
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def normalize_postal_code(value: str) -> str | None:
    digits = re.sub(r"[-\s〒]", "", _DASHES.sub("-", normalize_width(value)))
    return f"{digits[:3]}-{digits[3:]}" if re.fullmatch(r"[0-9]{7}", digits) else None
