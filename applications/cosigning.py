"""Co-signatures: asking the people an applicant named (a spouse, a co-owner, a
guarantor) for their consent, their signing or declining, and the daily watch over
the requests (docs/cosignature.md). The applicant's own writes (naming someone in a
draft, naming someone else later) are in applications.services, which calls here.

Rules enforced here, for every page and task:
- a request is a random token, e-mailed as a link (only its SHA-256 is looked up;
  the URL carries nothing personal); only the account whose verified e-mail is the
  one the applicant named may open it, never the applicant's own;
- a role that asks for a verified identity is signed only with one;
- signing is the platform's Ed25519 signature over the SHA-256 of the RFC 8785 JSON
  of what the co-signer consents to, bound to the digest of the filing's revision:
  the applicant's filing and each co-signature verify on their own and together;
- a request is answered once: signed or declined, it is closed (a second click, a
  second tab or a reused link changes nothing);
- the application's row is locked first, then the request's, by every writer here:
  two co-signers signing at once are both recorded, one after the other, and the
  last of them moves the case on, exactly once;
- the case goes to the office (`cosignatures_complete`) when every current required
  request is signed; a declined or expired one stops it until the applicant names
  someone else (or asks again), and closes it (`cosignatures_lapsed`) when nobody
  was named within COSIGNATURE_DAYS;
- timeline and audit rows in the same transaction; e-mails after the commit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.identity.selectors import verified_identity
from accounts.mail import email_once, unsent_ids
from applications.cosigners import CosignerRole, role_of
from applications.hooks import case_event
from applications.models import (
    Application,
    ApplicationStatus,
    Cosignature,
    CosignatureStatus,
    CosignerEmail,
    CosignerEmailKind,
)
from applications.processing_period import clock_start
from applications.signed_claims import identity_claims
from applications.transitions import (
    applicant_notify,
    event_record,
    transition_check,
    transition_take,
)
from applications.workflow import state_after_submission
from audit.services import audit_record
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.retention import japan_day
from core.signing import canonical_json, decrypt_text, encrypt_text, sha256_hex, sign_digest
from core.tasks import enqueue
from procedures.models import IdentityLevel

S = ApplicationStatus
CS = CosignatureStatus
SEND_TASK = "applications.tasks.send_cosigner_email"


def token_digest(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def _days() -> timedelta:
    return timedelta(days=settings.COSIGNATURE_DAYS)


# --- Asking ------------------------------------------------------------------------------


def requests_make(
    locked: Application,
    actor: Any,
    named: list[tuple[CosignerRole, str, str]],
    moment: datetime,
) -> list[Cosignature]:
    """Ask each (role, name, e-mail) to co-sign the (locked, signed) filing's
    current revision: a request with a fresh token, its e-mail after the commit."""
    made = []
    for role, name, email in named:
        token = secrets.token_urlsafe(32)
        request = Cosignature.objects.create(
            application=locked,
            role=role.key,
            required=role.required,
            identity_level=role.identity_level,
            name=name,
            email=email,
            token_digest=token_digest(token),
            token_sealed=encrypt_text(token),
            requested_at=moment,
            expires_on=japan_day(moment) + _days(),
            revision=locked.revision,
            filing_digest=locked.submission_digest,
        )
        _email(request, CosignerEmailKind.INVITATION)
        event_record(locked, actor, "cosignature_requested", message=name)
        audit_record(
            actor=actor,
            action="applications.cosignature_requested",
            target=locked,
            data={"reference": locked.reference, "role": role.key, "request": request.public_id},
        )
        made.append(request)
    return made


def waiting_notify(locked: Application, requests: list[Cosignature]) -> None:
    """Tell the applicant the filing is in and waits for its co-signers."""
    applicant_notify(
        locked,
        subject=gettext_lazy("Application %(reference)s submitted: waiting for co-signatures"),
        body=gettext_lazy(
            "We received your application (%(procedure)s). It goes on to the office once "
            "every required co-signer has signed. We have e-mailed each of them a link; "
            "they can sign until %(day)s. You can follow them on the application's page."
        ),
        params={"day": max(item.expires_on for item in requests).isoformat()},
    )


def _email(request: Cosignature, kind: str) -> None:
    message = CosignerEmail.objects.create(cosignature=request, kind=kind)
    enqueue(SEND_TASK, message.pk)


def requests_cancel(locked: Application, moment: datetime) -> int:
    """The application stops waiting (withdrawn, closed): its open requests'
    links stop working."""
    return locked.cosignatures.filter(status=CS.PENDING).update(
        status=CS.CANCELLED, closed_at=moment
    )


# --- The co-signer -----------------------------------------------------------------------


@dataclass(frozen=True)
class CosignerAccess:
    """What the holder of a request's token may see now, for the co-signer's page:
    `sign_in` (not signed in), `wrong_account` (another account's e-mail, or the
    applicant's), `identity_required` (the role needs a verified identity),
    `open` (may sign or decline), or `answered` / `closed` (nothing to do)."""

    request: Cosignature
    state: str


def request_by_token(public_id: str, token: str) -> Cosignature:
    """The request the token opens; anything else does not exist for the caller."""
    request = (
        Cosignature.objects.select_related(
            "application__procedure", "application__version", "application__applicant"
        )
        .filter(public_id=str(public_id)[:32])
        .first()
    )
    if request is None or not hmac.compare_digest(request.token_digest, token_digest(token)):
        raise NotFound()
    return request


def request_by_link(token: str) -> Cosignature:
    """The request an e-mailed link names (its token), or not found."""
    request = Cosignature.objects.filter(token_digest=token_digest(token)).first()
    if request is None:
        raise NotFound()
    return request


def _is_the_cosigner(actor: Any, request: Cosignature) -> bool:
    return (
        getattr(actor, "is_authenticated", False)
        and actor.email_verified
        and actor.pk != request.application.applicant_id
        and actor.email.strip().lower() == request.email.strip().lower()
    )


def _open_now(request: Cosignature) -> bool:
    return (
        request.is_pending
        and request.is_current
        and japan_day(timezone.now()) <= request.expires_on
        and request.application.status not in (S.WITHDRAWN, S.REJECTED, S.RESULT_ISSUED)
    )


def cosigner_access(actor: Any, request: Cosignature) -> CosignerAccess:
    if not getattr(actor, "is_authenticated", False):
        return CosignerAccess(request, "sign_in")
    if not _is_the_cosigner(actor, request):
        return CosignerAccess(request, "wrong_account")
    if request.status in (CS.SIGNED, CS.DECLINED):
        return CosignerAccess(request, "answered")
    if not _open_now(request):
        return CosignerAccess(request, "closed")
    if _needs_identity(request) and verified_identity(actor) is None:
        return CosignerAccess(request, "identity_required")
    return CosignerAccess(request, "open")


def _needs_identity(request: Cosignature) -> bool:
    """The identity level the request was made with (the version's role, as
    copied onto the request at submission)."""
    return request.identity_level == IdentityLevel.IDENTITY_VERIFIED


def _locked_request(actor: Any, public_id: str, token: str) -> tuple[Application, Cosignature]:
    """The application, then the request, locked, for the token's holder; refused
    unless the actor is the co-signer and the request is still open."""
    found = request_by_token(public_id, token)
    if not _is_the_cosigner(actor, found):
        raise PermissionDenied(
            _(
                "This request to co-sign was sent to another e-mail address. Log in with "
                "the account of the address that received it."
            ),
            code="not_the_cosigner",
        )
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("procedure", "version", "applicant")
        .get(pk=found.application_id)
    )
    request = Cosignature.objects.select_for_update().get(pk=found.pk)
    request.application = application
    if request.status in (CS.SIGNED, CS.DECLINED):
        raise Conflict(_("You already answered this request."), code="already_answered")
    if not _open_now(request):
        raise Conflict(
            _("This request is no longer open: it ran out, or the applicant withdrew it."),
            code="request_closed",
        )
    return application, request


def cosignature_document(
    request: Cosignature, application: Application, actor: Any, identity, moment: datetime
) -> dict[str, Any]:
    """What a co-signer signs: the filing's revision by its digest, the role and the
    statement they consent to, who they are (the account, the address the applicant
    named and they verified, a verified identity) and when."""
    role = role_of(application.version, request.role)
    return {
        "type": "cosignature",
        "procedure": application.procedure.code,
        "version": application.version.number,
        "reference": application.reference,
        "filing": {"revision": request.revision, "digest": request.filing_digest},
        "role": {
            "key": request.role,
            "label": role.label if role else {},
            "required": request.required,
        },
        "statement": role.statement if role else {},
        "shown_answers": list(role.shows) if role else [],
        "cosigner": {
            "account": actor.pk,
            "named_as": request.name,
            "email": request.email,
            "verified_identity": identity_claims(identity),
        },
        "consent": True,
        "signed_at": moment.isoformat(),
    }


def cosignature_sign(*, actor: Any, public_id: str, token: str, declaration: bool) -> Cosignature:
    """The co-signer consents: the signed co-signature is recorded and, when it was
    the last required one, the case goes on to the office."""
    if not declaration:
        raise ValidationFailed(details={"declaration": [_("Confirm your consent to co-sign.")]})
    with transaction.atomic():
        application, request = _locked_request(actor, public_id, token)
        identity = verified_identity(actor)
        if _needs_identity(request) and identity is None:
            raise PermissionDenied(
                _(
                    "This co-signature needs a verified identity. Verify your identity with "
                    "your digital ID first; it takes a minute and no visit."
                ),
                code="identity_required",
            )
        moment = timezone.now()
        request.document = cosignature_document(request, application, actor, identity, moment)
        request.digest = sha256_hex(canonical_json(request.document))
        request.signature = sign_digest(request.digest)
        request.signer = actor
        request.status = CS.SIGNED
        request.closed_at = moment
        request.replace_by = None
        request.save(
            update_fields=[
                "document",
                "digest",
                "signature",
                "signer",
                "status",
                "closed_at",
                "replace_by",
            ]
        )
        event_record(application, actor, "cosigned", message=request.name)
        audit_record(
            actor=actor,
            action="applications.cosigned",
            target=application,
            data={
                "reference": application.reference,
                "role": request.role,
                "request": request.public_id,
                "digest": request.digest,
            },
        )
        complete_if_done(application, moment)
    return request


def cosignature_decline(*, actor: Any, public_id: str, token: str, reason: str = "") -> Cosignature:
    """The co-signer declines: the case does not go on; the applicant is told and
    may name someone else (or ask again) by the day said, or withdraw."""
    with transaction.atomic():
        application, request = _locked_request(actor, public_id, token)
        request.signer = actor
        request.decline_reason = (reason or "").strip()[:2000]
        _close_unsigned(
            application,
            request,
            actor=actor,
            status=CS.DECLINED,
            replace_from=japan_day(timezone.now()),
            fields=("signer", "decline_reason"),
            subject=gettext_lazy("A co-signer declined: %(reference)s"),
            body=gettext_lazy(
                "%(cosigner)s (%(role)s) declined to co-sign your application (%(procedure)s)."
            ),
        )
    return request


def _close_unsigned(
    application: Application,
    request: Cosignature,
    *,
    actor: Any,
    status: str,
    replace_from: date,
    subject,
    body,
    fields: tuple[str, ...] = (),
) -> None:
    """A request that ends without a signature (declined or expired): closed, with
    the day by which a required one must be replaced, recorded on the case and in
    the audit log, and the applicant told what comes next."""
    request.status = status
    request.closed_at = timezone.now()
    request.replace_by = replace_from + _days() if request.required else None
    request.save(update_fields=["status", "closed_at", "replace_by", *fields])
    event_record(application, actor, f"cosignature_{status}", message=request.name)
    audit_record(
        actor=actor,
        action=f"applications.cosignature_{status}",
        target=application,
        data={
            "reference": application.reference,
            "role": request.role,
            "request": request.public_id,
        },
    )
    _tell_not_signed(application, request, subject=subject, body=body)


def _tell_not_signed(application: Application, request: Cosignature, *, subject, body) -> None:
    role = role_of(application.version, request.role)
    if request.required and application.status == S.COSIGNATURE_PENDING:
        what_next = gettext_lazy(
            "The application does not go on to the office without this co-signature. On "
            "the application's page, name another person or ask the same person again by "
            "%(day)s, or withdraw the application. If nobody is named by then, the "
            "application is closed."
        )
    else:
        what_next = gettext_lazy("This co-signature was optional: the application goes on.")
    applicant_notify(
        application,
        subject=subject,
        body=_joined(body, what_next),
        params={
            "cosigner": request.name,
            "role": (lambda: role.label_text) if role else request.role,
            "day": request.replace_by.isoformat() if request.replace_by else "",
            "expired": request.expires_on.isoformat(),
        },
    )


def _joined(first, second):
    return format_lazy("{} {}", first, second)


def complete_if_done(locked: Application, moment: datetime) -> bool:
    """When every current required request is signed, the (locked) filing goes on:
    to the queue, or first to payment when its fee is due before review, exactly
    as a filing without co-signers goes at submission. Its receipt follows, and the
    department's systems hear of the filing then."""
    if locked.status != S.COSIGNATURE_PENDING:
        return False
    try:
        transition = transition_check(locked, None, "cosignatures_complete", "")
    except (Conflict, PermissionDenied):
        return False  # a required co-signature is still missing
    target = state_after_submission(locked)
    locked.cosigned_at = moment
    if target == S.SUBMITTED:
        clock_start(locked, moment)
    transition_take(locked, None, replace(transition, target=target))
    case_event.announce(application=locked, event="submitted", revision=locked.revision)
    enqueue("applications.tasks.issue_receipt", locked.pk)
    if target == S.PAYMENT_PENDING:
        body = gettext_lazy(
            "Every required co-signer has signed your application (%(procedure)s). Pay "
            "the fee online now: the review starts once it is paid."
        )
    else:
        body = gettext_lazy(
            "Every required co-signer has signed your application (%(procedure)s). It has "
            "gone on to the office; your receipt is ready to download on its page."
        )
    applicant_notify(
        locked, subject=gettext_lazy("All co-signers have signed: %(reference)s"), body=body
    )
    return True


# --- The daily watch ---------------------------------------------------------------------


@dataclass
class DeadlinesSummary:
    reminded: int = 0
    expired: int = 0
    lapsed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "cosigners_reminded": self.reminded,
            "cosignatures_expired": self.expired,
            "applications_lapsed": self.lapsed,
        }


