"""Co-signatures (docs/cosignature.md): the applicant names the co-signers, each gets
an e-mailed link, signs in as the named address, verifies their identity when the
role asks, reads what they consent to and signs or declines; the case reaches the
clerks only when every required co-signer has signed, and the signed filing records
each co-signature."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone, translation

from applications import cosigning, services
from applications.casework.queue import Queue, QueueFilters
from applications.cosigners import cosignature_check
from applications.documents import receipt_issue
from applications.models import (
    ApplicationEvent,
    ApplicationStatus,
    Cosignature,
    CosignatureStatus,
    DocumentKind,
)
from audit.models import AuditEvent
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.signing import canonical_json, sha256_hex, verify_digest
from tests.applications.casework_setup import City, resident
from tests.applications.cosign_setup import (
    GUARANTOR_EMAIL,
    SPOUSE_EMAIL,
    STATEMENT_EN,
    STATEMENT_JA,
    cosigned_procedure,
    cosigner,
    draft,
    file_cosigned,
    link_of,
    mails_to,
    named,
    verify_identity,
)
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

S = ApplicationStatus
CS = CosignatureStatus


@pytest.fixture
def city():
    return City()


@pytest.fixture
def housing(city):
    return cosigned_procedure(city.health)


def _login(user) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _queue_ids(clerk) -> set[int]:
    return {item.id for item in Queue(clerk, QueueFilters()).page().items}


def _open_link(client: Client, path: str) -> str:
    """Follow the e-mailed link: the token goes into the session, the browser to
    the request's page (the token is not in that address)."""
    response = client.get(path)
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/cosign/requests/") and path.split("/")[2] not in location
    return location


