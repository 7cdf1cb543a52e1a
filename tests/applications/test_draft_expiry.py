"""Drafts never submitted: their owner is reminded DRAFT_REMINDER_DAYS before they
expire (once per last change), and they are deleted DRAFT_EXPIRY_DAYS after their
last change, with their attachments' files; a resident's own discard removes the
files too."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from applications.models import Application
from applications.purge import drafts_expiry_run
from applications.services import (
    application_discard_draft,
    application_save_step,
    application_start,
    attachment_add,
)
from audit.models import AuditEvent
from tests.applications.casework_setup import definition, file_application, png_bytes, resident
from tests.factories import OrganizationFactory, publish_procedure

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


@pytest.fixture
def procedure():
    return publish_procedure(
        code="shop",
        definition=definition(),
        organization=OrganizationFactory(code="health"),
        title_ja="営業許可",
        title_en="Shop permit",
    )


def _draft(procedure, owner=None):
    owner = owner or resident()
    draft = application_start(actor=owner, procedure=procedure)
    attachment_add(
        actor=owner,
        application=draft,
        field_key="plan",
        upload=SimpleUploadedFile("plan.png", png_bytes()),
    )
    draft.refresh_from_db()
    return draft


def _later(days: int):
    return time_machine.travel(timezone.now() + days * DAY, tick=False)


def test_the_owner_is_reminded_once_a_week_before_and_the_draft_goes_after_30_days(procedure):
    draft = _draft(procedure)
    stored = draft.attachments.get().file.name
    submitted = file_application(procedure)  # never expires

    with _later(22):
        assert drafts_expiry_run().reminded == 0
    with _later(23):
        assert drafts_expiry_run().reminded == 1
        assert drafts_expiry_run().reminded == 0  # once
    reminder = Notification.objects.get(user=draft.applicant)
    assert "Shop permit" in reminder.body and "30 days" in reminder.body
    assert draft.draft_expires_on.isoformat() in reminder.subject

    with _later(30):
        summary = drafts_expiry_run()
    assert summary.deleted == 1
    assert not Application.objects.filter(pk=draft.pk).exists()
    assert not default_storage.exists(stored)
    assert not Notification.objects.filter(user=draft.applicant).exists()
    assert AuditEvent.objects.filter(action="applications.draft_expired").count() == 1
    assert Application.objects.filter(pk=submitted.pk).exists()


def test_a_change_after_the_reminder_keeps_the_draft_and_earns_a_new_reminder(procedure):
    draft = _draft(procedure)
    with _later(23):
        drafts_expiry_run()
    with _later(25):
        application_save_step(
            actor=draft.applicant,
            application=draft,
            step_key="details",
            answers={"purpose": "開業のため"},
        )
    with _later(30):
        assert drafts_expiry_run().deleted == 0
    with _later(48):
        assert drafts_expiry_run().reminded == 1
    assert Notification.objects.filter(user=draft.applicant).count() == 2
    with _later(55):
        assert drafts_expiry_run().deleted == 1


def test_the_draft_page_says_how_long_it_is_kept(client, procedure):
    draft = _draft(procedure)
    client.force_login(draft.applicant)

    page = client.get(
        reverse("applications:detail", args=[draft.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert draft.draft_expires_on.isoformat() in page
    assert "an unsent draft is deleted 30 days after its last change" in page


def test_discarding_a_draft_removes_its_files(procedure):
    draft = _draft(procedure)
    stored = draft.attachments.get().file.name
    assert default_storage.exists(stored)

    application_discard_draft(actor=draft.applicant, application=draft)

    assert not default_storage.exists(stored)
