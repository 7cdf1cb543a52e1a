"""What the casework tests share: a city with two bureaus, staff in each role, a
fee-free four-eyes procedure, and residents filing through the services."""

from __future__ import annotations

import io
from datetime import date, datetime

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from accounts.models import OrganizationKind, Role
from applications import services
from applications.models import Application
from tests.factories import (
    MY_NUMBER,
    PASSWORD,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
    applicant_step,
    confirmed_totp,
    current_code,
    publish_procedure,
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def definition() -> dict:
    return {
        "form": {
            "steps": [
                applicant_step(),
                {
                    "key": "details",
                    "title": {"ja": "申請内容", "en": "Details"},
                    "fields": [
                        {
                            "key": "purpose",
                            "type": "text",
                            "label": {"ja": "使用目的", "en": "Purpose"},
                            "required": True,
                        },
                        {
                            "key": "plan",
                            "type": "file",
                            "label": {"ja": "図面", "en": "Plan"},
                            "accept": ["pdf", "png"],
                            "max_files": 3,
                        },
                    ],
                },
            ]
        },
        # No fee, so a filing goes straight to the queue ("submitted").
        "fee": {"kind": "none"},
        "workflow": {"approval": "four_eyes"},
        "delivery": {"methods": ["electronic"]},
        "contact": {"channels": ["email", "web_form"]},
    }


class City:
    """city > health (bureau) > food (department); city > taxation (bureau)."""

    def __init__(self) -> None:
        self.city = OrganizationFactory(code="city", name_ja="市", name_en="City")
        self.health = OrganizationFactory(
            code="health", parent=self.city, kind=OrganizationKind.BUREAU
        )
        self.food = OrganizationFactory(code="food", parent=self.health)
        self.taxation = OrganizationFactory(
            code="taxation", parent=self.city, kind=OrganizationKind.BUREAU
        )
        self.permit = publish_procedure(
            code="health-permit",
            definition=definition(),
            organization=self.health,
            title_ja="保健許可",
            title_en="Health permit",
        )
        self.food_permit = publish_procedure(
            code="food-permit",
            definition=definition(),
            organization=self.food,
            title_ja="食品営業許可",
            title_en="Food permit",
        )
        self.tax_certificate = publish_procedure(
            code="tax-certificate",
            definition=definition(),
            organization=self.taxation,
            title_ja="納税証明書",
            title_en="Tax certificate",
        )
        self.clerk = staff(self.health, Role.CLERK, "係員 一郎")
        self.other_clerk = staff(self.health, Role.CLERK, "係員 二郎")
        self.approver = staff(self.health, Role.APPROVER, "決裁 花子")
        self.second_approver = staff(self.health, Role.APPROVER, "決裁 次郎")
        self.supervisor = staff(self.health, Role.DEPARTMENT_ADMIN, "課長 三郎")
        self.tax_clerk = staff(self.taxation, Role.CLERK, "税務 四郎")


def staff(organization, role: str, name: str):
    user = MembershipFactory(organization=organization, role=role).user
    user.display_name = name
    user.preferred_language = "en"
    user.save(update_fields=["display_name", "preferred_language"])
    return user


def resident(name: str = "山田 太郎"):
    return UserFactory(display_name=name, preferred_language="en")


def file_application(
    procedure,
    applicant=None,
    *,
    purpose: str = "就職のため",
    on_behalf_of_name: str = "",
    on_behalf_of_relationship: str = "",
    files: tuple[tuple[str, bytes], ...] = (),
) -> Application:
    """A resident starts, fills and submits an application through the services."""
    applicant = applicant or resident()
    application = services.application_start(
        actor=applicant,
        procedure=procedure,
        on_behalf_of_name=on_behalf_of_name,
        on_behalf_of_relationship=on_behalf_of_relationship,
    )
    services.application_save_step(
        actor=applicant,
        application=application,
        step_key="applicant",
        answers={"full_name": applicant.display_name, "my_number": MY_NUMBER},
    )
    services.application_save_step(
        actor=applicant, application=application, step_key="details", answers={"purpose": purpose}
    )
    for name, content in files:
        services.attachment_add(
            actor=applicant,
            application=application,
            field_key="plan",
            upload=SimpleUploadedFile(name, content),
        )
    return services.application_submit(actor=applicant, application=application, declaration=True)


def set_dates(application: Application, *, due: date | None = None, submitted=None) -> None:
    """Move an application in time (the clock of a test cannot wait days)."""
    changes = {}
    if due is not None:
        changes["due_date"] = due
    if submitted is not None:
        if isinstance(submitted, date) and not isinstance(submitted, datetime):
            submitted = timezone.make_aware(
                datetime(submitted.year, submitted.month, submitted.day, 10)
            )
        changes["submitted_at"] = submitted
    Application.objects.filter(pk=application.pk).update(**changes)
    application.refresh_from_db()


def verified_login(client, user) -> None:
    """Password and one-time code, as staff log in."""
    device = confirmed_totp(user)
    client.post("/accounts/login/", {"email": user.email, "password": PASSWORD})
    assert client.post("/accounts/2fa/", {"token": current_code(device)}).status_code == 302