def test_the_whole_flow_apply_email_cosigner_signs_then_the_queue(
    city, housing, django_capture_on_commit_callbacks
):
    applicant = resident("都民 太郎")
    page = _login(applicant)
    application = draft(housing, applicant)

    # The last step leads to the co-signers' page, which keeps what was typed.
    last = page.post(
        f"/applications/{application.pk}/steps/details/",
        {"f.purpose": "家族で入居するため", "f.with_spouse": "yes"},
    )
    assert last["Location"] == f"/applications/{application.pk}/cosigners/"
    wrong = page.post(
        f"/applications/{application.pk}/cosigners/",
        {
            "c-spouse-name": "都民 花子",
            "c-spouse-email": "not-an-address",
            "c-guarantor-name": "保証 次郎",
            "c-guarantor-email": GUARANTOR_EMAIL,
        },
    )
    assert wrong.status_code == 400
    content = wrong.content.decode()
    assert 'href="#c-spouse-email"' in content and 'value="not-an-address"' in content
    application.refresh_from_db()
    assert application.cosigner_answers["spouse"]["email"] == "not-an-address"  # nothing lost
    done = page.post(
        f"/applications/{application.pk}/cosigners/",
        {
            "c-spouse-name": "都民 花子",
            "c-spouse-email": SPOUSE_EMAIL,
            "c-guarantor-name": "保証 次郎",
            "c-guarantor-email": GUARANTOR_EMAIL,
        },
    )
    assert done["Location"] == f"/applications/{application.pk}/check/"
    check = page.get(done["Location"]).content.decode()
    assert SPOUSE_EMAIL in check and "Spouse" in check  # the applicant reads English

    with django_capture_on_commit_callbacks(execute=True):
        submitted = page.post(f"/applications/{application.pk}/check/", {"declaration": "on"})
    assert submitted.status_code == 302
    application.refresh_from_db()
    assert application.status == S.COSIGNATURE_PENDING
    assert application.due_date is None  # the processing period has not started
    assert not application.documents.exists()  # no receipt before the consent
    assert application.pk not in _queue_ids(city.clerk)

    # Each co-signer received an e-mail with a link; no personal data in it.
    [invitation] = mails_to(SPOUSE_EMAIL)
    path = link_of(invitation)
    # Nothing but a random token: 32 bytes, URL-safe base64.
    assert re.fullmatch(r"/cosign/[A-Za-z0-9_-]{43}/", path)
    assert "住宅入居申込" in invitation.body and "Housing application" in invitation.body
    assert STATEMENT_JA in invitation.body and STATEMENT_EN in invitation.body
    status_page = page.get(f"/applications/{application.pk}/").content.decode()
    assert "都民 花子" in status_page and "Waiting for the signature" in status_page

    # The spouse opens the link, signs in, verifies their identity, reads and signs.
    spouse = cosigner(SPOUSE_EMAIL, "都民 花子")
    browser = Client()
    location = _open_link(browser, path)
    anonymous = browser.get(location).content.decode()
    assert "/accounts/login/?next=" in anonymous and STATEMENT_JA not in anonymous
    browser.post("/accounts/login/", {"email": spouse.email, "password": PASSWORD})
    needs_identity = browser.get(location).content.decode()
    assert "/accounts/identity/?next=" in needs_identity
    assert 'action="/cosign/requests/' not in needs_identity  # no sign button yet
    verify_identity(spouse, "都民 花子", "subject-spouse")
    shown = browser.get(location).content.decode()
    assert STATEMENT_JA in shown and "家族で入居するため" in shown
    assert "123456789018" not in shown  # never the Individual Number
    request = application.cosignatures.get(role="spouse")
    with django_capture_on_commit_callbacks(execute=True):
        signed = browser.post(f"/cosign/requests/{request.public_id}/sign/", {"declaration": "on"})
    assert signed.status_code == 302
    request.refresh_from_db()
    assert request.status == CS.SIGNED and request.signer == spouse
    application.refresh_from_db()
    assert application.status == S.COSIGNATURE_PENDING  # the guarantor has not signed yet
    assert application.pk not in _queue_ids(city.clerk)

    # The guarantor signs (e-mail verified is enough); the case reaches the queue.
    guarantor = cosigner(GUARANTOR_EMAIL, "保証 次郎")
    other_browser = Client()
    location = _open_link(other_browser, link_of(mails_to(GUARANTOR_EMAIL)[0]))
    other_browser.post("/accounts/login/", {"email": guarantor.email, "password": PASSWORD})
    public_id = location.rstrip("/").rsplit("/", 1)[-1]
    with django_capture_on_commit_callbacks(execute=True):
        other_browser.post(f"/cosign/requests/{public_id}/sign/", {"declaration": "on"})
    application.refresh_from_db()
    assert application.status == S.SUBMITTED
    assert application.cosigned_at is not None and application.due_date is not None
    assert application.pk in _queue_ids(city.clerk)
    kinds = list(application.events.values_list("kind", flat=True))
    assert kinds.count("cosigned") == 2 and kinds.count("cosignatures_complete") == 1

    # The receipt lists both co-signatures, with the verified name and the digest.
    receipt = application.documents.get(kind=DocumentKind.RECEIPT)
    listed = receipt.content["cosignatures"]
    assert [item["role_ja"] for item in listed] == ["配偶者", "連帯保証人"]
    assert listed[0]["verified_name"] == "都民 花子"
    assert listed[0]["digest"] == request.digest
    # The applicant is told; the audit log has the steps, without the names.
    assert any("All co-signers have signed" in message.subject for message in mail.outbox)
    audit = list(AuditEvent.objects.filter(action__startswith="applications.cosign"))
    assert {event.action for event in audit} >= {
        "applications.cosignature_requested",
        "applications.cosigned",
        "applications.cosignatures_complete",
    }
    assert "都民" not in str([event.data for event in audit])


