"""What the digitization tests share: a small government with an inventory whose
figures are computed by hand in test_metrics.py, staff in each role, and
clients for pages (password and one-time code) and the API (bearer token)."""

from __future__ import annotations

from datetime import date, timedelta

from django.test import Client
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import OrganizationKind, Role
from applications.models import CaseCount
from digitization import services
from digitization.models import STAGES, CaseReport, Channel, InventoryEntry
from digitization.periods import fiscal_year_of, fiscal_year_start
from procedures.services import (
    exemption_decide,
    exemption_request,
    procedure_create,
    version_publish,
)
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
    confirmed_totp,
    current_code,
    valid_definition,
)


def paper_original_definition() -> dict:
    """Valid, online in every respect but one: the paper original of a certificate."""
    definition = valid_definition()
    definition["form"]["steps"][0]["fields"].append(
        {
            "key": "certificate",
            "type": "file",
            "label": {"ja": "証明書", "en": "Certificate"},
            "required": True,
            "paper_original_required": True,
            "accept": ["pdf"],
            "max_size_mb": 5,
            "max_files": 1,
        }
    )
    return definition


def hosted(
    code: str, organization, volume: int, *, definition=None, exempt_from=(), review_days=365
):
    """A procedure published on the platform, with approved exemptions for what
    its definition breaks."""
    procedure = procedure_create(
        actor=None,
        organization=organization,
        code=code,
        definition=definition or valid_definition(),
        title_ja=f"{code} の申請",
        title_en=f"{code} application",
        category="other",
        filer="individual",
        processing_days=5,
        annual_volume=volume,
    )
    for principle in exempt_from:
        exemption = exemption_request(
            actor=None,
            procedure=procedure,
            principle=principle,
            reason="法令が原本を求めている",
            within_city_discretion=False,
        )
        exemption_decide(
            actor=None,
            exemption=exemption,
            approve=True,
            review_date=timezone.localdate() + timedelta(days=review_days),
        )
    version_publish(actor=None, version=procedure.versions.get())
    return procedure


def outside(
    code: str, organization, volume: int, *, offline=(), breaks=(), channel=None, active=True
):
    """A procedure outside the platform, as its department records it."""
    online = {stage: stage not in offline for stage in STAGES}
    channel = channel or (Channel.OTHER_ONLINE if online["application"] else Channel.OFFLINE)
    return services.inventory_entry_create(
        actor=None,
        code=code,
        data=services.EntryData(
            title_ja=f"{code} の届出",
            title_en=f"{code} notice",
            organization=organization,
            channel=channel,
            annual_volume=volume,
            volume_fiscal_year=fiscal_year_of(timezone.localdate()) - 1,
            online=online,
            breaks=tuple(breaks),
            active=active,
        ),
    )


def previous_fiscal_year() -> int:
    return fiscal_year_of(timezone.localdate()) - 1


def month_of_previous_year(offset: int) -> date:
    """April of the previous fiscal year plus `offset` months."""
    start = fiscal_year_start(previous_fiscal_year())
    index = start.month - 1 + offset
    return date(start.year + index // 12, index % 12 + 1, 1)


def report(entry: InventoryEntry, month: date, online: int, offline: int) -> CaseReport:
    """Through the service, which keeps the running totals."""
    return services.case_report_record(
        actor=None, entry=entry, month=month, online_cases=online, offline_cases=offline
    )


def platform_filings(procedure, month: date, count: int) -> CaseCount:
    """What the submission service keeps (applications.services._count_case)."""
    return CaseCount.objects.create(procedure=procedure, month=month, online_filings=count)


class Government:
    """city (government) > health (bureau) > food (department)
                         > taxation (bureau) > certificates (department)

    and the inventory of test_metrics.test_rates_equal_a_hand_computation."""

    def __init__(self) -> None:
        self.city = OrganizationFactory(code="city", name_ja="市", name_en="City")
        self.health = OrganizationFactory(
            code="health",
            name_ja="保健局",
            name_en="Health",
            parent=self.city,
            kind=OrganizationKind.BUREAU,
        )
        self.food = OrganizationFactory(
            code="food", name_ja="食品課", name_en="Food", parent=self.health
        )
        self.taxation = OrganizationFactory(
            code="taxation",
            name_ja="主税局",
            name_en="Taxation",
            parent=self.city,
            kind=OrganizationKind.BUREAU,
        )
        self.certificates = OrganizationFactory(
            code="certificates", name_ja="証明課", name_en="Certificates", parent=self.taxation
        )
        self.auditor = staff(self.city, Role.AUDITOR)
        self.health_auditor = staff(self.health, Role.AUDITOR)
        self.food_clerk = staff(self.food, Role.CLERK)
        self.tax_admin = staff(self.taxation, Role.DEPARTMENT_ADMIN)
        self.system_admin = staff(self.city, Role.SYSTEM_ADMIN)
        self.resident = UserFactory(preferred_language="en")

    def build_inventory(self) -> None:
        """A..F of the hand computation."""
        self.a = hosted("a-permit", self.food, 1000)
        self.b = hosted(
            "b-licence",
            self.food,
            400,
            definition=paper_original_definition(),
            exempt_from=["paperless"],
        )
        self.c = outside("c-notice", self.certificates, 500)
        self.d = outside("d-return", self.certificates, 300, offline=["application", "attachments"])
        self.e = outside("e-course", self.city, 200, offline=["payment"], breaks=["hanko_less"])
        self.f = outside(
            "f-abolished", self.taxation, 10_000, offline=["application"], active=False
        )
        april, may = month_of_previous_year(0), month_of_previous_year(1)
        platform_filings(self.a, april, 80)
        report(self.c, april, 40, 10)
        report(self.d, april, 0, 30)
        report(self.e, may, 5, 15)
        report(self.a_entry, may, 0, 20)
        # Outside the period: the March before it.
        report(self.c, month_of_previous_year(-1), 1000, 0)

    def entry(self, code: str) -> InventoryEntry:
        services.catalogue_sync()
        return InventoryEntry.objects.get(code=code)

    @property
    def a_entry(self) -> InventoryEntry:
        return self.entry("a-permit")

    @property
    def b_entry(self) -> InventoryEntry:
        return self.entry("b-licence")


def staff(organization, role: str):
    user = MembershipFactory(organization=organization, role=role).user
    user.preferred_language = "en"
    user.save(update_fields=["preferred_language"])
    return user


def signed_in(user) -> Client:
    """Password and one-time code, as staff log in."""
    client = Client()
    device = confirmed_totp(user)
    client.post("/accounts/login/", {"email": user.email, "password": "Correct-horse-42"})
    if user.memberships.exists():
        assert client.post("/accounts/2fa/", {"token": current_code(device)}).status_code == 302
    return client


def api(user=None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        _instance, token = AuthToken.objects.create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client
