"""Demo inventory: a small, realistic picture of a metropolitan government, so the
auditor's dashboard has something to show on the first login (the 30,000-type
inventory is `manage.py seed_inventory`, see docs/digitization.md).

- the eight hosted demo procedures, mirrored from the catalogue;
- about twenty procedures outside the platform, some digital in other online
  systems, some on paper, recorded as their departments would;
- `industrial-waste-license`, prepared in the builder as a draft whose paper
  originals need a paperless exemption: the exemption is requested and waits for
  the auditor, so approving it moves the rates (the issue's "done when");
- the cases of this fiscal year so far, reported per month;
- today's snapshot and, as demo history, a month-end snapshot for each of the
  twelve months before, drawn back from today's figures.

Idempotent: entries, reports and snapshots that exist are left alone."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, OrganizationKind
from accounts.services import organization_create
from digitization import metrics, services
from digitization.models import STAGES, CaseReport, Channel, InventoryEntry, Snapshot, SnapshotKind
from digitization.periods import (
    add_months,
    fiscal_year_of,
    fiscal_year_start,
    month_end,
    month_start,
)
from digitization.totals import totals_rebuild
from procedures.models import Exemption, Procedure
from procedures.services import exemption_request, procedure_create, starter_definition

# code, Japanese, English, organization, channel, annual volume,
# online stages (application, identity, payment, attachments, delivery), other broken principles
ENTRIES: list[tuple[str, str, str, str, str, int, str, tuple[str, ...]]] = [
    (
        "automobile-tax-payment",
        "自動車税種別割の納付",
        "Automobile tax payment",
        "taxation",
        "other_online",
        4_300_000,
        "11111",
        (),
    ),
    (
        "fixed-asset-tax-payment",
        "固定資産税・都市計画税（23区）の納付",
        "Fixed asset and city planning tax payment (23 wards)",
        "taxation",
        "other_online",
        3_100_000,
        "11111",
        (),
    ),
    (
        "individual-enterprise-tax-return",
        "個人事業税の申告",
        "Individual enterprise tax return",
        "taxation",
        "other_online",
        420_000,
        "11111",
        (),
    ),
    (
        "real-estate-acquisition-tax-return",
        "不動産取得税の申告",
        "Real estate acquisition tax return",
        "taxation",
        "offline",
        180_000,
        "00101",
        ("hanko_less",),
    ),
    (
        "passport-application",
        "一般旅券の発給申請",
        "Passport application",
        "general-affairs",
        "other_online",
        700_000,
        "10010",
        (),
    ),
    (
        "public-records-disclosure-request",
        "公文書の開示請求",
        "Request for disclosure of public records",
        "general-affairs",
        "other_online",
        15_000,
        "11111",
        (),
    ),
    (
        "staff-recruitment-exam",
        "都職員採用試験の申込",
        "Application for the staff recruitment examination",
        "general-affairs",
        "other_online",
        25_000,
        "11111",
        (),
    ),
    (
        "designated-intractable-disease-subsidy",
        "指定難病医療費助成の申請",
        "Medical expense subsidy for designated intractable diseases",
        "health",
        "offline",
        95_000,
        "01100",
        (),
    ),
    (
        "pharmacy-license-renewal",
        "薬局開設許可の更新",
        "Renewal of a pharmacy licence",
        "health",
        "other_online",
        3_800,
        "11111",
        (),
    ),
    (
        "barber-shop-opening-notice",
        "理容所の開設届",
        "Notice of opening a barber shop",
        "food-safety",
        "offline",
        2_100,
        "00100",
        ("hanko_less",),
    ),
    (
        "food-hygiene-manager-course",
        "食品衛生責任者養成講習会の申込",
        "Application for the food hygiene manager course",
        "food-safety",
        "other_online",
        60_000,
        "11011",
        (),
    ),
    (
        "nursing-care-provider-designation",
        "介護保険事業者の指定申請",
        "Designation of a long-term care provider",
        "welfare",
        "offline",
        6_500,
        "01000",
        ("fax_less",),
    ),
    (
        "childcare-facility-subsidy",
        "保育所等運営費補助の申請",
        "Operating subsidy for childcare facilities",
        "childcare",
        "offline",
        3_000,
        "01101",
        ("fax_less",),
    ),
    (
        "public-housing-rent-reduction",
        "都営住宅使用料の減免申請",
        "Rent reduction for metropolitan housing",
        "metro-housing",
        "offline",
        40_000,
        "01100",
        (),
    ),
    (
        "small-business-loan-guarantee",
        "制度融資の申込",
        "Application for a guaranteed small-business loan",
        "commerce",
        "other_online",
        18_000,
        "11111",
        (),
    ),
    (
        "employment-promotion-subsidy",
        "雇用環境整備助成金の申請",
        "Subsidy for better working conditions",
        "industry",
        "other_online",
        5_000,
        "11111",
        (),
    ),
    (
        "metropolitan-park-occupancy-permit",
        "都立公園の占用許可",
        "Permit to occupy a metropolitan park",
        "construction",
        "offline",
        12_000,
        "01000",
        (),
    ),
    (
        "road-works-approval",
        "道路工事施行承認の申請",
        "Approval of road works",
        "roads",
        "other_online",
        8_000,
        "11111",
        (),
    ),
    (
        "building-confirmation",
        "建築確認の申請",
        "Building confirmation",
        "building-permits",
        "other_online",
        30_000,
        "11111",
        (),
    ),
    (
        "development-permit",
        "開発許可の申請",
        "Development permit",
        "urban-development",
        "offline",
        1_200,
        "01000",
        ("hanko_less",),
    ),
    (
        "outdoor-advertising-permit",
        "屋外広告物の表示許可",
        "Permit for outdoor advertising",
        "urban-development",
        "offline",
        9_000,
        "01100",
        (),
    ),
]

WASTE_CODE = "industrial-waste-license"
WASTE_ORGS = [
    ("environment", "環境局", "Bureau of Environment", OrganizationKind.BUREAU, "tokyo"),
    (
        "resource-circulation",
        "資源循環推進部",
        "Resource Circulation Department",
        OrganizationKind.DEPARTMENT,
        "environment",
    ),
]


def _organization(code: str, name_ja: str, name_en: str, kind: str, parent: str) -> Organization:
    found = Organization.objects.filter(code=code).first()
    if found is not None:
        return found
    return organization_create(
        code=code,
        name_ja=name_ja,
        name_en=name_en,
        kind=kind,
        parent=Organization.objects.get(code=parent),
    )


def _waste_definition() -> dict:
    """The draft the department prepares: all online but the paper originals of
    its certificates, which the ordinance on waste management still demands."""
    definition = starter_definition()
    definition["form"]["steps"][0]["fields"] = [
        {
            "key": "company_name",
            "type": "text",
            "label": {"ja": "法人名", "en": "Company name"},
            "required": True,
        },
        {
            "key": "course_certificate",
            "type": "file",
            "label": {"ja": "講習会修了証", "en": "Course completion certificate"},
            "required": True,
            "paper_original_required": True,
            "accept": ["pdf", "jpg", "png"],
            "max_size_mb": 10,
            "max_files": 1,
        },
    ]
    definition["fee"] = {"kind": "fixed", "amount": 81000, "methods": ["card", "bank_transfer"]}
    return definition


@transaction.atomic
def _waste_procedure() -> None:
    """The catalogue draft and the inventory entry of the industrial waste licence,
    with a requested paperless exemption."""
    if InventoryEntry.objects.filter(code=WASTE_CODE).exists():
        return
    for row in WASTE_ORGS:
        _organization(*row)
    department = Organization.objects.get(code="resource-circulation")
    procedure = Procedure.objects.filter(code=WASTE_CODE).first()
    if procedure is None:
        procedure = procedure_create(
            actor=None,
            organization=department,
            code=WASTE_CODE,
            definition=_waste_definition(),
            title_ja="産業廃棄物収集運搬業の許可申請",
            title_en="Licence for industrial waste collection and transport",
            category="environment",
            filer="business",
            identity_level="identity_verified",
            processing_days=60,
            annual_volume=48_000,
        )
    services.inventory_entry_create(
        actor=None,
        code=WASTE_CODE,
        data=services.EntryData(
            title_ja="産業廃棄物収集運搬業の許可申請",
            title_en="Licence for industrial waste collection and transport",
            organization=department,
            channel=Channel.OTHER_ONLINE,
            annual_volume=48_000,
            volume_fiscal_year=fiscal_year_of(timezone.localdate()) - 1,
            online={
                "application": True,
                "identity": True,
                "payment": True,
                "attachments": False,
                "delivery": True,
            },
            note="電子申請システムで受付。講習会修了証等は原本の提出が必要。",
        ),
    )
    if not Exemption.objects.filter(procedure=procedure, principle="paperless").exists():
        exemption_request(
            actor=None,
            procedure=procedure,
            principle="paperless",
            reason=(
                "廃棄物の処理及び清掃に関する法律施行規則第9条の2により、講習会修了証及び"
                "登記事項証明書の原本の添付が求められている。国の省令改正までの間、原本の郵送を"
                "求めざるを得ない。"
            ),
            legal_basis="廃棄物の処理及び清掃に関する法律第14条、同法施行規則第9条の2",
            within_city_discretion=False,
        )


def _entries() -> int:
    created = 0
    year = fiscal_year_of(timezone.localdate()) - 1
    organizations = {org.code: org for org in Organization.objects.all()}
    for code, ja, en, org, channel, volume, stages, breaks in ENTRIES:
        if InventoryEntry.objects.filter(code=code).exists() or org not in organizations:
            continue
        services.inventory_entry_create(
            actor=None,
            code=code,
            data=services.EntryData(
                title_ja=ja,
                title_en=en,
                organization=organizations[org],
                channel=channel,
                annual_volume=volume,
                volume_fiscal_year=year,
                online={stage: flag == "1" for stage, flag in zip(STAGES, stages, strict=True)},
                breaks=breaks,
            ),
        )
        created += 1
    return created


def _online_share(entry: InventoryEntry) -> Decimal:
    """How much of an entry's cases the demo says were filed online."""
    if entry.stages_online:
        return Decimal("0.86")
    if entry.application_online:
        return Decimal("0.55")
    return Decimal("0.04")