def cosignature_deadlines_run(*, today: date | None = None, limit: int = 500) -> DeadlinesSummary:
    """The co-signature part of the daily reminders (applications.reminders runs it
    each morning): remind the co-signers whose request runs out within
    COSIGNATURE_REMINDER_DAYS (once per request), expire the requests whose last
    day has passed (the applicant is told), and close the applications whose
    declined or expired required request was not replaced in time. Safe to run
    twice: each step looks at what the last one left."""
    today = today or japan_day(timezone.now())
    summary = DeadlinesSummary()
    summary.reminded = _remind(today, limit)
    for pk in list(
        Cosignature.objects.filter(status=CS.PENDING, expires_on__lt=today)
        .order_by("expires_on", "id")
        .values_list("pk", flat=True)[:limit]
    ):
        summary.expired += _expire(pk, today)
    lapsing = (
        Cosignature.objects.filter(
            required=True,
            superseded_at__isnull=True,
            status__in=[CS.DECLINED, CS.EXPIRED],
            replace_by__lt=today,
            application__status=S.COSIGNATURE_PENDING,
        )
        .order_by("application_id")
        .values_list("application_id", flat=True)
        .distinct()[:limit]
    )
    for application_id in list(lapsing):
        summary.lapsed += _lapse(application_id)
    return summary