def test_a_required_cosigner_missing_blocks_the_submission_and_the_queue(city, housing):
    applicant = resident()
    application = draft(housing, applicant)
    services.cosigners_save(actor=applicant, application=application, values=named(spouse=""))
    with pytest.raises(ValidationFailed) as refused:
        services.application_submit(actor=applicant, application=application, declaration=True)
    assert refused.value.details == {
        "cosigners.spouse.name": ["連署人の氏名を入力してください。"],
        "cosigners.spouse.email": ["連署人のメールアドレスを入力してください。"],
    }
    application.refresh_from_db()
    assert application.is_draft

    # Without a spouse moving in, the spouse is not asked at all.
    alone = draft(housing, applicant, with_spouse="no")
    services.cosigners_save(actor=applicant, application=alone, values=named(spouse=""))
    filed = services.application_submit(actor=applicant, application=alone, declaration=True)
    assert list(filed.cosignatures.values_list("role", flat=True)) == ["guarantor"]

    # One of two required co-signers signed: still not the office's.
    both = file_cosigned(housing, applicant)
    guarantor = cosigner(GUARANTOR_EMAIL, "保証 次郎")
    request = both.cosignatures.get(role="guarantor")
    token = _token_of(request)
    cosigning.cosignature_sign(
        actor=guarantor, public_id=request.public_id, token=token, declaration=True
    )
    both.refresh_from_db()
    assert both.status == S.COSIGNATURE_PENDING
    assert both.pk not in _queue_ids(city.clerk)
    # And nothing moves it on by hand: the engine's guard refuses.
    from applications.casework.services import workflow_act

    with pytest.raises(Conflict):
        workflow_act(actor=None, application=both, action="cosignatures_complete")


def _token_of(request: Cosignature) -> str:
    from core.signing import decrypt_text

    return decrypt_text(request.token_sealed)


def test_the_same_address_twice_or_the_applicants_own_is_refused(city, housing):
    applicant = resident()
    application = draft(housing, applicant)
    problems = services.cosigners_save(
        actor=applicant,
        application=application,
        values=named(spouse=applicant.email.upper(), guarantor=applicant.email),
    )
    assert problems["cosigners.spouse.email"] == [
        "連署人はご本人以外の方です。その方ご自身のメールアドレスを入力してください。"
    ]
    # English too, for a resident who reads it (the service speaks the request's language).
    with translation.override("en"):
        problems = services.cosigners_save(
            actor=applicant, application=application, values=named(guarantor=SPOUSE_EMAIL)
        )
    assert problems == {
        "cosigners.guarantor.email": [
            "Each co-signer must be a different person: this address is already named."
        ]
    }


def test_only_the_named_account_sees_and_signs(city, housing, django_capture_on_commit_callbacks):
    applicant = resident()
    with django_capture_on_commit_callbacks(execute=True):
        application = file_cosigned(housing, applicant)
    request = application.cosignatures.get(role="guarantor")
    path = link_of(mails_to(GUARANTOR_EMAIL)[0])

    # Another account holding the link: 403, and signing is refused.
    stranger = UserFactory(email="someone.else@example.jp")
    browser = _login(stranger)
    location = _open_link(browser, path)
    refused = browser.get(location)
    assert refused.status_code == 403
    assert "保証 次郎" not in refused.content.decode()
    posted = browser.post(f"/cosign/requests/{request.public_id}/sign/", {"declaration": "on"})
    assert posted.status_code == 403
    # The applicant cannot co-sign their own application.
    own = _login(applicant)
    assert own.get(_open_link(own, path)).status_code == 403
    # Without the token (the request's address alone), the request does not exist.
    guarantor = cosigner(GUARANTOR_EMAIL, "保証 次郎")
    no_link = _login(guarantor)
    assert no_link.get(f"/cosign/requests/{request.public_id}/").status_code == 404
    assert (
        no_link.post(f"/cosign/requests/{request.public_id}/sign/", {"declaration": "on"})
    ).status_code == 404
    assert no_link.get("/cosign/not-a-real-token-at-all/").status_code == 404
    # A wrong token with the right account: not found either.
    with pytest.raises(NotFound):
        cosigning.cosignature_sign(
            actor=guarantor, public_id=request.public_id, token="guess", declaration=True
        )
    with pytest.raises(PermissionDenied):
        cosigning.cosignature_sign(
            actor=stranger, public_id=request.public_id, token=_token_of(request), declaration=True
        )
    request.refresh_from_db()
    assert request.status == CS.PENDING


