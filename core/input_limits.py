"""What text and numbers may enter the platform, checked once at the edge.

Every request passes through here before any view runs: query strings and form
posts (core/middleware.InputLimitsMiddleware), JSON bodies of the API
(core/api/parsers.JSONParser) and of signed notifications (the payment
providers). A value is refused when no store or signature downstream can hold it:

- text with a NUL character (PostgreSQL text and jsonb cannot store U+0000);
- text with a lone surrogate (U+D800 to U+DFFF on its own is not Unicode text:
  jsonb refuses it and UTF-8 cannot encode it);
- integers beyond +/-(2**53 - 1): RFC 8785 canonical JSON, which every signed
  filing and idempotency digest uses, holds numbers as IEEE 754 doubles, and
  larger integers would change value (I-JSON, RFC 7493, section 2.2);
- numbers that are not finite (JSON has no Infinity; 1e400 parses as one);
- timestamps outside the years 1970 to 9999.

A refusal is an InputRejected (400, code "invalid_input") naming the place of
each bad value (a query parameter, a form field, or a JSON path such as
"answers.notes") with a translated reason. Nothing is cleaned silently: a
value that cannot be stored is never stored in an altered form either.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from core.errors import DomainError

MAX_SAFE_INTEGER = 2**53 - 1
MIN_SAFE_INTEGER = -MAX_SAFE_INTEGER
# Seconds since the epoch of 9999-12-31T23:59:59Z, the last instant a datetime holds.
MAX_TIMESTAMP = 253_402_300_799

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class InputRejected(DomainError):
    """A value that no store or signature can hold. `details` maps each bad
    value's place to its reasons."""

    code = "invalid_input"
    http_status = 400
    default_message = _(
        "The request contains characters or numbers that cannot be accepted. Nothing was saved."
    )


def text_problem(text: str) -> str | None:
    """Why this text cannot be accepted, or None when it can."""
    if "\x00" in text:
        return str(_("Remove the NUL control character (U+0000): it cannot be stored."))
    if _LONE_SURROGATE.search(text):
        return str(_("The text contains broken characters (an unpaired surrogate)."))
    return None


def number_problem(number: int | float) -> str | None:
    """Why this number cannot be accepted, or None when it can."""
    if isinstance(number, bool):
        return None
    if isinstance(number, int):
        if MIN_SAFE_INTEGER <= number <= MAX_SAFE_INTEGER:
            return None
        return str(_("Enter a whole number between -9007199254740991 and 9007199254740991."))
    if isinstance(number, float) and not math.isfinite(number):
        return str(_("Enter a finite number."))
    return None


def _walk(value: Any, place: str) -> Iterator[tuple[str, Any]]:
    """Every key and scalar of a JSON document with its place, without recursion
    (a document can be as deep as the parser allows)."""
    pending = [(place, value)]
    while pending:
        where, item = pending.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                yield where, key
                pending.append((f"{where}.{key}" if where else str(key), child))
        elif isinstance(item, list | tuple):
            pending.extend(
                (f"{where}.{index}" if where else str(index), child)
                for index, child in enumerate(item)
            )
        else:
            yield where, item


def problems_in(value: Any, place: str = "") -> dict[str, list[str]]:
    """The reasons, by place, why a value (a JSON document, text or a number)
    cannot be accepted; empty when it can."""
    found: dict[str, list[str]] = {}
    for where, item in _walk(value, place):
        if isinstance(item, str):
            problem = text_problem(item)
        elif isinstance(item, int | float):
            problem = number_problem(item)
        else:
            problem = None
        reasons = found.setdefault(shown_place(where) or "body", []) if problem else None
        if problem and problem not in reasons:
            reasons.append(problem)
    return {where: reasons for where, reasons in found.items() if reasons}


def shown_place(text: str) -> str:
    """A place's name fit to show and log: bad characters become U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", text.replace("\x00", "\ufffd"))


def problems_in_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """The same for the name/value pairs of a query string or a form post."""
    found: dict[str, list[str]] = {}
    for name, value in pairs:
        for text in (name, value):
            problem = text_problem(text)
            reasons = found.setdefault(shown_place(name), []) if problem else None
            if problem and problem not in reasons:
                reasons.append(problem)
    return found


def check(value: Any, place: str = "") -> None:
    """Raise InputRejected when a value cannot be accepted."""
    found = problems_in(value, place)
    if found:
        raise InputRejected(details=found)


def timestamp_from_epoch(seconds: Any) -> datetime:
    """A UTC datetime from seconds since the epoch, or ValueError when the value is
    not a whole number of seconds between 1970 and 9999."""
    if isinstance(seconds, bool):
        raise ValueError("not a timestamp")
    try:
        number = int(seconds)
    except (OverflowError, TypeError) as error:  # infinity, or not a number at all
        raise ValueError("not a timestamp") from error
    if not 0 <= number <= MAX_TIMESTAMP:
        raise ValueError("timestamp out of range")
    return datetime.fromtimestamp(number, tz=UTC)
