"""Conditions that show, hide or require fields and steps, evaluated on answers.

    {"field": "kind", "op": "equals", "value": "business"}
    {"all": [...]}, {"any": [...]}, {"not": {...}}

A condition never raises: a comparison between values of different kinds is
simply false.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from procedures.form_engine.fields import is_empty

OPERATORS = (
    "equals",
    "not_equals",
    "one_of",
    "gt",
    "gte",
    "lt",
    "lte",
    "filled",
    "empty",
    "contains",
)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    return None


def _ordered(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Both as numbers, or both as strings (ISO dates compare correctly)."""
    left_number, right_number = _number(left), _number(right)
    if left_number is not None and right_number is not None:
        if left_number.is_nan() or right_number.is_nan():
            return None
        return left_number, right_number
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    return None


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "filled":
        return not is_empty(actual)
    if op == "empty":
        return is_empty(actual)
    if op == "equals":
        return actual == expected
    if op == "not_equals":
        return actual != expected
    if op == "one_of":
        return isinstance(expected, list) and actual in expected
    if op == "contains":
        return isinstance(actual, list) and expected in actual
    pair = _ordered(actual, expected)
    if pair is None or is_empty(actual):
        return False
    left, right = pair
    return {
        "gt": left > right,
        "gte": left >= right,
        "lt": left < right,
        "lte": left <= right,
    }.get(op, False)


def evaluate(
    condition: Any, answers: Mapping[str, Any], item: Mapping[str, Any] | None = None
) -> bool:
    """True when the condition holds. Inside a repeating group, `item` holds the
    current item's answers, which take precedence over the top-level ones."""
    if not isinstance(condition, Mapping):
        return False
    if "all" in condition:
        parts = condition["all"]
        return isinstance(parts, list) and all(evaluate(part, answers, item) for part in parts)
    if "any" in condition:
        parts = condition["any"]
        return isinstance(parts, list) and any(evaluate(part, answers, item) for part in parts)
    if "not" in condition:
        return not evaluate(condition["not"], answers, item)
    key, op = condition.get("field"), condition.get("op")
    if not isinstance(key, str) or op not in OPERATORS:
        return False
    scope = item if item is not None and key in item else answers
    return _compare(op, scope.get(key), condition.get("value"))


def referenced_fields(condition: Any) -> list[str]:
    """Every field key a condition reads."""
    if not isinstance(condition, Mapping):
        return []
    for combinator in ("all", "any"):
        if isinstance(condition.get(combinator), list):
            return [key for part in condition[combinator] for key in referenced_fields(part)]
    if "not" in condition:
        return referenced_fields(condition["not"])
    key = condition.get("field")
    return [key] if isinstance(key, str) else []