def test_a_used_link_cannot_sign_again(city, housing, django_capture_on_commit_callbacks):
    applicant = resident()
    with django_capture_on_commit_callbacks(execute=True):
        application = file_cosigned(housing, applicant)
    guarantor = cosigner(GUARANTOR_EMAIL, "保証 次郎")
    request = application.cosignatures.get(role="guarantor")
    token = _token_of(request)
    cosigning.cosignature_sign(
        actor=guarantor, public_id=request.public_id, token=token, declaration=True
    )
    with pytest.raises(Conflict) as again:
        cosigning.cosignature_sign(
            actor=guarantor, public_id=request.public_id, token=token, declaration=True
        )
    assert again.value.code == "already_answered"
    with pytest.raises(Conflict):
        cosigning.cosignature_decline(actor=guarantor, public_id=request.public_id, token=token)
    browser = _login(guarantor)
    location = _open_link(browser, link_of(mails_to(GUARANTOR_EMAIL)[0]))
    page = browser.get(location).content.decode()
    assert "You co-signed" in page or "連署しました" in page
    assert f'action="/cosign/requests/{request.public_id}/sign/"' not in page
    second = browser.post(f"/cosign/requests/{request.public_id}/sign/", {"declaration": "on"})
    assert second.status_code == 409
    request.refresh_from_db()
    assert application.events.filter(kind="cosigned").count() == 1


def test_a_decline_stops_the_case_and_the_applicant_names_someone_else(
    city, housing, django_capture_on_commit_callbacks
):
    applicant = resident()
    with django_capture_on_commit_callbacks(execute=True):
        application = file_cosigned(housing, applicant)
    guarantor = cosigner(GUARANTOR_EMAIL, "保証 次郎")
    request = application.cosignatures.get(role="guarantor")
    old_path = link_of(mails_to(GUARANTOR_EMAIL)[0])
    with django_capture_on_commit_callbacks(execute=True):
        cosigning.cosignature_decline(
            actor=guarantor,
            public_id=request.public_id,
            token=_token_of(request),
            reason="保証人にはなれません",
        )
    request.refresh_from_db()
    assert request.status == CS.DECLINED and request.replace_by is not None
    application.refresh_from_db()
    assert application.status == S.COSIGNATURE_PENDING
    told = [message for message in mail.outbox if message.to == [applicant.email]][-1]
    assert "declined" in told.subject and "保証 次郎" in told.body
    assert request.replace_by.isoformat() in told.body

    page = _login(applicant)
    status = page.get(f"/applications/{application.pk}/").content.decode()
    assert "保証人にはなれません" in status
    assert f"/applications/{application.pk}/cosigners/guarantor/" in status
    # The same address as the spouse is refused; another person is asked.
    same = page.post(
        f"/applications/{application.pk}/cosigners/guarantor/",
        {"replace-name": "別人", "replace-email": SPOUSE_EMAIL},
    )
    assert same.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        asked = page.post(
            f"/applications/{application.pk}/cosigners/guarantor/",
            {"replace-name": "保証 三郎", "replace-email": "saburo@example.jp"},
        )
    assert asked.status_code == 302
    request.refresh_from_db()
    assert request.superseded_at is not None
    new = application.cosignatures.get(role="guarantor", superseded_at__isnull=True)
    assert new.status == CS.PENDING and new.name == "保証 三郎"
    assert len(mails_to("saburo@example.jp")) == 1
    # The old link opens nothing to sign any more.
    browser = _login(guarantor)
    location = _open_link(browser, old_path)
    assert (
        f'action="/cosign/requests/{request.public_id}/sign/"'
        not in browser.get(location).content.decode()
    )


def test_withdrawing_while_waiting_cancels_the_requests_and_issues_no_receipt(city, housing):
    applicant = resident()
    application = file_cosigned(housing, applicant)
    services.application_withdraw(actor=applicant, application=application, reason="不要になった")
    assert set(application.cosignatures.values_list("status", flat=True)) == {CS.CANCELLED}
    guarantor = cosigner(GUARANTOR_EMAIL, "保証 次郎")
    request = application.cosignatures.get(role="guarantor")
    with pytest.raises(Conflict):
        cosigning.cosignature_sign(
            actor=guarantor, public_id=request.public_id, token=_token_of(request), declaration=True
        )
    from applications.documents import documents_pending_issue

    later = timezone.now() + timedelta(hours=1)
    assert documents_pending_issue(now=later)["receipts"] == 0
    with pytest.raises(Conflict) as refused:
        receipt_issue(application_id=application.pk)
    assert refused.value.code == "awaiting_cosignatures"
    assert not application.documents.exists()


