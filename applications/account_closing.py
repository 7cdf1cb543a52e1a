"""Closing a resident's account: drafts are deleted at once, cases within their
retention period are kept (the resident is told which, and until when), and what
nothing needs any more goes: the identity verifications, notifications, API tokens,
and the account's e-mail address and name (the account row stays, switched off and
anonymous, because the kept cases and the audit log refer to it).

An account with a case still being processed cannot be closed: the resident would
lose the only way to follow it, answer a correction or receive the decision. Staff
accounts are closed by their administrators, not here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from knox.models import AuthToken

from accounts.models import IdentityVerification, Membership, Notification, User
from applications.models import Application, ApplicationStatus
from applications.purge import drafts_delete, pending_files_remove
from audit.services import audit_record
from core.errors import Conflict, PermissionDenied, ValidationFailed


@dataclass(frozen=True)
class KeptCase:
    reference: str
    procedure: str
    kept_until: date | None  # None: permanently


@dataclass(frozen=True)
class ClosingPreview:
    drafts: int
    open_cases: list[str]  # references still being processed: closing is refused
    kept: list[KeptCase]
    staff: bool = False  # staff accounts are closed by their administrators

    @property
    def may_close(self) -> bool:
        return not self.open_cases and not self.staff


def account_closing_preview(user: User) -> ClosingPreview:
    """What closing the account would do, in four queries."""
    mine = Application.objects.filter(applicant=user)
    drafts = mine.filter(status=ApplicationStatus.DRAFT).count()
    open_cases = list(
        mine.exclude(status=ApplicationStatus.DRAFT)
        .filter(ended_at__isnull=True)
        .order_by("submitted_at")
        .values_list("reference", flat=True)
    )
    kept = [
        KeptCase(
            reference=case.reference, procedure=case.procedure.title, kept_until=case.kept_until
        )
        for case in mine.filter(ended_at__isnull=False, purged_at__isnull=True)
        .select_related("procedure")
        .order_by("kept_until", "id")
    ]
    staff = Membership.objects.filter(user=user).exists()
    return ClosingPreview(drafts=drafts, open_cases=open_cases, kept=kept, staff=staff)


def account_close(*, actor: User, password: str, confirmed: bool) -> ClosingPreview:
    """Close the actor's own account (their password confirms it)."""
    errors: dict[str, list[str]] = {}
    if not actor.check_password(password or ""):
        errors["password"] = [_("The password is not correct.")]
    if not confirmed:
        errors["confirm"] = [_("Confirm that you want to close your account.")]
    if errors:
        raise ValidationFailed(details=errors)
    if Membership.objects.filter(user=actor).exists():
        raise PermissionDenied(
            _("Staff accounts are closed by your administrator."), code="staff_account"
        )
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=actor.pk)
        preview = account_closing_preview(locked)
        if not preview.may_close:
            raise Conflict(
                _(
                    "Your account cannot be closed while an application is being processed "
                    "(%(references)s). Withdraw it, or close your account once it is decided."
                )
                % {"references": ", ".join(preview.open_cases)},
                code="cases_open",
            )
        drafts = list(Application.objects.filter(applicant=locked, status=ApplicationStatus.DRAFT))
        drafts_delete(drafts)
        identities = IdentityVerification.objects.filter(user=locked).delete()[0]
        Notification.objects.filter(user=locked).delete()
        AuthToken.objects.filter(user=locked).delete()
        address, language = locked.email, locked.preferred_language
        locked.email = f"closed-{locked.pk}@closed.invalid"
        locked.display_name = ""
        locked.is_active = False
        locked.email_verified_at = None
        locked.set_unusable_password()
        locked.save()
        audit_record(
            actor=locked,
            action="accounts.closed",
            target=locked,
            data={"drafts": len(drafts), "identities": identities, "kept": len(preview.kept)},
        )
        transaction.on_commit(lambda: _tell(address, language, preview))
    pending_files_remove()
    return preview


def _tell(address: str, language: str, preview: ClosingPreview) -> None:
    """The last message to the closed account's address: what is kept, until when."""
    with translation.override(language):
        context = {"preview": preview, "closed_on": timezone.localdate()}
        subject = render_to_string("applications/email/account_closed_subject.txt", context)
        body = render_to_string("applications/email/account_closed_body.txt", context)
    send_mail(subject.strip(), body, settings.DEFAULT_FROM_EMAIL, [address])
