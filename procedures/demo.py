"""Demo procedures: the exchange documents in procedures/demo/, imported and
published through the services (so the policy check and the audit log see them).
Idempotent: a procedure whose code exists is left alone.

The subsidy's application window cannot be a fixed date in its document (it would
close for good one day), so it is computed from the day the demo is seeded: open
since 1 April of that fiscal year, until the end of the month after next."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from procedures.models import Procedure
from procedures.selectors import published_procedures
from procedures.services import (
    exemption_decide,
    exemption_request,
    procedure_import,
    version_publish,
)

DEMO_DIR = Path(__file__).resolve().parent / "demo"
SUBSIDY = "small-business-digitalization-subsidy"


def subsidy_window(today: date) -> dict[str, str]:
    """The subsidy's window for a demo seeded on `today` (Japan's day): from 0:00
    on 1 April of the fiscal year to 0:00 on the 1st of the month after next
    (exclusive: residents read "until the last day of next month, 23:59"), so
    that it shows open, with a deadline four to nine weeks ahead, the same for
    every start on the same day."""
    fiscal_year = today.year if today.month >= 4 else today.year - 1
    months = today.year * 12 + today.month - 1 + 2
    closes = date(months // 12, months % 12 + 1, 1)
    return {
        "opens_at": f"{date(fiscal_year, 4, 1).isoformat()}T00:00:00+09:00",
        "closes_at": f"{closes.isoformat()}T00:00:00+09:00",
    }


def demo_documents() -> list[dict]:
    documents = [
        json.loads(path.read_text(encoding="utf-8")) for path in sorted(DEMO_DIR.glob("*.json"))
    ]
    for document in documents:
        if document["procedure"]["code"] == SUBSIDY:
            document["procedure"]["application_window"] = subsidy_window(timezone.localdate())
    return documents


def _review_date(text: str | None) -> date:
    """The document's review date, or a year ahead once that date has passed."""
    today = timezone.localdate()
    wanted = date.fromisoformat(text) if text else today + timedelta(days=365)
    return wanted if wanted > today else today + timedelta(days=365)


@transaction.atomic
def seed_procedure(document: dict, organization=None) -> bool:
    """Import (owned by the organization the document names, or `organization`),
    record the exemptions it carries, publish. False if it existed."""
    code = document["procedure"]["code"]
    if Procedure.objects.filter(code=code).exists():
        return False
    version = procedure_import(actor=None, document=document, organization=organization)
    for record in document.get("exemptions", []):
        exemption = exemption_request(
            actor=None,
            procedure=version.procedure,
            principle=record["principle"],
            reason=record["reason"]["ja"],
            legal_basis=record.get("legal_basis", {}).get("ja", ""),
            within_city_discretion=record.get("within_city_discretion", False),
        )
        if record.get("status") == "approved":
            exemption_decide(
                actor=None,
                exemption=exemption,
                approve=True,
                review_date=_review_date(record.get("review_date")),
                note="Demo data",
            )
    version_publish(actor=None, version=version)
    return True


def seed(results: dict) -> None:
    for document in demo_documents():
        seed_procedure(document)
    # What the public catalogue lists, not every Procedure row: later seeders add
    # drafts (digitization's industrial-waste-license), which a count of all rows
    # taken here missed on the first start and included on the next.
    total = published_procedures().count()
    results["stdout"].write(f"Procedures: {total} published in the catalogue.")