def _reports() -> int:
    """Each month of this fiscal year before the current one, for every entry."""
    today = timezone.localdate()
    first = fiscal_year_start(fiscal_year_of(today))
    months = []
    month = first
    while month < month_start(today):
        months.append(month)
        month = add_months(month, 1)
    if not months:
        months = [add_months(month_start(today), -1)]
    existing = set(CaseReport.objects.values_list("entry_id", "month"))
    new = []
    # Hosted procedures have no paper channel left: the platform counts their cases.
    for entry in InventoryEntry.objects.filter(active=True).exclude(channel=Channel.PLATFORM):
        share = _online_share(entry)
        for index, month in enumerate(months):
            if (entry.pk, month) in existing:
                continue
            # A little seasonality, so the months are not all alike.
            cases = int(
                Decimal(entry.annual_volume) / 12 * (Decimal("0.9") + Decimal(index % 4) / 20)
            )
            online = int(cases * share)
            offline = cases - online
            new.append(
                CaseReport(entry=entry, month=month, online_cases=online, offline_cases=offline)
            )
    CaseReport.objects.bulk_create(new, ignore_conflicts=True)
    totals_rebuild()
    return len(new)


def _history() -> int:
    """Twelve month-end snapshots before today's, drawn back from today's figures
    (demo history: the digital share shrinks going back in time)."""
    if Snapshot.objects.filter(kind=SnapshotKind.MONTH_END).exists():
        return 0
    today = timezone.localdate()
    current = services.snapshot_take(day=today, kinds=[SnapshotKind.DAILY])[0]
    made = 0
    for back in range(12, 0, -1):
        day = month_end(add_months(month_start(today), -back))
        factor = Decimal(1) - Decimal(back) * Decimal("0.011")
        usage_factor = Decimal(1) - Decimal(back) * Decimal("0.02")

        def scaled(counts: dict, factor=factor, usage_factor=usage_factor) -> dict:
            digital = int(Decimal(counts["digital_volume"]) * factor)
            online = int(Decimal(counts["online_cases"]) * usage_factor)
            return {
                **counts,
                "digital_volume": digital,
                "digital_procedures": int(Decimal(counts["digital_procedures"]) * factor),
                "online_cases": online,
                "offline_cases": counts["offline_cases"] + counts["online_cases"] - online,
            }

        overall = scaled({name: getattr(current, name) for name in metrics.Figures().counts()})
        Snapshot.objects.get_or_create(
            taken_on=day,
            kind=SnapshotKind.MONTH_END,
            defaults={
                "taken_at": timezone.make_aware(datetime.combine(day, time(23, 55))),
                "target": current.target,
                "fiscal_year": fiscal_year_of(day),
                **overall,
                "organizations": {
                    code: scaled(counts) for code, counts in current.organizations.items()
                },
            },
        )
        made += 1
    return made


def seed(results: dict) -> None:
    services.catalogue_sync(force=True)
    _waste_procedure()
    created = _entries()
    reports = _reports()
    history = _history()
    total = InventoryEntry.objects.count()
    results["stdout"].write(
        f"Digitization: {created} inventory entr{'y' if created == 1 else 'ies'} and {reports} monthly "
        f"case reports added, {history} month-end snapshots of demo history; {total} procedures in the "
        "inventory (the 30,000-type inventory: manage.py seed_inventory)."
    )
