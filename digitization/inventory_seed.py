"""A government-sized inventory for load and realism (`manage.py seed_inventory`):
about 30,000 procedure types whose annual volumes are so skewed that the top 169
carry about 98% of all cases, most of those digital, and a long tail that mostly
is not, as in the Tokyo Metropolitan Government's own inventory.

Deterministic (a seeded random generator), idempotent (codes `inv-00001`, …;
what exists is left alone) and fast: rows are written with bulk inserts, one
audit event records the run."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Organization, OrganizationKind
from accounts.services import organization_create
from audit.services import audit_record
from digitization.assessment import assess_recorded
from digitization.models import STAGES, CaseReport, Channel, InventoryEntry
from digitization.periods import add_months, fiscal_year_of, fiscal_year_start, month_start
from digitization.totals import totals_rebuild

PREFIX = "inv-"
SUBJECTS = [
    ("飲食店営業", "food business"),
    ("産業廃棄物処理業", "industrial waste treatment"),
    ("旅館業", "inn business"),
    ("浄化槽", "septic tank"),
    ("高圧ガス製造", "high-pressure gas production"),
    ("毒物劇物販売業", "poisonous substances sales"),
    ("医薬品販売業", "pharmaceutical sales"),
    ("屋外広告物", "outdoor advertising"),
    ("農地転用", "farmland conversion"),
    ("砂利採取", "gravel extraction"),
    ("河川占用", "river occupancy"),
    ("道路占用", "road occupancy"),
    ("給水装置工事", "water supply works"),
    ("建設業", "construction business"),
    ("宅地建物取引業", "real estate brokerage"),
    ("計量器", "measuring instruments"),
    ("温泉利用", "hot spring use"),
    ("墓地経営", "cemetery management"),
    ("介護サービス事業所", "care service provider"),
    ("障害福祉サービス事業所", "disability welfare provider"),
    ("認可保育所", "licensed nursery"),
    ("医療法人", "medical corporation"),
    ("診療所開設", "clinic opening"),
    ("動物取扱業", "animal handling business"),
    ("クリーニング所", "laundry"),
    ("理容所", "barber shop"),
    ("美容所", "beauty salon"),
    ("興行場", "entertainment venue"),
    ("公衆浴場", "public bath"),
    ("火薬類", "explosives"),
    ("液化石油ガス", "liquefied petroleum gas"),
    ("都立施設使用", "use of a metropolitan facility"),
    ("補助金交付", "subsidy"),
    ("奨学金", "scholarship"),
    ("職業訓練", "vocational training"),
    ("消費生活相談", "consumer affairs consultation"),
    ("都営住宅", "metropolitan housing"),
    ("特定建築物", "specified building"),
    ("景観計画", "landscape plan"),
    ("土壌汚染", "soil contamination"),
]
ACTIONS = [
    ("許可申請", "permit application"),
    ("届出", "notification"),
    ("変更届", "notice of change"),
    ("廃止届", "notice of closure"),
    ("更新申請", "renewal"),
    ("登録申請", "registration"),
    ("承認申請", "approval"),
    ("証明書の交付申請", "certificate request"),
    ("実績報告", "performance report"),
    ("申込", "application"),
]
DEPARTMENT_NAMES = [
    ("総務部", "General Affairs Department", "general"),
    ("企画調整部", "Planning Department", "planning"),
    ("事業推進部", "Programmes Department", "programmes"),
    ("指導監督部", "Supervision Department", "supervision"),
]


@dataclass(frozen=True)
class SeedOptions:
    count: int = 30_000
    top: int = 169
    top_share: float = 0.98
    total_cases: int = 25_000_000
    seed: int = 2026


def volumes(options: SeedOptions) -> list[int]:
    """Annual volumes, largest first: the top `top` follow a power law and carry
    `top_share` of all cases; the tail is log-normal, below the smallest top one."""
    rng = random.Random(options.seed)  # noqa: S311 - demo data, reproducible on purpose
    top_weights = [1 / rank**0.95 for rank in range(1, options.top + 1)]
    top_total = options.total_cases * options.top_share
    scale = top_total / sum(top_weights)
    top = [max(1, round(weight * scale)) for weight in top_weights]
    tail_count = max(0, options.count - options.top)
    tail_total = options.total_cases - sum(top)
    raw = [rng.lognormvariate(0, 1.6) for _ in range(tail_count)]
    ceiling = top[-1] * 0.8 if top else tail_total
    factor = tail_total / sum(raw) if raw else 0
    tail = [max(1, min(int(ceiling), round(value * factor))) for value in raw]
    # Capping and rounding lose a little; spread the rest over the tail.
    missing = tail_total - sum(tail)
    index = 0
    while missing > 0 and tail:
        if tail[index % len(tail)] < ceiling:
            tail[index % len(tail)] += 1
            missing -= 1
        index += 1
        if index > 50 * len(tail):
            break
    return top + sorted(tail, reverse=True)


def _departments(government: Organization) -> list[Organization]:
    """The departments to spread the inventory over: every department there is,
    and a few more under each bureau (created once)."""
    bureaus = list(
        Organization.objects.filter(
            kind=OrganizationKind.BUREAU, path__startswith=government.path
        ).order_by("path")
    )
    parents = bureaus or [government]
    for parent in parents:
        for name_ja, name_en, suffix in DEPARTMENT_NAMES:
            code = f"{parent.code}-{suffix}"[:50]
            if not Organization.objects.filter(code=code).exists():
                organization_create(
                    code=code,
                    name_ja=f"{parent.name_ja} {name_ja}",
                    name_en=f"{parent.name_en or parent.name_ja}, {name_en}",
                    kind=OrganizationKind.DEPARTMENT,
                    parent=parent,
                )
    return list(
        Organization.objects.filter(
            kind=OrganizationKind.DEPARTMENT, path__startswith=government.path
        )
    )


def _stages(rng: random.Random, digital: bool, channel: str) -> dict[str, bool]:
    if digital:
        return dict.fromkeys(STAGES, True)
    online = {stage: rng.random() < 0.5 for stage in STAGES}
    if channel == Channel.OTHER_ONLINE:
        online["application"] = True
    else:
        online["application"] = False
    if all(online.values()):
        online[rng.choice(["identity", "payment", "attachments", "delivery"])] = False
    return online


def seed_inventory(options: SeedOptions, *, out=None) -> dict[str, int]:
    today = timezone.localdate()
    government = Organization.objects.filter(parent__isnull=True).order_by("pk").first()
    if government is None:
        government = organization_create(
            code="government",
            name_ja="本庁",
            name_en="Government",
            kind=OrganizationKind.GOVERNMENT,
        )
    departments = _departments(government)
    rng = random.Random(options.seed)  # noqa: S311 - demo data, reproducible on purpose
    existing = set(
        InventoryEntry.objects.filter(code__startswith=PREFIX).values_list("code", flat=True)
    )
    year = fiscal_year_of(today) - 1
    entries: list[InventoryEntry] = []
    for rank, volume in enumerate(volumes(options), start=1):
        code = f"{PREFIX}{rank:05d}"
        # Decide everything from the generator even for existing codes, so a
        # second run draws the same values for the codes still missing.
        # The very largest are digital; of the rest of the top, about one in twelve
        # is not (what the gap list is about); the long tail mostly is not.
        if rank <= 5:
            digital = True
        elif rank <= options.top:
            digital = rng.random() < 0.92
        else:
            digital = rng.random() < 0.15
        channel = Channel.OTHER_ONLINE if digital or rng.random() < 0.3 else Channel.OFFLINE
        online = _stages(rng, digital, channel)
        breaks = [
            p
            for p, chance in (("hanko_less", 0.2), ("fax_less", 0.1))
            if not digital and rng.random() < chance
        ]
        subject = SUBJECTS[rng.randrange(len(SUBJECTS))]
        action = ACTIONS[rng.randrange(len(ACTIONS))]
        department = departments[rng.randrange(len(departments))]
        if code in existing:
            continue
        entry = InventoryEntry(
            code=code,
            title_ja=f"{subject[0]}の{action[0]}",
            title_en=f"{action[1].capitalize()}: {subject[1]}",
            organization=department,
            channel=channel,
            annual_volume=volume,
            volume_fiscal_year=year,
        )
        assess_recorded(online, breaks).apply_to(entry)
        entries.append(entry)
    with transaction.atomic():
        InventoryEntry.objects.bulk_create(entries, batch_size=2000, ignore_conflicts=True)
        # rng draws continue in _reports; keep the order of the calls.
        reports = _reports(today, rng)
        totals_rebuild()
        if entries or reports:
            audit_record(
                actor=None,
                action="digitization.inventory_seeded",
                target_type="digitization.inventoryentry",
                data={"entries": len(entries), "reports": reports, "seed": options.seed},
            )
    if connection.vendor == "postgresql":
        # Fresh statistics after a bulk load, so the planner knows the table's size.
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE digitization_inventoryentry, digitization_casereport,"
                " digitization_reportedcasetotals"
            )
    return {"entries": len(entries), "reports": reports, "departments": len(departments)}


def _reports(today: date, rng: random.Random) -> int:
    """The cases of this fiscal year so far: monthly for procedures of 1,200 cases
    a year or more, one row for the whole period (in its last month) for the
    smaller ones, as small departments report."""
    first = fiscal_year_start(fiscal_year_of(today))
    last = add_months(month_start(today), -1)
    if last < first:
        first = last
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    existing = set(
        CaseReport.objects.filter(entry__code__startswith=PREFIX, month__gte=first).values_list(
            "entry_id", flat=True
        )
    )
    new: list[CaseReport] = []
    rows = InventoryEntry.objects.filter(code__startswith=PREFIX).values_list(
        "pk", "annual_volume", "stages_online", "channel"
    )
    for pk, volume, digital, channel in rows.iterator(chunk_size=5000):
        if pk in existing:
            continue
        share = (
            rng.uniform(0.75, 0.95)
            if digital
            else rng.uniform(0.3, 0.6)
            if channel == Channel.OTHER_ONLINE
            else 0.0
        )
        if volume >= 1200:
            for month in months:
                cases = round(volume / 12 * rng.uniform(0.85, 1.15))
                online = round(cases * share)
                new.append(
                    CaseReport(
                        entry_id=pk, month=month, online_cases=online, offline_cases=cases - online
                    )
                )
        else:
            cases = round(volume * len(months) / 12)
            online = round(cases * share)
            new.append(
                CaseReport(
                    entry_id=pk, month=last, online_cases=online, offline_cases=cases - online
                )
            )
    CaseReport.objects.bulk_create(new, batch_size=5000, ignore_conflicts=True)
    return len(new)