def _remind(today: date, limit: int) -> int:
    soon = today + timedelta(days=settings.COSIGNATURE_REMINDER_DAYS)
    with transaction.atomic():
        due = list(
            Cosignature.objects.filter(
                status=CS.PENDING,
                superseded_at__isnull=True,
                reminded_on__isnull=True,
                expires_on__gte=today,
                expires_on__lte=soon,
            )
            .select_for_update(skip_locked=True)
            .order_by("expires_on", "id")[:limit]
        )
        for request in due:
            _email(request, CosignerEmailKind.REMINDER)
        Cosignature.objects.filter(pk__in=[item.pk for item in due]).update(reminded_on=today)
    return len(due)


def _expire(pk: int, today: date) -> int:
    with transaction.atomic():
        application_id = Cosignature.objects.filter(pk=pk).values_list("application_id", flat=True)[
            0
        ]
        application = (
            Application.objects.select_for_update(of=("self",))
            .select_related("procedure", "version", "applicant")
            .get(pk=application_id)
        )
        request = Cosignature.objects.select_for_update().get(pk=pk)
        if request.status != CS.PENDING or request.expires_on >= today:
            return 0  # answered, or handled by another run, meanwhile
        _close_unsigned(
            application,
            request,
            actor=None,
            status=CS.EXPIRED,
            replace_from=today,
            subject=gettext_lazy("A co-signer did not answer: %(reference)s"),
            body=gettext_lazy(
                "%(cosigner)s (%(role)s) did not co-sign your application (%(procedure)s) "
                "by %(expired)s, so the request ran out."
            ),
        )
    return 1


