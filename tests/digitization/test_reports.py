"""Departments' case figures and inventory entries: by form, by CSV (a bad row is
named by its row and column, and nothing of the file is imported), and by API."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from audit.models import AuditEvent
from core.errors import NotFound, ValidationFailed
from digitization import services
from digitization.imports import ImportRejected
from digitization.models import CaseReport, Channel, InventoryEntry
from digitization.periods import add_months, month_start
from tests.digitization.setup import api, outside, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """The import errors are asserted in English (Japanese is the default)."""
    with translation.override("en"):
        yield


def _last_month() -> str:
    return f"{add_months(month_start(timezone.localdate()), -1):%Y-%m}"


def _csv(*rows: str, header: str = "procedure_code,month,online_cases,offline_cases") -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


def test_a_csv_with_a_bad_row_names_its_row_and_column_and_imports_nothing(inventory):
    month = _last_month()
    data = _csv(f"c-notice,{month},40,10", f"d-return,{month},0,forty", "d-return,2026-01,5,15")
    events, reports = AuditEvent.objects.count(), CaseReport.objects.count()
    with pytest.raises(ImportRejected) as caught:
        services.case_reports_import(actor=inventory.tax_admin, data=data, filename="cases.csv")
    assert caught.value.details == [
        {
            "row": 3,
            "column": "offline_cases",
            "message": "Enter a whole number of cases, 0 or more.",
        }
    ]
    assert CaseReport.objects.count() == reports
    assert AuditEvent.objects.count() == events


def test_the_upload_page_lists_the_problem_and_nothing_is_imported(inventory):
    client = signed_in(inventory.tax_admin)
    month = _last_month()
    upload = SimpleUploadedFile(
        "cases.csv",
        _csv(f"c-notice,{month},40,10", "d-return,2026-13,0,4"),
        content_type="text/csv",
    )
    response = client.post("/digitization/reports/", {"form": "file", "file": upload})
    assert response.status_code == 400
    text = unescape(response.content.decode())
    row = re.search(r"<td class=\"num\">3</td>\s*<td>month</td>\s*<td>([^<]+)</td>", text)
    assert row and "YYYY-MM" in row.group(1)
    assert "The file was not imported" in text
    assert not CaseReport.objects.filter(
        entry__code="c-notice", month__gte=add_months(month_start(timezone.localdate()), -1)
    ).exists()


def test_a_good_file_is_imported_whole_and_a_second_one_corrects_it(inventory):
    month = _last_month()
    result = services.case_reports_import(
        actor=inventory.tax_admin,
        data=_csv(f"c-notice,{month},40,10", f"d-return,{month},,30"),
        filename="cases.csv",
    )
    assert result == {"rows": 2, "created": 2, "updated": 0}
    result = services.case_reports_import(
        actor=inventory.tax_admin, data=_csv(f"c-notice,{month},41,9"), filename="fix.csv"
    )
    assert result == {"rows": 1, "created": 0, "updated": 1}
    report = CaseReport.objects.get(entry__code="c-notice", month=f"{month}-01")
    assert (report.online_cases, report.offline_cases) == (41, 9)
    event = AuditEvent.objects.filter(action="digitization.cases_imported").latest("sequence")
    assert event.data["rows"] == 1 and event.data["file"] == "fix.csv"


def test_shift_jis_files_with_japanese_headers_and_full_width_digits_are_read(inventory):
    month = _last_month()
    text = f"手続コード,年月,オンライン件数,オフライン件数\r\nc-notice,{month},１，２００,３０\r\n"
    services.case_reports_import(
        actor=inventory.tax_admin, data=text.encode("cp932"), filename="s.csv"
    )
    report = CaseReport.objects.get(entry__code="c-notice", month=f"{month}-01")
    assert (report.online_cases, report.offline_cases) == (1200, 30)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (["e-course,{month},1,1"], (2, "procedure_code")),  # the city's, not taxation's
        (["nope,{month},1,1"], (2, "procedure_code")),
        (["c-notice,2999-01,1,1"], (2, "month")),
        (["c-notice,{month},1,1", "c-notice,{month},2,2"], (3, "month")),
        (["c-notice,{month},-1,1"], (2, "online_cases")),
    ],
)
def test_each_kind_of_bad_row_is_reported_where_it_is(inventory, rows, expected):
    data = _csv(*[row.format(month=_last_month()) for row in rows])
    with pytest.raises(ImportRejected) as caught:
        services.case_reports_import(actor=inventory.tax_admin, data=data)
    assert (caught.value.details[0]["row"], caught.value.details[0]["column"]) == expected


def test_a_header_without_a_column_is_refused(inventory):
    with pytest.raises(ImportRejected) as caught:
        services.case_reports_import(
            actor=inventory.tax_admin,
            data=_csv("c-notice,2026-04,1", header="procedure_code,month,online_cases"),
        )
    assert caught.value.details[0]["row"] == 1
    assert caught.value.details[0]["column"] == "offline_cases"


def test_the_platform_counts_its_own_online_cases(inventory):
    entry = inventory.a_entry
    month = add_months(month_start(timezone.localdate()), -1)
    with pytest.raises(ValidationFailed) as caught:
        services.case_report_record(
            actor=None, entry=entry, month=month, online_cases=5, offline_cases=1
        )
    assert "online_cases" in caught.value.details
    services.case_report_record(
        actor=None, entry=entry, month=month, online_cases=0, offline_cases=7
    )
    with pytest.raises(ImportRejected) as file_caught:
        services.case_reports_import(actor=None, data=_csv(f"a-permit,{month:%Y-%m},3,1"))
    assert file_caught.value.details[0]["column"] == "online_cases"


def test_recording_by_form_replaces_the_month_and_is_audited(inventory):
    client = signed_in(inventory.tax_admin)
    month = _last_month()
    data = {
        "form": "one",
        "procedure_code": "d-return",
        "month": month,
        "online_cases": "2",
        "offline_cases": "28",
    }
    assert client.post("/digitization/reports/", data).status_code == 302
    data["offline_cases"] = "27"
    assert client.post("/digitization/reports/", data).status_code == 302
    report = CaseReport.objects.get(entry__code="d-return", month=f"{month}-01")
    assert (report.online_cases, report.offline_cases, report.reported_by) == (
        2,
        27,
        inventory.tax_admin,
    )
    event = AuditEvent.objects.filter(action="digitization.cases_reported").latest("sequence")
    assert event.data["previous"] == {"online": 2, "offline": 28}
    assert event.actor_id == inventory.tax_admin.pk


def test_another_departments_procedure_does_not_exist_for_a_reporter(inventory):
    with pytest.raises(NotFound):
        services.case_report_record(
            actor=inventory.food_clerk,
            entry=inventory.c,
            month=month_start(timezone.localdate()),
            online_cases=1,
            offline_cases=1,
        )
    client = signed_in(inventory.food_clerk)
    response = client.post(
        "/digitization/reports/",
        {"form": "one", "procedure_code": "c-notice", "month": _last_month(), "offline_cases": "1"},
    )
    assert response.status_code == 400
    assert "not a procedure of the inventory that you report for" in unescape(
        response.content.decode()
    )


def test_case_figures_through_the_api(inventory):
    client = api(inventory.tax_admin)
    month = _last_month()
    response = client.post(
        "/api/v1/digitization/case-reports/",
        {"procedure": "c-notice", "month": month, "online_cases": 3, "offline_cases": 4},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["month"] == month
    bad = client.post(
        "/api/v1/digitization/case-reports/import/",
        {"file": SimpleUploadedFile("x.csv", _csv(f"c-notice,{month},x,1"))},
        format="multipart",
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "import_rejected"
    assert bad.json()["error"]["details"] == [
        {"row": 2, "column": "online_cases", "message": "Enter a whole number of cases, 0 or more."}
    ]
    assert api(inventory.resident).get("/api/v1/digitization/case-reports/").status_code == 403
    listed = client.get("/api/v1/digitization/case-reports/?procedure=c-notice").json()
    assert listed["results"][0]["month"] == month
    assert (
        client.post(
            "/api/v1/digitization/case-reports/",
            {"procedure": "e-course", "month": month, "offline_cases": 1},
            format="json",
        ).status_code
        == 404
    )


# --- Inventory entries -------------------------------------------------------------------------


INVENTORY_HEADER = (
    "code,title_ja,title_en,organization,channel,annual_volume,fiscal_year,"
    "application_online,identity_online,payment_online,attachments_online,delivery_online,breaks,note"
)


def test_an_inventory_file_is_imported_whole_or_not_at_all(inventory):
    year = timezone.localdate().year - 2
    good = f"x-permit,許可,Permit,certificates,offline,1200,{year},0,1,1,0,1,hanko_less,"
    bad = f"y-notice,届出,,certificates,sometimes,30,{year},1,1,1,1,1,,"
    data = _csv(good, bad, header=INVENTORY_HEADER)
    with pytest.raises(ImportRejected) as caught:
        services.inventory_import(actor=inventory.tax_admin, data=data)
    assert caught.value.details == [
        {"row": 3, "column": "channel", "message": "Write other_online or offline."}
    ]
    assert not InventoryEntry.objects.filter(code__in=["x-permit", "y-notice"]).exists()

    result = services.inventory_import(
        actor=inventory.tax_admin, data=_csv(good, header=INVENTORY_HEADER)
    )
    assert result == {"rows": 1, "created": 1, "updated": 0}
    entry = InventoryEntry.objects.get(code="x-permit")
    assert (entry.channel, entry.stages_online, entry.fails_hanko_less, entry.fails_paperless) == (
        Channel.OFFLINE,
        False,
        True,
        True,
    )
    assert entry.stage_principles == {"application": ["paperless"], "attachments": ["paperless"]}


def test_an_inventory_file_cannot_touch_hosted_or_other_departments_procedures(inventory):
    year = timezone.localdate().year - 2
    rows = [
        f"a-permit,許可,,certificates,offline,1,{year},0,1,1,1,1,,",
        f"e-course,講習,,certificates,offline,1,{year},0,1,1,1,1,,",
        f"z-new,新規,,health,offline,1,{year},0,1,1,1,1,,",
    ]
    with pytest.raises(ImportRejected) as caught:
        services.inventory_import(
            actor=inventory.tax_admin, data=_csv(*rows, header=INVENTORY_HEADER)
        )
    assert [(d["row"], d["column"]) for d in caught.value.details] == [
        (2, "code"),
        (3, "code"),
        (4, "organization"),
    ]


def test_a_procedure_outside_the_platform_is_recorded_and_changed_by_its_department(inventory):
    client = signed_in(inventory.tax_admin)
    year = timezone.localdate().year - 2
    form = {
        "code": "k-permit",
        "title_ja": "許可の申請",
        "title_en": "",
        "organization": inventory.certificates.pk,
        "channel": "other_online",
        "annual_volume": "1500",
        "volume_fiscal_year": str(year),
        "stages": ["application", "identity", "payment", "delivery"],
        "breaks": [],
        "note": "",
        "active": "on",
    }
    response = client.post("/digitization/inventory/new/", form)
    assert response.status_code == 302, unescape(response.content.decode())
    entry = InventoryEntry.objects.get(code="k-permit")
    assert not entry.stages_online and entry.stage_principles == {"attachments": ["paperless"]}
    form["stages"].append("attachments")
    del form["code"]
    assert client.post("/digitization/inventory/k-permit/edit/", form).status_code == 302
    assert InventoryEntry.objects.get(code="k-permit").stages_online
    actions = list(
        AuditEvent.objects.filter(
            target_type="digitization.inventoryentry", target_id=str(entry.pk)
        )
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == ["digitization.entry_created", "digitization.entry_updated"]
    # Hosted procedures are not edited by hand; others' are not found.
    assert client.get("/digitization/inventory/e-course/edit/").status_code == 404
    response = signed_in(inventory.food_clerk).get("/digitization/inventory/a-permit/edit/")
    assert response.status_code == 302


def test_an_offline_channel_with_every_stage_online_is_refused(inventory):
    with pytest.raises(ValidationFailed) as caught:
        outside("w-odd", inventory.certificates, 10, channel=Channel.OFFLINE)
    assert "channel" in caught.value.details


def test_outside_entries_through_the_api(inventory):
    client = api(inventory.tax_admin)
    body = {
        "code": "api-notice",
        "title_ja": "届出",
        "organization": "certificates",
        "channel": "offline",
        "annual_volume": 90,
        "volume_fiscal_year": timezone.localdate().year - 2,
        "online_stages": ["identity", "payment", "attachments", "delivery"],
        "breaks": ["fax_less"],
    }
    created = client.post("/api/v1/digitization/procedures/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["stages"]["application"] == "offline"
    assert created.json()["principles"]["fax_less"] == "fail"
    assert client.post("/api/v1/digitization/procedures/", body, format="json").status_code == 409
    body["online_stages"].append("application")
    body["channel"] = "other_online"
    changed = client.put("/api/v1/digitization/procedures/api-notice/", body, format="json")
    assert changed.status_code == 200 and changed.json()["digital"] is True
    # An auditor reads the inventory but does not record in it.
    assert (
        api(inventory.auditor)
        .post("/api/v1/digitization/procedures/", body, format="json")
        .status_code
        == 403
    )
