"""Checking a procedure definition document: first against the published JSON
Schema, then the rules a schema cannot express (unique keys, conditions that
refer to earlier fields, fee fields that exist, sensible limits). Every problem
is reported with its path, so an importer or the builder can point at it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator

from procedures.form_engine.conditions import referenced_fields
from procedures.form_engine.fields import DEFAULT_MAX_LENGTH, MAX_ITEMS

SCHEMA_PATH = (
    Path(__file__).resolve().parent.parent / "schemas" / "procedure-definition.schema.json"
)
CHOICE_TYPES = ("choice", "multi_choice")
# Which field types each value of a verified identity can fill.
PREFILL_TYPES = {
    "identity.full_name": ("text", "name"),
    "identity.name_kana": ("text",),
    "identity.birth_date": ("date",),
    "identity.address": ("text", "textarea", "address"),
}


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@cache
def definition_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(definition_schema())


def _path(parts) -> str:
    return ".".join(str(part) for part in parts)


def schema_problems(document: Any, *, root: str = "") -> list[Problem]:
    problems = []
    for error in sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path)):
        path = _path([root, *error.absolute_path] if root else error.absolute_path)
        problems.append(Problem(path, error.message))
    return problems


def _check_field(
    spec: dict,
    path: str,
    known: dict[str, dict],
    problems: list[Problem],
    taken: set[str] | None = None,
) -> None:
    """`known`: the earlier fields a condition may read; `taken`: every key used so
    far anywhere in the form, group items included (keys are unique form-wide)."""
    taken = taken if taken is not None else set(known)
    kind = spec["type"]
    for attribute in ("condition", "required_if"):
        for key in referenced_fields(spec.get(attribute)):
            if key not in known:
                problems.append(
                    Problem(
                        f"{path}.{attribute}",
                        _(
                            "The condition refers to “%(key)s”, which is not a field before this one."
                        )
                        % {"key": key},
                    )
                )
    if kind in CHOICE_TYPES:
        values = [choice["value"] for choice in spec.get("choices", [])]
        if not values:
            problems.append(
                Problem(f"{path}.choices", _("A choice field needs at least one option."))
            )
        elif len(set(values)) != len(values):
            problems.append(Problem(f"{path}.choices", _("Option values must be unique.")))
    if kind == "group":
        if not spec.get("fields"):
            problems.append(Problem(f"{path}.fields", _("A repeating group needs fields.")))
        item_known = dict(known)
        seen: set[str] = set()
        for index, sub in enumerate(spec.get("fields", [])):
            sub_path = f"{path}.fields.{index}"
            if sub["type"] == "group":
                problems.append(Problem(f"{sub_path}.type", _("Groups cannot be nested.")))
                continue
            if sub["key"] in seen or sub["key"] in taken:
                problems.append(
                    Problem(f"{sub_path}.key", _("Field keys must be unique in the whole form."))
                )
            seen.add(sub["key"])
            _check_field(sub, sub_path, item_known, problems, taken)
            item_known[sub["key"]] = sub
        taken.update(seen)
    elif spec.get("fields"):
        problems.append(Problem(f"{path}.fields", _("Only repeating groups have fields.")))
    for low, high in (
        ("min_length", "max_length"),
        ("min", "max"),
        ("min_items", "max_items"),
        ("min_choices", "max_choices"),
    ):
        if spec.get(low) is not None and spec.get(high) is not None and spec[low] > spec[high]:
            problems.append(Problem(f"{path}.{low}", _("The minimum is greater than the maximum.")))
    if (
        kind == "group"
        and spec.get("max_items") is None
        and (spec.get("min_items") or 0) > MAX_ITEMS
    ):
        problems.append(
            Problem(
                f"{path}.min_items",
                _(
                    "The minimum is greater than the default maximum of %(max)d items; set max_items."
                )
                % {"max": MAX_ITEMS},
            )
        )
    if kind == "multi_choice" and (spec.get("min_choices") or 0) > len(spec.get("choices", [])):
        problems.append(
            Problem(f"{path}.min_choices", _("The minimum is greater than the number of options."))
        )
    default_max = DEFAULT_MAX_LENGTH.get(kind)
    if (
        default_max
        and spec.get("max_length") is None
        and (spec.get("min_length") or 0) > default_max
    ):
        problems.append(
            Problem(
                f"{path}.min_length",
                _(
                    "The minimum is greater than the default maximum of %(max)d characters; set max_length."
                )
                % {"max": default_max},
            )
        )
    if spec.get("pattern"):
        try:
            re.compile(spec["pattern"])
        except re.error:
            problems.append(
                Problem(f"{path}.pattern", _("This is not a valid regular expression."))
            )
    if spec.get("paper_original_required") and kind != "file":
        problems.append(
            Problem(f"{path}.paper_original_required", _("Only file fields have originals."))
        )
    if spec.get("display") is not None and kind != "integer":
        problems.append(
            Problem(f"{path}.display", _("Only whole-number fields have a display format."))
        )
    prefill = spec.get("prefill")
    if prefill and kind not in PREFILL_TYPES.get(prefill, ()):
        problems.append(
            Problem(
                f"{path}.prefill",
                _("This verified value cannot fill a field of this type."),
            )
        )


def form_problems(form: dict, *, root: str = "version.form") -> list[Problem]:
    """Rules beyond the schema, for a form that already passed the schema."""
    problems: list[Problem] = []
    known: dict[str, dict] = {}
    taken: set[str] = set()
    step_keys: set[str] = set()
    for step_index, step in enumerate(form.get("steps", [])):
        step_path = f"{root}.steps.{step_index}"
        if step["key"] in step_keys:
            problems.append(Problem(f"{step_path}.key", _("Step keys must be unique.")))
        step_keys.add(step["key"])
        for key in referenced_fields(step.get("condition")):
            if key not in known:
                problems.append(
                    Problem(
                        f"{step_path}.condition",
                        _(
                            "The condition refers to “%(key)s”, which is not a field of an earlier step."
                        )
                        % {"key": key},
                    )
                )
        for field_index, spec in enumerate(step.get("fields", [])):
            path = f"{step_path}.fields.{field_index}"
            if spec["key"] in taken:
                problems.append(
                    Problem(f"{path}.key", _("Field keys must be unique in the whole form."))
                )
            taken.add(spec["key"])
            _check_field(spec, path, known, problems, taken)
            known[spec["key"]] = spec
    return problems


def _fields_by_key(form: dict) -> dict[str, dict]:
    return {spec["key"]: spec for step in form.get("steps", []) for spec in step.get("fields", [])}


def fee_problems(fee: dict, form: dict, *, root: str = "version.fee") -> list[Problem]:
    problems: list[Problem] = []
    fields = _fields_by_key(form)
    kind = fee["kind"]
    if kind == "fixed" and not fee.get("amount"):
        problems.append(Problem(f"{root}.amount", _("A fixed fee needs an amount.")))
    if kind == "per_item":
        item = fields.get(fee.get("item_field", ""))
        if item is None or item["type"] != "integer":
            problems.append(
                Problem(f"{root}.item_field", _("Name the integer field that counts the items."))
            )
        if not fee.get("unit_amount"):
            problems.append(
                Problem(f"{root}.unit_amount", _("A per-item fee needs an amount per item."))
            )
    if kind == "computed" and not fee.get("rules") and not fee.get("amount"):
        problems.append(Problem(f"{root}.rules", _("A computed fee needs a base amount or rules.")))
    if kind != "none" and not fee.get("methods"):
        problems.append(Problem(f"{root}.methods", _("Choose at least one payment method.")))
    conditions = [
        (f"{root}.{name}.{index}.condition", item["condition"])
        for name in ("rules", "waivers")
        for index, item in enumerate(fee.get(name, []))
    ]
    for path, condition in conditions:
        for key in referenced_fields(condition):
            if key not in fields:
                problems.append(
                    Problem(
                        path, _("The fee refers to “%(key)s”, which is not a field.") % {"key": key}
                    )
                )
    return problems


# A workflow of its own must still let a case be taken up, decided either way,
# closed with its result, and withdrawn by the resident.
REQUIRED_ACTIONS = ("claim", "approve", "reject", "issue_result", "withdraw")


def workflow_problems(workflow: dict, *, root: str = "version.workflow") -> list[Problem]:
    transitions = workflow.get("transitions") or []
    if not transitions:
        return []
    actions = {item["action"] for item in transitions}
    return [
        Problem(
            f"{root}.transitions",
            _("The workflow needs the action “%(action)s”.") % {"action": action},
        )
        for action in REQUIRED_ACTIONS
        if action not in actions
    ]


# Answers a co-signer may never be shown: the Individual Number, and files (the
# co-signer's page shows answers as text, and files are the applicant's to share).
UNSHOWABLE_TYPES = ("my_number", "file")
# With co-signers, a workflow of its own must let the case leave the wait for them.
COSIGNATURE_ACTIONS = ("cosignatures_complete", "cosignatures_lapsed")


def cosigner_problems(
    cosigners: list, form: dict, workflow: dict, *, root: str = "version.cosigners"
) -> list[Problem]:
    """Co-signer roles: unique keys, answers shown that exist and may be shown,
    conditions on fields of the form, and a workflow that knows the wait."""
    problems: list[Problem] = []
    fields = _fields_by_key(form)
    keys: set[str] = set()
    for index, role in enumerate(cosigners):
        path = f"{root}.{index}"
        if role["key"] in keys:
            problems.append(Problem(f"{path}.key", _("Co-signer keys must be unique.")))
        keys.add(role["key"])
        for key in role.get("shows", []):
            spec = fields.get(key)
            if spec is None:
                problems.append(
                    Problem(
                        f"{path}.shows",
                        _("The co-signer is shown “%(key)s”, which is not a field of the form.")
                        % {"key": key},
                    )
                )
            elif spec["type"] in UNSHOWABLE_TYPES:
                problems.append(
                    Problem(
                        f"{path}.shows",
                        _(
                            "“%(key)s” cannot be shown to a co-signer: Individual Numbers and "
                            "files are never shown."
                        )
                        % {"key": key},
                    )
                )
        for key in referenced_fields(role.get("condition")):
            if key not in fields:
                problems.append(
                    Problem(
                        f"{path}.condition",
                        _("The condition refers to “%(key)s”, which is not a field.")
                        % {"key": key},
                    )
                )
    transitions = workflow.get("transitions") or []
    transitions_path = f"{root.rpartition('.')[0]}.workflow.transitions"
    if cosigners and transitions:
        actions = {item["action"] for item in transitions}
        for action in COSIGNATURE_ACTIONS:
            if action not in actions:
                problems.append(
                    Problem(
                        transitions_path,
                        _("With co-signers, the workflow needs the action “%(action)s”.")
                        % {"action": action},
                    )
                )
        if not any(
            item["action"] == "withdraw" and "cosignature_pending" in item["from"]
            for item in transitions
        ):
            problems.append(
                Problem(
                    transitions_path,
                    _(
                        "With co-signers, the applicant must be able to withdraw while "
                        "waiting for them (“withdraw” from “cosignature_pending”)."
                    ),
                )
            )
    return problems


def version_problems(version: dict, *, root: str = "version") -> list[Problem]:
    """Every problem of a version's definition (form, fee, workflow, delivery,
    co-signers)."""
    form = version.get("form", {})
    return (
        form_problems(form, root=f"{root}.form")
        + fee_problems(version.get("fee", {"kind": "none"}), form, root=f"{root}.fee")
        + workflow_problems(version.get("workflow", {}), root=f"{root}.workflow")
        + cosigner_problems(
            version.get("cosigners", []),
            form,
            version.get("workflow", {}),
            root=f"{root}.cosigners",
        )
    )


def document_problems(document: Any) -> list[Problem]:
    """Every problem of a whole exchange document, schema first."""
    problems = schema_problems(document)
    if problems:
        return problems
    return version_problems(document["version"])
