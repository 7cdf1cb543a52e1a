"""Demo casework: filings in the queue so that the demo clerk and approver have
work on their first login. The demo clerk and approver also review for the
childcare department, whose nursery admission has no fee, so its filings go
straight to the queue. Three other residents (with verified identities) have filed:
one waits unclaimed, one is under review by the clerk, one is recommended for
approval and waits for the approver. The demo resident files their own.

Idempotent: nothing is added when the demo filings exist."""

from __future__ import annotations

from datetime import date

from django.core.files.uploadedfile import SimpleUploadedFile
from stdnum.jp import in_ as individual_number

from accounts.identity.services import identity_verification_record
from accounts.models import Organization, Role, User
from accounts.services import membership_grant, user_create
from applications.casework.services import workflow_act
from applications.models import Application
from applications.services import (
    application_save_step,
    application_start,
    application_submit,
    attachment_add,
)
from procedures.models import Procedure

PROCEDURE = "nursery-school-admission"
SANDBOX_ISSUER = "demo-seed"
EXTRA_MEMBERSHIPS = [
    ("clerk@example.jp", Role.CLERK, "childcare"),
    ("approver@example.jp", Role.APPROVER, "childcare"),
]
# A minimal PDF: what a scanned certificate would be, for the demo only.
DEMO_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _my_number(seed: int) -> str:
    body = f"{seed:011d}"
    return body + individual_number.calc_check_digit(body)


APPLICANTS = [
    # email, family, given, kana family, kana given, birth date, child given, stage
    (
        "demo-family1@example.jp",
        "佐藤",
        "美咲",
        "サトウ",
        "ミサキ",
        date(1990, 6, 1),
        "陽菜",
        "queued",
    ),
    (
        "demo-family2@example.jp",
        "鈴木",
        "健太",
        "スズキ",
        "ケンタ",
        date(1988, 2, 14),
        "蓮",
        "review",
    ),
    (
        "demo-family3@example.jp",
        "高橋",
        "由美",
        "タカハシ",
        "ユミ",
        date(1992, 11, 3),
        "結衣",
        "recommended",
    ),
]


def _answers(family, given, family_kana, given_kana, child, number) -> dict[str, dict]:
    return {
        "guardian": {
            "guardian_name": {
                "family": family,
                "given": given,
                "family_kana": family_kana,
                "given_kana": given_kana,
            },
            "guardian_my_number": _my_number(number),
            "guardian_address": {
                "postal_code": "100-0005",
                "prefecture": "",
                "city": "",
                "town": "",
                "street": f"1-{number}",
                "building": "",
            },
            "phone": f"0901234{number:04d}",
            "email": f"family{number}@example.jp",
        },
        "child": {
            "child_name": {
                "family": family,
                "given": child,
                "family_kana": family_kana,
                "given_kana": "コドモ",
            },
            "child_birth_date": "2024-05-10",
            "desired_start_month": f"{date.today().year + 1}-04-01",
            "preferred_facilities": ["sakura_nursery", "hikari_nursery"],
        },
        "need": {
            "employment_status": "employed",
            "monthly_working_hours": 150,
            "siblings_at_nursery": "no",
        },
        "consent": {"information_consent": True},
    }


def _file(user: User, procedure: Procedure, answers: dict[str, dict]) -> Application:
    application = application_start(actor=user, procedure=procedure)
    attachment_add(
        actor=user,
        application=application,
        field_key="employment_certificate",
        upload=SimpleUploadedFile("就労証明書.pdf", DEMO_PDF, content_type="application/pdf"),
    )
    for step_key, step_answers in answers.items():
        result = application_save_step(
            actor=user, application=application, step_key=step_key, answers=step_answers
        )
        if not result.is_valid:
            raise ValueError(f"demo answers for {step_key} are not valid: {result.errors}")
    return application_submit(actor=user, application=application, declaration=True)


def seed(results: dict) -> None:
    out = results["stdout"]
    procedure = Procedure.objects.filter(code=PROCEDURE).first()
    if procedure is None:
        return
    organizations = {item.code: item for item in Organization.objects.all()}
    users = {user.email: user for user in User.objects.filter(email__endswith="@example.jp")}
    for email, role, code in EXTRA_MEMBERSHIPS:
        if email in users and code in organizations:
            membership_grant(user=users[email], organization=organizations[code], role=role)
    if Application.objects.filter(applicant__email=APPLICANTS[0][0]).exists():
        return
    clerk, approver = users.get("clerk@example.jp"), users.get("approver@example.jp")
    for number, (email, family, given, kana_f, kana_g, born, child, stage) in enumerate(
        APPLICANTS, start=1
    ):
        user = users.get(email) or user_create(
            email=email,
            password=None,
            display_name=f"{family} {given}",
            email_verified=True,
        )
        identity_verification_record(
            user=user,
            issuer=SANDBOX_ISSUER,
            subject=f"demo-{number}",
            full_name=f"{family} {given}",
            birth_date=born,
        )
        application = _file(user, procedure, _answers(family, given, kana_f, kana_g, child, number))
        if stage in ("review", "recommended") and clerk is not None:
            workflow_act(actor=clerk, application=application, action="claim")
        if stage == "recommended" and clerk is not None and approver is not None:
            workflow_act(
                actor=clerk,
                application=application,
                action="recommend_approval",
                comment="就労要件・必要書類とも確認済みです。",
            )
    out.write(
        f"Casework: {len(APPLICANTS)} demo filings of {PROCEDURE} in the childcare queue "
        "(clerk@ and approver@ review there too)."
    )
