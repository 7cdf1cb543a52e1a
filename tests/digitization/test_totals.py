"""The running totals behind the rates (digitization.totals): every service that
changes the inventory or the case reports leaves them equal to a recount, also
when an entry changes owner and when two departments report at the same moment;
the rates read from them equal the hand computation (test_metrics); the check
command finds a row that drifted and the rebuild repairs it."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import Organization
from digitization import services
from digitization.models import (
    STAGES,
    CaseReport,
    InventoryEntry,
    InventoryTotals,
    ReportedCaseTotals,
)
from digitization.totals import totals_mismatches
from procedures.services import procedure_retire
from tests.digitization.setup import (
    Government,
    month_of_previous_year,
    outside,
    previous_fiscal_year,
    report,
)
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def _totals(org) -> tuple[int, int, int, int]:
    row = InventoryTotals.objects.get(organization=org)
    return row.procedures, row.online_procedures, row.volume, row.online_volume


def _reported(org) -> dict[str, tuple[int, int]]:
    return {
        f"{row.month:%Y-%m}": (row.online_cases, row.offline_cases)
        for row in ReportedCaseTotals.objects.filter(organization=org)
    }


def _entry_data(entry: InventoryEntry, **changes) -> services.EntryData:
    data = services.EntryData(
        title_ja=entry.title_ja,
        organization=entry.organization,
        channel=entry.channel,
        annual_volume=entry.annual_volume,
        volume_fiscal_year=entry.volume_fiscal_year,
        online={stage: entry.stage_online(stage) for stage in STAGES},
    )
    return replace(data, **changes)


def test_the_stored_totals_are_the_inventory_of_each_organization(inventory):
    gov = inventory
    # food: A (1,000, every stage online) and B (400, attachments on paper).
    assert _totals(gov.food) == (2, 1, 1400, 1000)
    # certificates: C (500, online) and D (300); taxation: F is abolished.
    assert _totals(gov.certificates) == (2, 1, 800, 500)
    assert _totals(gov.taxation) == (0, 0, 0, 0)
    april, may = month_of_previous_year(0), month_of_previous_year(1)
    assert _reported(gov.certificates) == {
        f"{month_of_previous_year(-1):%Y-%m}": (1000, 0),
        f"{april:%Y-%m}": (40, 40),
    }
    assert _reported(gov.food) == {f"{may:%Y-%m}": (0, 20)}
    assert totals_mismatches() == []


def test_every_change_to_entries_and_reports_keeps_the_totals_equal_to_a_recount(inventory):
    gov = inventory
    outside("g-new", gov.food, 70, offline=["payment"])
    assert _totals(gov.food) == (3, 1, 1470, 1000)

    # D moves from certificates to the city, with its reported cases.
    d = InventoryEntry.objects.get(code="d-return")
    services.inventory_entry_update(
        actor=None, entry=d, data=_entry_data(d, organization=gov.city, annual_volume=350)
    )
    assert _totals(gov.certificates) == (1, 1, 500, 500)
    assert _totals(gov.city) == (2, 0, 550, 0)
    april = f"{month_of_previous_year(0):%Y-%m}"
    assert _reported(gov.certificates)[april] == (40, 10)
    assert _reported(gov.city)[april] == (0, 30)
    assert totals_mismatches() == []

    # A correction, a new month, and a whole file of them.
    report(InventoryEntry.objects.get(code="c-notice"), month_of_previous_year(0), 45, 5)
    report(InventoryEntry.objects.get(code="c-notice"), month_of_previous_year(2), 7, 3)
    services.case_reports_import(
        actor=None,
        data=(
            "procedure_code,month,online_cases,offline_cases\r\n"
            f"d-return,{april},1,29\r\ne-course,{april},2,8\r\n"
        ).encode(),
    )
    assert _reported(gov.certificates)[april] == (45, 5)
    assert _reported(gov.city)[april] == (3, 37)
    assert totals_mismatches() == []

    # A file that adds one entry and moves another back.
    year = previous_fiscal_year()
    services.inventory_import(
        actor=None,
        data=(
            "code,title_ja,title_en,organization,channel,annual_volume,fiscal_year,"
            "application_online,identity_online,payment_online,attachments_online,"
            "delivery_online,breaks,note\r\n"
            f"x-permit,許可,Permit,food,offline,1200,{year},0,1,1,0,1,hanko_less,\r\n"
            f"d-return,届出,Return,certificates,offline,300,{year},0,1,1,0,1,,\r\n"
        ).encode(),
    )
    assert _totals(gov.food) == (4, 1, 2670, 1000)
    assert _totals(gov.certificates) == (2, 1, 800, 500)
    assert _reported(gov.city)[april] == (2, 8)
    assert totals_mismatches() == []

    # A hosted procedure retired from the catalogue leaves the food department's figures.
    procedure_retire(actor=None, procedure=gov.a)
    services.catalogue_sync(force=True)
    assert _totals(gov.food) == (3, 0, 1670, 0)
    assert totals_mismatches() == []


def test_a_hosted_procedure_given_to_another_department_takes_its_figures_along(inventory):
    gov = inventory
    gov.a.owning_organization = gov.certificates
    gov.a.save(update_fields=["owning_organization"])
    services.catalogue_sync(force=True)
    assert _totals(gov.food) == (1, 0, 400, 0)
    assert _totals(gov.certificates) == (3, 2, 1800, 1500)
    assert _reported(gov.food) == {}
    assert _reported(gov.certificates)[f"{month_of_previous_year(1):%Y-%m}"] == (0, 20)
    assert totals_mismatches() == []


@pytest.mark.django_db(transaction=True)
def test_two_departments_reporting_the_same_month_at_once_are_both_counted():
    """Without the lock on the organization's totals, each transaction would
    recount without the other's uncommitted report and the last one to write
    would win: one report would be missing from the totals."""
    gov = Government()
    entries = [outside(f"r-{n}", gov.certificates, 100) for n in range(4)]
    month = month_of_previous_year(0)
    barrier = threading.Barrier(len(entries))
    failures: list[BaseException] = []

    def record(entry: InventoryEntry, offline: int) -> None:
        try:
            barrier.wait(timeout=10)
            services.case_report_record(
                actor=None, entry=entry, month=month, online_cases=0, offline_cases=offline
            )
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=record, args=(entry, 10 * (n + 1)))
        for n, entry in enumerate(entries)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert CaseReport.objects.count() == 4
    assert _reported(gov.certificates) == {f"{month:%Y-%m}": (0, 100)}
    assert totals_mismatches() == []


def test_the_check_command_finds_a_drifted_row_and_the_rebuild_repairs_it(inventory, capsys):
    call_command("digitization_totals", "--check")
    InventoryTotals.objects.filter(organization=inventory.food).update(volume=1)
    ReportedCaseTotals.objects.create(
        organization=OrganizationFactory(code="elsewhere"),
        month=month_of_previous_year(0),
        offline_cases=5,
    )
    with pytest.raises(CommandError, match="2 running totals differ"):
        call_command("digitization_totals", "--check")
    output = capsys.readouterr().out
    food = Organization.objects.get(code="food").pk
    assert f"organization {food}: stored" in output
    call_command("digitization_totals", "--rebuild")
    call_command("digitization_totals", "--check")
    assert _totals(inventory.food) == (2, 1, 1400, 1000)