def test_the_identity_level_of_the_role_is_enforced(city, housing):
    applicant = resident()
    application = file_cosigned(housing, applicant)
    spouse = cosigner(SPOUSE_EMAIL, "都民 花子")
    request = application.cosignatures.get(role="spouse")
    with pytest.raises(PermissionDenied) as refused:
        cosigning.cosignature_sign(
            actor=spouse, public_id=request.public_id, token=_token_of(request), declaration=True
        )
    assert refused.value.code == "identity_required"
    verify_identity(spouse, "都民 花子", "subject-spouse")
    signed = cosigning.cosignature_sign(
        actor=spouse, public_id=request.public_id, token=_token_of(request), declaration=True
    )
    claims = signed.document["cosigner"]["verified_identity"]
    assert claims["full_name"] == "都民 花子"
    assert claims["subject"] != "subject-spouse"  # a keyed digest only
    # The guarantor's role asks for a verified e-mail only.
    guarantor = cosigner(GUARANTOR_EMAIL, "保証 次郎")
    other = application.cosignatures.get(role="guarantor")
    done = cosigning.cosignature_sign(
        actor=guarantor, public_id=other.public_id, token=_token_of(other), declaration=True
    )
    assert done.document["cosigner"]["verified_identity"] is None


def test_the_cosignature_is_signed_like_the_filing_and_verifies(city, housing):
    applicant = resident()
    application = file_cosigned(housing, applicant)
    guarantor = cosigner(GUARANTOR_EMAIL, "保証 次郎")
    request = application.cosignatures.get(role="guarantor")
    with pytest.raises(ValidationFailed):
        cosigning.cosignature_sign(
            actor=guarantor,
            public_id=request.public_id,
            token=_token_of(request),
            declaration=False,
        )
    signed = cosigning.cosignature_sign(
        actor=guarantor, public_id=request.public_id, token=_token_of(request), declaration=True
    )
    revision = application.revisions.get(number=1)
    assert signed.digest == sha256_hex(canonical_json(signed.document))
    assert verify_digest(signed.digest, signed.signature)
    assert signed.document["filing"] == {"revision": 1, "digest": revision.digest}
    assert signed.document["statement"]["ja"] == "連帯保証人となることに同意します。"
    assert signed.document["cosigner"]["email"] == GUARANTOR_EMAIL
    assert cosignature_check(signed, revision.digest).valid
    # A changed document, or a co-signature presented for another filing, fails.
    signed.document["consent"] = False
    assert not cosignature_check(signed, revision.digest).digest_ok
    signed.refresh_from_db()
    assert not cosignature_check(signed, "0" * 64).bound_ok


def test_the_api_shows_the_cosignatures_to_the_applicant_and_the_clerk(city, housing):
    from rest_framework.test import APIClient

    from tests.applications.casework_setup import verified_login

    applicant = resident()
    api = APIClient()
    api.force_authenticate(applicant)
    application = draft(housing, applicant)
    listed = api.get(f"/api/v1/applications/{application.pk}/").json()
    assert [item["role"] for item in listed["cosigners"]] == ["spouse", "guarantor"]
    saved = api.put(
        f"/api/v1/applications/{application.pk}/cosigners/",
        {"cosigners": {"spouse": {"name": "都民 花子", "email": "bad"}}},
        format="json",
    ).json()
    assert saved["valid"] is False
    assert set(saved["errors"]) == {
        "cosigners.spouse.email",
        "cosigners.guarantor.name",
        "cosigners.guarantor.email",
    }
    check = api.get(f"/api/v1/applications/{application.pk}/check/").json()
    assert "cosigners.spouse.email" in check["errors"]
    refused = api.post(
        f"/api/v1/applications/{application.pk}/submit/", {"declaration": True}, format="json"
    )
    assert refused.status_code == 400
    api.put(
        f"/api/v1/applications/{application.pk}/cosigners/",
        {"cosigners": named()},
        format="json",
    )
    submitted = api.post(
        f"/api/v1/applications/{application.pk}/submit/", {"declaration": True}, format="json"
    ).json()
    assert submitted["status"] == "cosignature_pending"
    assert submitted["next_step"]["code"] == "wait_for_cosigners"
    detail = api.get(f"/api/v1/applications/{application.pk}/").json()
    assert [(item["role"], item["status"]) for item in detail["cosignatures"]] == [
        ("spouse", "pending"),
        ("guarantor", "pending"),
    ]

    guarantor = cosigner(GUARANTOR_EMAIL, "保証 次郎")
    request = application.cosignatures.get(role="guarantor")
    cosigning.cosignature_sign(
        actor=guarantor, public_id=request.public_id, token=_token_of(request), declaration=True
    )
    clerk = Client()
    verified_login(clerk, city.clerk)
    case = clerk.get(f"/api/v1/queue/{application.pk}/").json()
    signed = next(item for item in case["cosignatures"] if item["role"] == "guarantor")
    assert signed["status"] == "signed" and signed["valid"] is True
    assert signed["signer"]["name"] == "保証 次郎"
    assert signed["document"]["filing"]["digest"] == application.revisions.get().digest
    page = clerk.get(f"/casework/{application.pk}/").content.decode()
    assert 'id="cosignatures"' in page and "保証 次郎" in page
    # Pending applications are out of the default queue but found by their state.
    listed = clerk.get("/api/v1/queue/").json()["results"]
    assert application.pk not in [item["id"] for item in listed]
    waiting = clerk.get("/api/v1/queue/?status=cosignature_pending").json()["results"]
    assert application.pk in [item["id"] for item in waiting]


