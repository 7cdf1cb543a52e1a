"""The demo seed (bin/serve runs it on every start) loads the same data every time,
and says the same about the catalogue on the first start as on the next."""

import io
import re

import pytest
from django.core.management import call_command

from applications.models import Application
from digitization.models import InventoryEntry
from procedures.demo import demo_documents
from procedures.models import Exemption, Procedure, ProcedureVersion
from procedures.selectors import published_procedures

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _catalogue_line(report: str) -> str:
    lines = [line for line in report.splitlines() if line.startswith("Procedures:")]
    assert len(lines) == 1, report
    return lines[0]


def _demo_data() -> dict:
    return {
        "procedures": sorted(Procedure.objects.values_list("code", "status")),
        "versions": sorted(
            ProcedureVersion.objects.values_list("procedure__code", "number", "state")
        ),
        "catalogue": sorted(published_procedures().values_list("code", flat=True)),
        "exemptions": sorted(
            Exemption.objects.values_list("procedure__code", "principle", "status")
        ),
        "applications": sorted(
            Application.objects.values_list("procedure__code", "applicant__email", "status")
        ),
        "inventory": sorted(InventoryEntry.objects.values_list("code", flat=True)),
    }


def test_a_second_seed_reports_the_same_catalogue_and_changes_no_demo_data():
    first_report = _seed()
    first = _demo_data()
    second_report = _seed()

    assert _demo_data() == first
    assert _catalogue_line(second_report) == _catalogue_line(first_report)
    # The line counts what the public catalogue lists: the eight demo documents,
    # not the builder's draft a later seeder adds (which made it 8, then 9).
    demo_codes = sorted(document["procedure"]["code"] for document in demo_documents())
    assert first["catalogue"] == demo_codes
    assert "industrial-waste-license" in dict(first["procedures"])
    count = int(re.search(r"(\d+) published in the catalogue", first_report).group(1))
    assert count == len(demo_codes) == 8
