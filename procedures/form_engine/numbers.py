"""How whole numbers read: an integer field's `display` (a year, a code, a quantity
or an amount of money) and yen amounts, the same on every page, PDF and e-mail."""

from __future__ import annotations

from django.utils.translation import gettext as _

# The open format's values of an integer field's "display"; absent means a quantity.
INTEGER_DISPLAYS = ("quantity", "year", "code", "amount")
DEFAULT_INTEGER_DISPLAY = "quantity"


def format_yen(amount: int) -> str:
    """18300 -> "18,300円" (in English "18,300 yen"), as the payment pages write it."""
    return _("%(amount)s yen") % {"amount": f"{amount:,}"}


def format_integer(value: int, display: str | None = None) -> str:
    """A whole number as its field says it reads: a year or a code without thousands
    separators (2025, not 2,025), a quantity with them, an amount in yen. An
    unknown display reads as a quantity, the default."""
    if display in ("year", "code"):
        return str(value)
    if display == "amount":
        return format_yen(value)
    return f"{value:,}"
