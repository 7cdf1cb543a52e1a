"""The demo inventory (seed_demo) and the government-sized one (seed_inventory)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEvent
from digitization import selectors
from digitization.inventory_seed import SeedOptions, volumes
from digitization.models import CaseReport, InventoryEntry, Snapshot
from procedures.models import Exemption, ExemptionStatus
from procedures.services import exemption_decide

pytestmark = pytest.mark.django_db


def test_the_volumes_are_skewed_like_the_real_inventory():
    options = SeedOptions(count=30_000)
    found = volumes(options)
    assert len(found) == 30_000
    assert found == sorted(found, reverse=True)
    share = sum(found[:169]) / sum(found)
    assert 0.975 <= share <= 0.985
    assert min(found) >= 1
    assert abs(sum(found) - options.total_cases) / options.total_cases < 0.001


def test_seed_inventory_builds_a_skewed_inventory_once(db):
    call_command(
        "seed_inventory", "--count", "3000", "--total-cases", "3000000", stdout=io.StringIO()
    )
    entries = InventoryEntry.objects.filter(code__startswith="inv-")
    assert entries.count() == 3000
    top = entries.order_by("-annual_volume")[:169]
    top_volume = sum(entry.annual_volume for entry in top)
    total = entries.aggregate(v=Sum("annual_volume"))["v"]
    assert 0.97 <= top_volume / total <= 0.99
    digital_top = sum(1 for entry in top if entry.stages_online)
    digital_tail = entries.filter(stages_online=True).count() - digital_top
    assert digital_top / 169 > 0.85  # most of the top is digital
    assert digital_tail / (3000 - 169) < 0.25  # most of the tail is not
    assert CaseReport.objects.filter(entry__code__startswith="inv-").exists()
    assert Snapshot.objects.exists()
    counts = (
        entries.count(),
        CaseReport.objects.count(),
        AuditEvent.objects.filter(action="digitization.inventory_seeded").count(),
    )
    call_command(
        "seed_inventory",
        "--count",
        "3000",
        "--total-cases",
        "3000000",
        "--no-snapshot",
        stdout=io.StringIO(),
    )
    assert (
        entries.count(),
        CaseReport.objects.count(),
        AuditEvent.objects.filter(action="digitization.inventory_seeded").count(),
    ) == counts


def test_the_demo_lets_the_auditor_approve_an_exemption_and_see_the_rates_change(db):
    call_command("seed_demo", stdout=io.StringIO())
    auditor = User.objects.get(email="auditor@example.jp")
    before = selectors.overview(auditor)
    assert before.figures.procedures >= 25 and len(before.trend) == 13
    assert not before.gap.reached
    exemption = Exemption.objects.get(procedure__code="industrial-waste-license")
    assert exemption.status == ExemptionStatus.REQUESTED
    exemption_decide(
        actor=auditor,
        exemption=exemption,
        approve=True,
        review_date=timezone.localdate() + timedelta(days=180),
    )
    after = selectors.overview(auditor)
    assert after.figures.digital_volume == before.figures.digital_volume + 48_000
    assert after.figures.availability_by_volume > before.figures.availability_by_volume
