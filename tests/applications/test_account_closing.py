"""Closing one's account: drafts go at once, cases within their period are kept
and the resident is told which and until when, identity data and everything
else nothing needs goes; a case still being processed, or a staff role, stops it."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.identity.services import identity_verification_record
from accounts.models import IdentityVerification, Notification, User
from applications.casework.services import workflow_act
from applications.models import Application
from applications.services import application_start, attachment_add
from audit.models import AuditEvent
from tests.applications.casework_setup import (
    definition,
    file_application,
    png_bytes,
    staff,
    verified_login,
)
from tests.factories import PASSWORD, OrganizationFactory, UserFactory, publish_procedure

pytestmark = pytest.mark.django_db


@pytest.fixture
def city():
    department = OrganizationFactory(code="health", name_ja="保健所")
    procedure = publish_procedure(
        code="shop",
        definition=definition(),
        organization=department,
        title_ja="営業許可",
        title_en="Shop permit",
    )
    return {
        "procedure": procedure,
        "clerk": staff(department, "clerk", "審査 一郎"),
        "second": staff(department, "approver", "決裁 花子"),
    }


@pytest.fixture
def resident():
    user = UserFactory(display_name="山田 花子", preferred_language="en")
    identity_verification_record(
        user=user,
        issuer="https://id.example.jp",
        subject="subject-hanako",
        full_name="山田 花子",
        birth_date=date(1980, 5, 5),
    )
    return user


def _decided(city, resident):
    case = file_application(city["procedure"], resident)
    workflow_act(actor=city["clerk"], application=case, action="claim")
    workflow_act(actor=city["clerk"], application=case, action="recommend_approval")
    workflow_act(actor=city["second"], application=case, action="approve")
    case.refresh_from_db()
    return case


def test_closing_deletes_drafts_keeps_ended_cases_and_says_until_when(
    client, city, resident, django_capture_on_commit_callbacks
):
    kept = _decided(city, resident)
    draft = application_start(actor=resident, procedure=city["procedure"])
    attachment_add(
        actor=resident,
        application=draft,
        field_key="plan",
        upload=SimpleUploadedFile("plan.png", png_bytes()),
    )
    stored = draft.attachments.get().file.name
    address = resident.email
    client.force_login(resident)

    page = client.get(reverse("applications:close_account")).content.decode()
    assert kept.reference in page and kept.kept_until.isoformat() in page
    assert "Your 1 unsent draft is deleted at once" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("applications:close_account"), {"password": PASSWORD, "confirm": "on"}
        )

    assert response.status_code == 302
    resident.refresh_from_db()
    assert not resident.is_active and not resident.has_usable_password()
    assert resident.email.endswith("@closed.invalid") and resident.display_name == ""
    assert not Application.objects.filter(pk=draft.pk).exists()
    assert not default_storage.exists(stored)
    assert Application.objects.filter(pk=kept.pk).exists()
    assert not IdentityVerification.objects.filter(user=resident).exists()
    assert not Notification.objects.filter(user=resident).exists()
    assert AuditEvent.objects.filter(action="accounts.closed").count() == 1
    [message] = mail.outbox[-1:]
    assert message.to == [address]
    assert kept.reference in message.body and kept.kept_until.isoformat() in message.body
    assert "_auth_user_id" not in client.session  # signed out


def test_a_case_being_processed_stops_the_closing(client, city, resident):
    open_case = file_application(city["procedure"], resident)
    client.force_login(resident)

    page = client.get(reverse("applications:close_account")).content.decode()
    assert open_case.reference in page
    assert 'name="password"' not in page  # no form to submit

    response = client.post(
        reverse("applications:close_account"), {"password": PASSWORD, "confirm": "on"}
    )
    assert response.status_code == 409
    assert "cannot be closed while an application is being processed" in response.content.decode()
    assert User.objects.get(pk=resident.pk).is_active


def test_the_password_and_the_confirmation_are_required(client, resident):
    client.force_login(resident)

    response = client.post(reverse("applications:close_account"), {"password": "wrong"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "The password is not correct." in page
    assert "Confirm that you want to close your account." in page
    assert User.objects.get(pk=resident.pk).is_active


def test_staff_accounts_are_not_closed_here(client, city):
    verified_login(client, city["clerk"])

    page = client.get(reverse("applications:close_account")).content.decode()

    assert "Staff accounts are closed by your administrator." in page
    assert 'name="password"' not in page
