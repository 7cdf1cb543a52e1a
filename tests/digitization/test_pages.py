"""The auditors' pages as a new user tries them: the dashboard and its
drill-down, approving an exemption and seeing the rates change, the PDF report,
the audit-log viewer; who may open what; and what each page costs."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from digitization.models import ChainCheck
from procedures.models import Exemption, ExemptionStatus
from procedures.services import exemption_request, procedure_create
from tests.digitization.setup import outside, paper_original_definition, signed_in

pytestmark = pytest.mark.django_db

DASHBOARD = "/digitization/"


def _text(response) -> str:
    return unescape(response.content.decode())


def _headline(response) -> str:
    """The volume-weighted availability as the dashboard shows it."""
    match = re.search(r'figure__value">([^<]+)<', response.content.decode())
    assert match, "no headline figure"
    return match.group(1)


def test_the_dashboard_shows_both_rates_the_gap_the_charts_and_their_tables(inventory):
    response = signed_in(inventory.auditor).get(DASHBOARD, {"fiscal_year": inventory_year()})
    assert response.status_code == 200
    text = _text(response)
    assert _headline(response) == "79.2%"
    assert "3 of 5 procedures in force are digital" in text
    assert "452 cases a year must move to digital procedures" in text
    assert "Digitizing the 2 largest non-digital procedures would close the gap" in text
    assert "125 of 200 cases filed online" in text
    # Every chart is an image with a title and description, followed by its data.
    for chart in ("trend-chart", "departments-chart", "matrix-chart"):
        assert re.search(
            rf'<svg[^>]+id="{chart}" role="img" aria-labelledby="{chart}-title {chart}-desc"', text
        )
    assert "Data of the chart: figures of each organization" in text
    assert "Data of the chart: procedures in force per principle" in text
    assert 'href="/digitization/organizations/taxation/"' in text
    # No inline script or style anywhere (the CSP would refuse them).
    assert "<script>" not in text and " style=" not in text and "<style" not in text


def inventory_year() -> int:
    from tests.digitization.setup import previous_fiscal_year

    return previous_fiscal_year()


def test_drilling_down_to_a_bureau_shows_its_figures_and_breadcrumbs(inventory):
    client = signed_in(inventory.auditor)
    response = client.get(
        "/digitization/organizations/taxation/", {"fiscal_year": inventory_year()}
    )
    assert response.status_code == 200
    text = _text(response)
    assert _headline(response) == "62.5%"
    assert "1 of 2 procedures in force are digital" in text
    assert 'aria-current="page">主税局<' in text or "Taxation" in text
    assert "証明課" in text or "Certificates" in text


def test_approving_an_exemption_on_the_review_page_changes_the_dashboard(gov):
    gov.build_inventory()
    procedure = procedure_create(
        actor=None,
        organization=gov.food,
        code="g-waste",
        definition=paper_original_definition(),
        title_ja="廃棄物処理業の許可",
        category="environment",
        filer="business",
        processing_days=30,
    )
    outside("g-waste", gov.food, 600, offline=["attachments"])
    exemption = exemption_request(
        actor=None,
        procedure=procedure,
        principle="paperless",
        reason="省令",
        within_city_discretion=False,
    )
    client = signed_in(gov.auditor)
    assert _headline(client.get(DASHBOARD)) == "63.3%"  # 1900 / 3000
    review = client.get("/digitization/exemptions/")
    assert "Approving makes the procedure digital: +20.00 points" in _text(review)
    page = client.get(f"/digitization/exemptions/{exemption.pk}/")
    assert "add +20.00 points to the volume-weighted availability" in _text(page)

    # No review date: refused on the page, nothing decided.
    missing = client.post(f"/digitization/exemptions/{exemption.pk}/", {"decision": "approve"})
    assert missing.status_code == 400 and "Give a review date in the future." in _text(missing)
    review_date = timezone.localdate() + timedelta(days=120)
    response = client.post(
        f"/digitization/exemptions/{exemption.pk}/",
        {"decision": "approve", "review_date": review_date.isoformat(), "note": "省令改正まで"},
    )
    assert response.status_code == 302
    exemption.refresh_from_db()
    assert exemption.status == ExemptionStatus.APPROVED and exemption.review_date == review_date
    assert exemption.decided_by == gov.auditor
    assert AuditEvent.objects.filter(
        action="procedures.exemption_approved", actor_id=gov.auditor.pk
    ).exists()
    assert _headline(client.get(DASHBOARD)) == "83.3%"  # 2500 / 3000


def test_the_review_page_lists_expired_exemptions_as_no_longer_counted(inventory):
    Exemption.objects.filter(procedure=inventory.b).update(
        review_date=timezone.localdate() - timedelta(days=3)
    )
    text = _text(signed_in(inventory.auditor).get("/digitization/exemptions/"))
    expired = text.split("Review date passed: no longer counted")[1].split("<h2")[0]
    assert "b-licence" in expired
    assert "It stopped counting as digital: renewing would add" in expired


def test_the_pdf_report_has_the_figures_and_embeds_the_japanese_font(inventory):
    response = signed_in(inventory.auditor).get(
        "/digitization/report.pdf", {"fiscal_year": inventory_year()}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = b"".join(response.streaming_content) if response.streaming else response.content
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext") and shutil.which("pdffonts"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
        assert "79.2%" in text and "62.5%" in text and "452" in text
        fonts = subprocess.run(
            ["pdffonts", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
        assert "IPAex" in fonts


def test_the_audit_log_viewer_filters_and_shows_the_chain_verification(inventory):
    client = signed_in(inventory.auditor)
    response = client.get("/digitization/audit-log/", {"action": "procedures.*"})
    assert response.status_code == 200
    actions = set(re.findall(r"<code>([a-z_]+\.[a-z_]+)</code></a>", response.content.decode()))
    assert actions and all(action.startswith("procedures.") for action in actions)
    assert "The chain has not been verified yet." in _text(response)

    assert client.post("/digitization/audit-log/verify/").status_code == 302
    check = ChainCheck.objects.get()
    assert check.ok and check.requested_by == inventory.auditor
    text = _text(client.get("/digitization/audit-log/", {"actor": inventory.auditor.email}))
    assert "The chain was intact when verified at" in text
    assert "digitization.audit_chain_checked" in text
    platform = _text(
        client.get(
            "/digitization/audit-log/", {"actor": "platform", "target_type": "procedures.procedure"}
        )
    )
    assert "procedures.created" in platform
    bad = client.get(
        "/digitization/audit-log/", {"date_from": "2026-02-01", "date_to": "2026-01-01"}
    )
    assert bad.status_code == 400


def test_who_may_open_what(inventory):
    auditor, health_auditor = signed_in(inventory.auditor), signed_in(inventory.health_auditor)
    clerk, resident = signed_in(inventory.food_clerk), signed_in(inventory.resident)
    # Not logged in: to the login page.
    assert Client().get(DASHBOARD).status_code == 302
    # Without the role: forbidden, as elsewhere.
    for path in (
        DASHBOARD,
        "/digitization/gap/",
        "/digitization/report.pdf",
        "/digitization/exemptions/",
    ):
        assert resident.get(path).status_code == 403
        assert clerk.get(path).status_code == 403
    assert resident.get("/digitization/inventory/").status_code == 403
    assert resident.get("/digitization/reports/").status_code == 403
    assert clerk.get("/digitization/audit-log/").status_code == 403
    assert auditor.get("/digitization/reports/").status_code == 403
    # Departments see their own inventory only.
    assert clerk.get("/digitization/reports/").status_code == 200
    assert clerk.get("/digitization/inventory/a-permit/").status_code == 200
    assert clerk.get("/digitization/inventory/c-notice/").status_code == 404
    # A bureau's auditor: the bureau, not another one.
    assert health_auditor.get(DASHBOARD).status_code == 200
    assert health_auditor.get("/digitization/organizations/taxation/").status_code == 404
    assert health_auditor.get("/digitization/inventory/c-notice/").status_code == 404
    assert health_auditor.get("/digitization/report.pdf?organization=taxation").status_code == 404
    exemption = Exemption.objects.get(procedure=inventory.b)
    assert health_auditor.get(f"/digitization/exemptions/{exemption.pk}/").status_code == 200
    assert clerk.get(f"/digitization/exemptions/{exemption.pk}/").status_code == 403
    # The system admin reads the audit log; the open data is for everyone.
    assert signed_in(inventory.system_admin).get("/digitization/audit-log/").status_code == 200
    assert Client().get("/open-data/").status_code == 200


def test_the_navigation_offers_each_role_its_pages(inventory):
    def links(client) -> set[str]:
        text = client.get("/").content.decode()
        nav = (
            text.split('class="primary-nav"')[1].split("</nav>")[0]
            if 'class="primary-nav"' in text
            else ""
        )
        return set(re.findall(r'href="(/digitization/[a-z-]*/?|/open-data/)"', nav))

    assert links(signed_in(inventory.auditor)) >= {
        "/digitization/",
        "/digitization/audit-log/",
        "/open-data/",
    }
    assert "/digitization/reports/" in links(signed_in(inventory.food_clerk))
    assert links(signed_in(inventory.resident)) == {"/open-data/"}


# --- Cost ------------------------------------------------------------------------------------


def _queries(client, path, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params or {})
    assert response.status_code == 200, path
    return len(queries)


def _more_entries(gov, count: int) -> None:
    for index in range(count):
        outside(
            f"more-{index:03d}",
            gov.certificates if index % 2 else gov.food,
            10 + index,
            offline=["payment"] if index % 3 else [],
        )


@pytest.mark.parametrize(
    "path",
    [
        "/digitization/",
        "/digitization/inventory/",
        "/digitization/gap/",
        "/digitization/organizations/taxation/",
    ],
)
def test_pages_cost_the_same_number_of_queries_for_few_or_many_procedures(inventory, path):
    client = signed_in(inventory.auditor)
    client.get(path)  # the catalogue mirror settles
    few = _queries(client, path)
    _more_entries(inventory, 40)
    client.get(path)
    assert _queries(client, path) == few
    assert few <= 25, few


def test_the_open_data_page_costs_the_same_for_few_or_many_procedures(inventory):
    client = Client()
    client.get("/open-data/")
    few = _queries(client, "/open-data/")
    _more_entries(inventory, 40)
    client.get("/open-data/")
    assert _queries(client, "/open-data/") == few
