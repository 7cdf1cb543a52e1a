"""What a filing costs: the fee rules of a version applied to its answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from procedures.form_engine.conditions import evaluate


def fee_amount(fee: Mapping[str, Any], answers: Mapping[str, Any]) -> int:
    """The fee in yen for these (validated) answers. A declared waiver that applies
    makes it zero; per-item fees multiply by the number the resident entered."""
    kind = fee.get("kind", "none")
    if kind == "none":
        return 0
    if any(evaluate(waiver.get("condition"), answers) for waiver in fee.get("waivers", [])):
        return 0
    if kind == "fixed":
        return int(fee.get("amount", 0))
    if kind == "per_item":
        try:
            items = int(answers.get(fee.get("item_field", ""), 0) or 0)
        except (TypeError, ValueError):
            items = 0
        return int(fee.get("unit_amount", 0)) * max(items, 0)
    if kind == "computed":
        total = int(fee.get("amount", 0))
        for rule in fee.get("rules", []):
            if evaluate(rule.get("condition"), answers):
                total += int(rule.get("amount", 0))
        return total
    return 0
