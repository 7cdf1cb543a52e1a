"""Template helpers for payment pages and for the panels other apps include
(templates/payments/_application_payment.html, _case_payments.html): those panels
load their own data here, so including them is all another page has to do."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from payments import selectors
from payments.models import PaymentStatus

register = template.Library()

KIND = "application"


@register.filter
def yen(amount: Any) -> str:
    """18300 -> "18,300" (whole yen)."""
    try:
        return f"{int(amount):,}"
    except (TypeError, ValueError):
        return ""


@register.filter
def payment_numbers(payment: Any) -> list[dict[str, str]]:
    """The payment numbers (納付番号 and the like), labelled in the page's language."""
    english = (get_language() or "ja").startswith("en")
    return [
        {
            "key": item.get("key", ""),
            "label": item.get("label_en" if english else "label_ja", ""),
            "label_ja": item.get("label_ja", ""),
            "value": item.get("value", ""),
            "display": _grouped(str(item.get("value", ""))),
        }
        for item in (getattr(payment, "instructions", None) or {}).get("numbers", [])
    ]


def _grouped(value: str) -> str:
    """Long numbers in groups of four, as printed on payment slips, to read them
    out and type them at an ATM without losing one's place."""
    if len(value) <= 8 or not value.isdigit():
        return value
    return " ".join(value[index : index + 4] for index in range(0, len(value), 4))


FACT_LABELS = {
    "status": _("Status"),
    "amount": _("Amount"),
    "refunded_amount": _("Refunded"),
    "refunded": _("Refunds recorded"),
    "merchant_order": _("Order"),
    "other_payments": _("Other payments"),
}


@register.filter
def comparison(issue: Any) -> list[dict[str, Any]]:
    """Our facts and the provider's side by side, for the reconciliation report."""
    ours = getattr(issue, "ours", None) or {}
    theirs = getattr(issue, "theirs", None) or {}
    rows = []
    for key in dict.fromkeys([*ours, *theirs]):
        rows.append(
            {
                "label": FACT_LABELS.get(key, key),
                "ours": _fact(key, ours.get(key, "—")),
                "theirs": _fact(key, theirs.get(key, "—")),
                "differs": key in ours and key in theirs and ours[key] != theirs[key],
            }
        )
    return rows


def _fact(key: str, value: Any) -> Any:
    if key == "status" and value in PaymentStatus.values:
        return PaymentStatus(value).label
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and key.startswith(("amount", "refund"))
    ):
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return value


@register.simple_tag(takes_context=True)
def resident_payment_panel(context: template.Context, application: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or application is None or not getattr(application, "pk", None):
        return {"visible": False}
    return selectors.resident_panel(actor=user, kind=KIND, subject_id=application.pk)


@register.simple_tag(takes_context=True)
def staff_payment_panel(context: template.Context, application: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or application is None or not getattr(application, "pk", None):
        return {"payments": [], "may_refund": []}
    return selectors.staff_panel(actor=user, kind=KIND, subject_id=application.pk)
