"""The auditors' numbers: availability by count and by volume, usage, the
five-less matrix and the gap, against a hand computation; exemptions that are
approved, in force, or past their review date; the catalogue mirrored."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Q
from django.utils import timezone

from digitization import metrics, selectors, services
from digitization.assessment import assess_definition
from digitization.models import Channel, InventoryEntry
from procedures.models import Exemption
from procedures.services import (
    exemption_decide,
    exemption_request,
    procedure_create,
    procedure_retire,
    procedure_update,
    version_publish,
)
from tests.digitization.setup import (
    hosted,
    outside,
    paper_original_definition,
    previous_fiscal_year,
)
from tests.factories import valid_definition

pytestmark = pytest.mark.django_db


def _overview(gov, **options):
    return selectors.overview(gov.auditor, fiscal_year=previous_fiscal_year(), **options)


def test_rates_equal_a_hand_computation(inventory):
    """The inventory of tests/digitization/setup.py, by hand.

    In force (F is abolished and does not count):

        A  hosted, food           1,000  every stage online                          digital
        B  hosted, food             400  paper original (attachments offline),
                                         paperless exemption in force                 digital
        C  outside, certificates    500  every stage online                          digital
        D  outside, certificates    300  application and attachments offline         not digital
        E  outside, city            200  fee paid offline; a seal (hanko-less)        not digital

    Availability by count  = 3 / 5 = 60%
    Availability by volume = (1000 + 400 + 500) / (1000 + 400 + 500 + 300 + 200)
                           = 1900 / 2400 = 79.1667%

    Usage in the previous fiscal year (April to March):
        online  = 80 (A, filed on the platform) + 40 (C) + 0 (D) + 5 (E) = 125
        offline = 10 (C) + 30 (D) + 15 (E) + 20 (A, paper at a counter)  =  75
        usage   = 125 / 200 = 62.5%     (C's 1,000 of the March before are outside it)

    Gap to 98%: ceil(0.98 × 2400) = 2352, so 2352 − 1900 = 452 cases short. The
    largest non-digital procedure, D (300), is not enough; D + E (500) is: 2
    procedures. By count: ceil(0.98 × 5) = 5, so 5 − 3 = 2 procedures short.

    Five-less (pass / exempt / fail): paperless 3 / 1 / 1 (B exempt, D's paper
    filing fails), hanko-less 4 / 0 / 1 (E's seal), cashless 4 / 0 / 1 (E's fee),
    FAX-less 5 / 0 / 0, touchless 5 / 0 / 0.

    Taxation (C and D; F is not in force): 1 of 2 digital, 500 / 800 = 62.5% by
    volume, usage (40 + 0) / (40 + 10 + 0 + 30) = 50%. Health (A and B): 100%."""
    overview = _overview(inventory)
    figures = overview.figures
    assert (figures.procedures, figures.digital_procedures) == (5, 3)
    assert (figures.volume, figures.digital_volume) == (2400, 1900)
    assert figures.availability_by_count == Decimal("0.6")
    assert figures.availability_by_volume == Decimal(1900) / Decimal(2400)
    assert figures.as_dict()["availability_by_volume"] == 0.791667
    assert (figures.online_cases, figures.offline_cases) == (125, 75)
    assert figures.usage == Decimal("0.625")

    gap = overview.gap
    assert (gap.cases_short, gap.procedures_needed, gap.count_short) == (452, 2, 2)
    assert not gap.reached

    assert figures.matrix == {
        "paperless": {"pass": 3, "exempt": 1, "fail": 1},
        "hanko_less": {"pass": 4, "exempt": 0, "fail": 1},
        "cashless": {"pass": 4, "exempt": 0, "fail": 1},
        "fax_less": {"pass": 5, "exempt": 0, "fail": 0},
        "touchless": {"pass": 5, "exempt": 0, "fail": 0},
    }

    by_code = {org.code: f for org, f in overview.children}
    assert by_code["taxation"].availability_by_volume == Decimal("0.625")
    assert (by_code["taxation"].procedures, by_code["taxation"].digital_procedures) == (2, 1)
    assert by_code["taxation"].usage == Decimal("0.5")
    assert by_code["health"].availability_by_volume == 1
    assert [row.entry.code for row in overview.ranked] == ["d-return", "e-course"]


def test_sql_and_python_agree_on_every_entry(inventory):
    today = timezone.localdate()
    entries = InventoryEntry.objects.all()
    in_sql = set(entries.filter(metrics.digital_condition(today)).values_list("code", flat=True))
    in_python = {row.entry.code for row in selectors.entry_rows(entries, today) if row.digital}
    assert in_sql == in_python == {"a-permit", "b-licence", "c-notice"}
    for principle in ("paperless", "hanko_less", "cashless"):
        for status, condition in metrics.principle_conditions(principle, today).items():
            sql = set(entries.filter(condition).values_list("code", flat=True))
            python = {
                row.entry.code
                for row in selectors.entry_rows(entries, today)
                if dict(row.principles)[principle] == status
            }
            assert sql == python, (principle, status)


@pytest.mark.parametrize("expired", [False, True])
def test_the_linked_entries_read_in_python_agree_with_the_sql_conditions(inventory, expired):
    """metrics.linked_entries applies the exemptions in Python to the entries
    linked to the catalogue; the SQL conditions (used by the filters) must pick
    the same entries, also once the exemption has passed its review date."""
    today = timezone.localdate()
    if expired:
        Exemption.objects.filter(procedure=inventory.b).update(
            review_date=today - timedelta(days=1)
        )
    linked = metrics.linked_entries(None, today)
    entries = InventoryEntry.objects.filter(active=True, procedure__isnull=False)
    covered = entries.filter(Q(stages_online=False) & metrics.covered_condition(today))
    assert linked.covered_ids == set(covered.values_list("pk", flat=True))
    assert linked.covered_ids == (set() if expired else {inventory.b_entry.pk})
    for principle in metrics.PRINCIPLES:
        exempt = entries.filter(metrics.principle_conditions(principle, today)["exempt"]).count()
        in_python = sum(counts[principle] for counts in linked.exempt.values())
        assert in_python == exempt, principle
    assert linked.owners == {inventory.a.pk: inventory.food.pk, inventory.b.pk: inventory.food.pk}


def test_organizations_add_up_to_their_parent(inventory):
    overview = _overview(inventory)
    city = inventory.city
    rolled = overview.by_organization
    children = [org for org in overview.scope.organizations if org.parent_id == city.pk]
    own = metrics.figures_by_organization([city.pk], overview.period, overview.today).get(
        city.pk, metrics.Figures()
    )
    assert (
        metrics.total([rolled[org.pk] for org in children] + [own]).counts()
        == rolled[city.pk].counts()
    )


def test_an_expired_exemption_stops_counting_and_its_review_day_still_counts(inventory):
    today = timezone.localdate()
    exemption = Exemption.objects.get(procedure=inventory.b)
    # The review date is inclusive: on that day the exemption still counts.
    Exemption.objects.filter(pk=exemption.pk).update(review_date=today)
    assert _overview(inventory).figures.digital_volume == 1900
    Exemption.objects.filter(pk=exemption.pk).update(review_date=today - timedelta(days=1))
    overview = _overview(inventory)
    assert overview.figures.digital_volume == 1500
    assert overview.figures.digital_procedures == 2
    assert overview.figures.matrix["paperless"] == {"pass": 3, "exempt": 0, "fail": 2}
    assert overview.exemptions["expired"] == 1
    assert overview.exemptions["in_force"] == 0
    row = selectors.entry_rows([inventory.b_entry], today)[0]
    assert not row.digital and row.offline_stages == ["attachments"]
    expired = selectors.exemptions_in_state(Exemption.objects.all(), "expired", today)
    assert list(expired) == [exemption]


def test_the_dashboard_counts_exemptions_by_state_within_the_scope(inventory):
    """Read once with the exemptions that make entries digital: requested ones,
    those in force (and among them those due for review within 60 days), those past
    their review date; refused ones and those of procedures outside the scope not."""
    today = timezone.localdate()

    def exemption(procedure, principle, status, review_days=None):
        Exemption.objects.create(
            procedure=procedure,
            principle=principle,
            reason="法令",
            within_city_discretion=False,
            status=status,
            review_date=today + timedelta(days=review_days) if review_days is not None else None,
        )

    exemption(inventory.a, "hanko_less", "requested")
    exemption(inventory.a, "cashless", "approved", review_days=60)  # due soon, last day
    exemption(inventory.a, "touchless", "approved", review_days=-1)  # expired
    exemption(inventory.a, "fax_less", "refused", review_days=30)
    elsewhere = hosted("t-permit", inventory.certificates, 10)
    exemption(elsewhere, "paperless", "requested")
    exemption(elsewhere, "cashless", "approved", review_days=5)

    # B's paperless exemption (review in 365 days) is in force, not due soon.
    city = _overview(inventory).exemptions
    assert city == {"requested": 2, "in_force": 3, "due_soon": 2, "expired": 1}
    health = selectors.overview(inventory.health_auditor, fiscal_year=previous_fiscal_year())
    assert health.exemptions == {"requested": 1, "in_force": 2, "due_soon": 1, "expired": 1}


def test_approving_an_exemption_makes_a_prepared_procedure_digital(gov):
    """A department prepares a procedure in the builder (a draft whose attachments
    must be paper originals) and records it in the inventory; the rates change
    when an auditor approves the paperless exemption, by its volume exactly."""
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
        annual_volume=600,
    )
    entry = outside("g-waste", gov.food, 600, offline=["attachments"])
    assert entry.procedure_id == procedure.pk and entry.channel == Channel.OTHER_ONLINE
    exemption = exemption_request(
        actor=None,
        procedure=procedure,
        principle="paperless",
        reason="省令が原本を求めている",
        within_city_discretion=False,
    )
    before = _overview(gov).figures
    assert (before.volume, before.digital_volume) == (3000, 1900)
    effect = selectors.exemption_effects([exemption], before.volume, timezone.localdate())[
        exemption.pk
    ]
    assert effect.changes and effect.points == Decimal(600 * 100) / Decimal(3000)

    exemption_decide(
        actor=gov.auditor,
        exemption=exemption,
        approve=True,
        review_date=timezone.localdate() + timedelta(days=200),
    )
    after = _overview(gov).figures
    assert after.digital_volume == before.digital_volume + 600
    assert after.digital_procedures == before.digital_procedures + 1
    assert after.availability_by_volume == Decimal(2500) / Decimal(3000)
    assert after.matrix["paperless"]["exempt"] == before.matrix["paperless"]["exempt"] + 1


def test_a_refused_exemption_changes_nothing(gov):
    gov.build_inventory()
    procedure = procedure_create(
        actor=None,
        organization=gov.food,
        code="h-permit",
        definition=paper_original_definition(),
        title_ja="許可",
        category="other",
        filer="business",
        processing_days=30,
    )
    outside("h-permit", gov.food, 100, offline=["attachments"])
    exemption = exemption_request(
        actor=None,
        procedure=procedure,
        principle="paperless",
        reason="r",
        within_city_discretion=True,
    )
    before = _overview(gov).figures.counts()
    exemption_decide(actor=gov.auditor, exemption=exemption, approve=False)
    assert _overview(gov).figures.counts() == before


def test_hosted_procedures_are_mirrored_from_the_catalogue(gov):
    procedure = procedure_create(
        actor=None,
        organization=gov.food,
        code="m-permit",
        definition=valid_definition(),
        title_ja="営業許可",
        category="other",
        filer="business",
        processing_days=5,
        annual_volume=700,
    )
    services.catalogue_sync()
    assert not InventoryEntry.objects.filter(code="m-permit").exists()  # a draft only
    version = version_publish(actor=None, version=procedure.versions.get())
    entry = gov.entry("m-permit")
    assert entry.channel == Channel.PLATFORM and entry.active and entry.stages_online
    assert (entry.annual_volume, entry.assessed_version_id) == (700, version.pk)

    procedure_update(actor=None, procedure=procedure, annual_volume=900)
    assert gov.entry("m-permit").annual_volume == 900

    procedure_retire(actor=None, procedure=procedure)
    retired = gov.entry("m-permit")
    assert not retired.active and retired.channel == Channel.PLATFORM


def test_each_finding_keeps_its_stage_offline():
    definition = valid_definition()
    definition["workflow"]["identity_check"] = "in_person"
    definition["delivery"]["methods"] = ["electronic", "counter_pickup"]
    definition["fee"]["methods"] = ["card", "cash"]
    definition["contact"]["channels"] = ["email", "fax"]
    definition["form"]["steps"][0]["fields"][0]["help"] = {
        "ja": "印鑑を押してください",
        "en": "Seal it",
    }
    assessment = assess_definition(definition)
    assert assessment.online == {
        "application": False,
        "identity": False,
        "payment": False,
        "attachments": True,
        "delivery": False,
    }
    assert assessment.stage_principles == {
        "application": ["hanko_less", "fax_less"],
        "identity": ["touchless"],
        "payment": ["cashless"],
        "delivery": ["touchless"],
    }
    assert assessment.fails == {
        "paperless": False,
        "hanko_less": True,
        "cashless": True,
        "fax_less": True,
        "touchless": True,
    }
    assert assess_definition(paper_original_definition()).stage_principles == {
        "attachments": ["paperless"]
    }


def test_reaching_the_target_leaves_no_gap(inventory, settings):
    settings.DIGITIZATION_TARGET = 0.75
    gap = _overview(inventory).gap
    assert gap.reached and gap.cases_short == 0 and gap.procedures_needed == 0
    assert gap.count_short == 1  # ceil(0.75 × 5) = 4 digital needed, 3 are