def test_a_fee_due_before_review_is_paid_after_the_cosignatures(city):
    from payments.registry import resolve_subject

    procedure = cosigned_procedure(
        city.health,
        code="paid-housing",
        guarantor_required=False,
        fee={"kind": "fixed", "amount": 500, "methods": ["card"]},
    )
    applicant = resident()
    application = draft(procedure, applicant)
    services.cosigners_save(actor=applicant, application=application, values=named(guarantor=""))
    # The declaration says when the fee is paid: after the co-signatures.
    check = _login(applicant).get(f"/applications/{application.pk}/check/")
    assert "Once every co-signer has signed, you pay the fee of" in check.content.decode()
    services.application_submit(actor=applicant, application=application, declaration=True)
    application.refresh_from_db()
    assert application.status == S.COSIGNATURE_PENDING
    assert [item.role for item in application.cosignatures.all()] == ["spouse"]
    waiting = resolve_subject("application", application.pk)
    assert not waiting.payable and waiting.blocked_code == "awaiting_cosignatures"
    spouse = cosigner(SPOUSE_EMAIL, "都民 花子")
    verify_identity(spouse, "都民 花子", "subject-spouse")
    request = application.cosignatures.get()
    cosigning.cosignature_sign(
        actor=spouse, public_id=request.public_id, token=_token_of(request), declaration=True
    )
    application.refresh_from_db()
    assert application.status == S.PAYMENT_PENDING
    assert resolve_subject("application", application.pk).payable
    assert ApplicationEvent.objects.filter(
        application=application, kind="cosignatures_complete", to_status=S.PAYMENT_PENDING
    ).exists()


def test_the_purge_keeps_what_was_signed_and_removes_who_signed(city, housing):
    from applications.models import Application, CosignerEmail
    from applications.purge import retention_purge_run

    applicant = resident()
    application = file_cosigned(housing, applicant)
    guarantor = cosigner(GUARANTOR_EMAIL, "保証 次郎")
    request = application.cosignatures.get(role="guarantor")
    signed = cosigning.cosignature_sign(
        actor=guarantor, public_id=request.public_id, token=_token_of(request), declaration=True
    )
    services.application_withdraw(actor=applicant, application=application, reason="不要")
    Application.objects.filter(pk=application.pk).update(
        kept_until=timezone.localdate() - timedelta(days=2)
    )
    assert retention_purge_run().purged == 1
    kept = Cosignature.objects.get(pk=signed.pk)
    assert (kept.name, kept.email, kept.document, kept.token_sealed) == ("", "", {}, "")
    assert (kept.digest, kept.signature, kept.status) == (signed.digest, signed.signature, "signed")
    assert not CosignerEmail.objects.filter(cosignature__application=application).exists()
    application.refresh_from_db()
    assert application.cosigner_answers == {}
