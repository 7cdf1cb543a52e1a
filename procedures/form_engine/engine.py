"""Validating answers against a form definition: the one place that decides
whether an answer is acceptable, for HTML pages and the API alike.

Answers are a JSON object keyed by field key (field keys are unique in a form);
a repeating group's answer is a list of such objects. Errors are keyed by path:
"business_name", "household.1.birth_date".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from procedures.form_engine.conditions import evaluate
from procedures.form_engine.fields import CLEANERS, MAX_ITEMS, Invalid, is_empty

logger = logging.getLogger(__name__)


class FieldTypeFailure(Exception):
    """Stands in the log for a field type's unexpected error: the same traceback,
    without the error's own message, which may quote the answer (int("..."), a
    KeyError of the value), and answers are personal data."""


@dataclass
class FormResult:
    data: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)


def steps(form: Mapping[str, Any]) -> list[dict]:
    return list(form.get("steps", []))


def iter_fields(form: Mapping[str, Any]) -> Iterator[tuple[dict, dict]]:
    """(step, field) for every top-level field, in document order."""
    for step in steps(form):
        for item in step.get("fields", []):
            yield step, item


def visible_steps(form: Mapping[str, Any], answers: Mapping[str, Any]) -> list[dict]:
    """The steps a resident goes through with these answers."""
    return [
        step
        for step in steps(form)
        if "condition" not in step or evaluate(step["condition"], answers)
    ]


def _required(spec: dict, answers: Mapping[str, Any], item: Mapping[str, Any] | None) -> bool:
    if spec.get("required"):
        return True
    return "required_if" in spec and evaluate(spec["required_if"], answers, item)


def _missing_message(spec: dict) -> str:
    return (
        _("Tick the box to agree.") if spec["type"] == "consent" else _("This field is required.")
    )


def _clean_value(spec: dict, raw: Any, path: str, result: FormResult) -> Any:
    try:
        return CLEANERS[spec["type"]](spec, raw)
    except Invalid as problem:
        result.add(path, problem.message)
    except Exception as error:  # a cleaner bug is logged, and the user gets a message, not a 500
        failure = FieldTypeFailure(
            f"{type(error).__qualname__} in the field type {spec['type']!r}"
        ).with_traceback(error.__traceback__)
        logger.exception(
            "The field type %r failed on the field %r (at %r); the answer is not logged.",
            spec["type"],
            spec.get("key"),
            path,
            exc_info=failure,
            extra={"field_key": spec.get("key"), "field_type": spec["type"]},
        )
        result.add(path, _("This answer could not be checked. Please enter it again."))
    return None


def _clean_group(
    spec: dict, raw: Any, path: str, answers: dict, result: FormResult
) -> list[dict] | None:
    if raw is None or raw == "":
        raw = []
    if not isinstance(raw, list) or not all(isinstance(entry, Mapping) for entry in raw):
        result.add(path, _("Enter the items again."))
        return None
    maximum = spec.get("max_items", MAX_ITEMS)
    if len(raw) > maximum:
        result.add(path, _("Enter at most %(count)d items.") % {"count": maximum})
        raw = raw[:maximum]
    items = []
    for index, entry in enumerate(raw):
        item: dict[str, Any] = {}
        for sub in spec.get("fields", []):
            sub_path = f"{path}.{index}.{sub['key']}"
            if "condition" in sub and not evaluate(sub["condition"], answers, item):
                continue
            value = entry.get(sub["key"])
            cleaned = _answer(sub, value, sub_path, answers, item, result)
            if cleaned is not None and not is_empty(cleaned):
                item[sub["key"]] = cleaned
        items.append(item)
    minimum = spec.get("min_items", 0)
    if minimum == 0 and _required(spec, answers, None):
        minimum = 1
    # A minimum applies once there are items, or when the group is required.
    if len(items) < minimum and (items or _required(spec, answers, None)):
        result.add(path, _("Enter at least %(count)d items.") % {"count": minimum})
    return items


def _answer(
    spec: dict,
    raw: Any,
    path: str,
    answers: dict,
    item: dict | None,
    result: FormResult,
) -> Any:
    """Clean one visible field's answer; report it missing when required."""
    if spec["type"] == "group":
        return _clean_group(spec, raw, path, answers, result)
    if is_empty(raw):
        if _required(spec, answers, item):
            result.add(path, _missing_message(spec))
        return None
    cleaned = _clean_value(spec, raw, path, result)
    if cleaned is not None and is_empty(cleaned) and _required(spec, answers, item):
        result.add(path, _missing_message(spec))
        return None
    return cleaned


def validate(
    form: Mapping[str, Any],
    answers: Any,
    *,
    only_steps: Iterable[str] | None = None,
) -> FormResult:
    """Clean and check `answers` against `form`.

    Fields are processed in document order; a field or step whose condition is
    false is hidden, its answer dropped from `data`, and it cannot be required.
    Conditions see only the answers already accepted, so a field hidden because
    of an earlier answer also hides whatever depends on it.

    `only_steps` restricts the errors to those steps (saving a step of a draft);
    answers of other steps are still cleaned and kept.
    """
    result = FormResult()
    if not isinstance(answers, Mapping):
        result.add("", _("The answers must be a JSON object."))
        return result
    wanted = set(only_steps) if only_steps is not None else None
    for step in steps(form):
        step_visible = "condition" not in step or evaluate(step["condition"], result.data)
        step_result = FormResult(data=result.data)
        for spec in step.get("fields", []):
            key = spec["key"]
            if not step_visible or (
                "condition" in spec and not evaluate(spec["condition"], result.data)
            ):
                continue
            cleaned = _answer(spec, answers.get(key), key, result.data, None, step_result)
            if cleaned is not None and not is_empty(cleaned):
                result.data[key] = cleaned
        if wanted is None or step.get("key") in wanted:
            for path, messages in step_result.errors.items():
                result.errors.setdefault(path, []).extend(messages)
    return result


def step_of_path(form: Mapping[str, Any], path: str) -> str | None:
    """The key of the step a field path belongs to."""
    key = path.split(".", 1)[0]
    for step, spec in iter_fields(form):
        if spec["key"] == key:
            return step.get("key")
    return None