def _lapse(application_id: int) -> int:
    with transaction.atomic():
        application = (
            Application.objects.select_for_update(of=("self",))
            .select_related("procedure", "version", "applicant")
            .get(pk=application_id)
        )
        if application.status != S.COSIGNATURE_PENDING:
            return 0
        with translation.override(application.applicant.preferred_language):
            reason = _(
                "Closed by the platform: a co-signature the procedure requires was not "
                "obtained, and nobody else was named in time."
            )
        try:
            transition = transition_check(application, None, "cosignatures_lapsed", reason)
        except (Conflict, PermissionDenied):
            return 0  # replaced meanwhile
        moment = timezone.now()
        requests_cancel(application, moment)
        application.withdrawn_reason = reason
        transition_take(application, None, transition, reason)
        applicant_notify(
            application,
            subject=gettext_lazy("Application %(reference)s closed"),
            body=gettext_lazy(
                "A co-signature your application (%(procedure)s) needs was not obtained, and "
                "nobody else was named in time, so the application was closed as "
                "withdrawn. You can file a new application at any time."
            ),
        )
    return 1


# --- E-mails to co-signers -----------------------------------------------------------------


def _sendable():
    # A request no longer waiting is not e-mailed (cancelled before its mail went).
    return CosignerEmail.objects.filter(cosignature__status=CS.PENDING).select_related(
        "cosignature__application__procedure", "cosignature__application__version"
    )


