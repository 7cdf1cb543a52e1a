"""What a filing costs: the fee rules of a version applied to its answers, with the
lines that show how the amount was reached (400円 × 2通 = 800円). The same
breakdown serves the check-your-answers page, the payment page and the receipts,
so what the resident is told before signing is what they are asked to pay."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from procedures.form_engine.conditions import evaluate
from procedures.form_engine.numbers import format_yen
from procedures.form_engine.text import localized_text


@dataclass(frozen=True)
class FeeLine:
    """One step of the sum, in the current language: `text` reads on its own
    ("400円 × 2通 = 800円", "占用料（日よけ）：1,500円"); `amount` is what it adds
    (a waiver's is negative)."""

    text: str
    amount: int


@dataclass(frozen=True)
class FeeBreakdown:
    total: int
    kind: str = "none"
    lines: tuple[FeeLine, ...] = ()
    # The declared category that made the fee zero, if one applies.
    waiver: str = ""

    @property
    def total_text(self) -> str:
        return format_yen(self.total)

    @property
    def explained(self) -> bool:
        """Whether the lines say more than the total does (a fixed fee's one line
        does not)."""
        return bool(self.lines) and (self.kind != "fixed" or bool(self.waiver))


def _item_count(fee: Mapping[str, Any], answers: Mapping[str, Any]) -> int:
    try:
        items = int(answers.get(fee.get("item_field", ""), 0) or 0)
    except (TypeError, ValueError):
        items = 0
    return max(items, 0)


def _lines(fee: Mapping[str, Any], answers: Mapping[str, Any]) -> list[FeeLine]:
    kind = fee.get("kind", "none")
    if kind == "fixed":
        amount = int(fee.get("amount", 0))
        return [FeeLine(_("Fee: %(amount)s") % {"amount": format_yen(amount)}, amount)]
    if kind == "per_item":
        unit, items = int(fee.get("unit_amount", 0)), _item_count(fee, answers)
        text = ngettext(
            "%(unit)s × %(count)s copy = %(amount)s",
            "%(unit)s × %(count)s copies = %(amount)s",
            items,
        ) % {"unit": format_yen(unit), "count": items, "amount": format_yen(unit * items)}
        return [FeeLine(text, unit * items)]
    if kind == "computed":
        lines = []
        base = int(fee.get("amount", 0))
        if base:
            lines.append(FeeLine(_("Base fee: %(amount)s") % {"amount": format_yen(base)}, base))
        for rule in fee.get("rules", []):
            if evaluate(rule.get("condition"), answers):
                amount = int(rule.get("amount", 0))
                label = localized_text(rule.get("label")) or _("Addition")
                lines.append(
                    FeeLine(
                        _("%(label)s: %(amount)s") % {"label": label, "amount": format_yen(amount)},
                        amount,
                    )
                )
        return lines
    return []


def fee_breakdown(fee: Mapping[str, Any], answers: Mapping[str, Any]) -> FeeBreakdown:
    """The fee in yen for these (validated) answers, and how it was reached. Per-item
    fees multiply by the number the resident entered; a computed fee adds each rule
    that holds to its base; a declared waiver that applies makes any fee zero."""
    kind = fee.get("kind", "none")
    if kind not in ("fixed", "per_item", "computed"):
        return FeeBreakdown(total=0)
    lines = _lines(fee, answers)
    subtotal = sum(line.amount for line in lines)
    for waiver in fee.get("waivers", []):
        if evaluate(waiver.get("condition"), answers):
            reason = localized_text(waiver.get("label")) or _("a declared category")
            text = _("Waived (%(reason)s): −%(amount)s") % {
                "reason": reason,
                "amount": format_yen(subtotal),
            }
            if subtotal:
                lines.append(FeeLine(text, -subtotal))
            return FeeBreakdown(total=0, kind=kind, lines=tuple(lines), waiver=reason)
    return FeeBreakdown(total=subtotal, kind=kind, lines=tuple(lines))


def fee_amount(fee: Mapping[str, Any], answers: Mapping[str, Any]) -> int:
    """The fee in yen for these (validated) answers (see fee_breakdown)."""
    return fee_breakdown(fee, answers).total
