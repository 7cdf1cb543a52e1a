"""Demo procedures: the exchange documents in procedures/demo/, imported and
published through the services (so the policy check and the audit log see them).
Idempotent: a procedure whose code exists is left alone."""

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


def demo_documents() -> list[dict]:
    return [
        json.loads(path.read_text(encoding="utf-8")) for path in sorted(DEMO_DIR.glob("*.json"))
    ]


def _review_date(text: str | None) -> date:
    """The document's review date, or a year ahead once that date has passed."""
    today = timezone.localdate()
    wanted = date.fromisoformat(text) if text else today + timedelta(days=365)
    return wanted if wanted > today else today + timedelta(days=365)


@transaction.atomic
def seed_procedure(document: dict) -> bool:
    """Import, record the exemptions it carries, publish. False if it existed."""
    code = document["procedure"]["code"]
    if Procedure.objects.filter(code=code).exists():
        return False
    version = procedure_import(actor=None, document=document)
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