def _message(email: CosignerEmail) -> tuple[str, str, str]:
    """The e-mail in Japanese, then English: the co-signer's language is not known."""
    request = email.cosignature
    application = request.application
    role = role_of(application.version, request.role)
    token = decrypt_text(request.token_sealed) or ""
    context = {
        "request": request,
        "reminder": email.kind == CosignerEmailKind.REMINDER,
        "applicant": application.filed_name,
        "reference": application.reference,
        "link": settings.SITE_URL + reverse("cosign:link", args=[token]),
        "expires_on": request.expires_on,
    }
    subjects, bodies = [], []
    for language in ("ja", "en"):
        with translation.override(language):
            context |= {
                "procedure": application.procedure.title,
                "role": role.label_text if role else request.role,
                "statement": role.statement_text if role else "",
            }
            subjects.append(
                render_to_string("applications/email/cosign_subject.txt", context).strip()
            )
            bodies.append(render_to_string("applications/email/cosign_body.txt", context).strip())
    return " / ".join(subjects)[:200], "\n\n----------\n\n".join(bodies) + "\n", request.email


def cosigner_email_send(*, email_id: int) -> bool:
    """E-mail a request (or its reminder) once; see accounts.mail.email_once."""
    return email_once(_sendable(), email_id, _message)


def cosigner_emails_sweep(*, now: datetime | None = None) -> int:
    """Send the co-signers' e-mails whose task was never queued or was lost."""
    pending = unsent_ids(_sendable(), now=now)
    for email_id in pending:
        cosigner_email_send(email_id=email_id)
    return len(pending)
