"""Accounts, organizations, roles, login and second factor: every write, audited."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from knox.settings import knox_settings

from accounts.models import (
    Language,
    Membership,
    Notification,
    Organization,
    OrganizationKind,
    Role,
    User,
)
from accounts.permissions import (
    Action,
    actor_is_staff,
    actor_may,
    actor_roles,
    forget_memberships,
    memberships_changed,
)
from audit.services import audit_record
from core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from core.retention import RetentionPeriod
from core.tasks import enqueue


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    """Like password reset links, but invalidated once the address is verified."""

    key_salt = "accounts.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        return f"{user.pk}{user.email}{user.email_verified_at}{timestamp}"


email_verification_tokens = EmailVerificationTokenGenerator()


def _email_fingerprint(email: str) -> str:
    """Failed logins name no address in the audit log, only a keyed digest that
    lets an auditor group attempts against the same address (and cannot be
    reversed by hashing guessed addresses without the secret key)."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()[:16]


# --- Organizations and roles --------------------------------------------------------


def organization_create(
    *,
    actor: Any = None,
    code: str,
    name_ja: str,
    name_en: str = "",
    kind: str,
    parent: Organization | None = None,
) -> Organization:
    """Create a node of the tree; its path is derived from the parent's."""
    if kind != OrganizationKind.GOVERNMENT and parent is None:
        raise ValidationFailed(_("Only the government itself has no parent organization."))
    with transaction.atomic():
        organization = Organization.objects.create(
            code=code,
            name_ja=name_ja,
            name_en=name_en,
            kind=kind,
            parent=parent,
            path="",
            depth=(parent.depth + 1) if parent else 0,
        )
        organization.path = f"{parent.path if parent else '/'}{organization.pk}/"
        organization.save(update_fields=["path"])
        audit_record(
            actor=actor,
            action="accounts.organization_created",
            target=organization,
            data={"code": code, "kind": kind, "parent": parent.code if parent else None},
        )
    return organization


# Roles only a system administrator may grant.
SYSTEM_APPOINTED_ROLES = frozenset({Role.AUDITOR, Role.SYSTEM_ADMIN})


def organization_update(
    *, actor: Any, organization: Organization, name_ja: str, name_en: str
) -> Organization:
    """Rename an organization (its place in the tree never changes)."""
    if actor is not None and not actor_may(actor, Action.MANAGE_MEMBERSHIPS, organization):
        raise PermissionDenied()
    with transaction.atomic():
        locked = Organization.objects.select_for_update().get(pk=organization.pk)
        before = {"name_ja": locked.name_ja, "name_en": locked.name_en}
        locked.name_ja, locked.name_en = name_ja, name_en
        locked.save(update_fields=["name_ja", "name_en", "updated_at"])
        audit_record(
            actor=actor,
            action="accounts.organization_renamed",
            target=locked,
            data={"before": before, "after": {"name_ja": name_ja, "name_en": name_en}},
        )
    return locked


def organization_retention_set(
    *, actor: Any, organization: Organization, period: str
) -> Organization:
    """Set the department's default retention period (core.retention): what a
    procedure of it keeps its cases for when its version does not say; written into
    each version at its publication, so published versions keep theirs."""
    if actor is not None and not (
        actor_may(actor, Action.MANAGE_PROCEDURES, organization)
        or actor_may(actor, Action.MANAGE_MEMBERSHIPS, organization)
    ):
        raise PermissionDenied()
    if period not in RetentionPeriod.values:
        raise ValidationFailed(details={"period": [_("Choose a retention period from the list.")]})
    with transaction.atomic():
        locked = Organization.objects.select_for_update().get(pk=organization.pk)
        before = locked.default_retention_period
        if before != period:
            locked.default_retention_period = period
            locked.save(update_fields=["default_retention_period", "updated_at"])
            audit_record(
                actor=actor,
                action="accounts.default_retention_changed",
                target=locked,
                data={"before": before, "after": period},
            )
    return locked


def membership_grant_check(*, actor: Any, organization: Organization, role: str) -> None:
    """Raise unless `actor` may grant `role` in `organization`: they must manage
    memberships there, and only system administrators appoint auditors (who must
    be independent of the departments they audit) and other system administrators.
    An actor of None is the platform itself (seeding, commands)."""
    if role not in Role.values:
        raise ValidationFailed(_("Unknown role."))
    if actor is None:
        return
    if not actor_may(actor, Action.MANAGE_MEMBERSHIPS, organization):
        raise PermissionDenied(_("You do not manage roles in this organization."))
    if role in SYSTEM_APPOINTED_ROLES and Role.SYSTEM_ADMIN not in actor_roles(actor):
        raise PermissionDenied(
            _("Only a system administrator can appoint auditors and system administrators.")
        )


def membership_grant(
    *, actor: Any = None, user: User, organization: Organization, role: str
) -> Membership:
    """Give `user` a role in `organization` (see membership_grant_check)."""
    membership_grant_check(actor=actor, organization=organization, role=role)
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            user=user, organization=organization, role=role
        )
        if created:
            # Tokens issued before this role were issued without a second factor;
            # they must not carry staff powers.
            revoked, _rows = AuthToken.objects.filter(user=user).delete()
            audit_record(
                actor=actor,
                action="accounts.role_granted",
                target=user,
                data={"organization": organization.code, "role": role, "tokens_revoked": revoked},
            )
    forget_memberships(user)
    memberships_changed()
    return membership


def membership_revoke(*, actor: Any = None, membership: Membership) -> None:
    if actor is not None and not actor_may(
        actor, Action.MANAGE_MEMBERSHIPS, membership.organization
    ):
        raise PermissionDenied()
    with transaction.atomic():
        locked = Membership.objects.select_for_update().filter(pk=membership.pk).first()
        if locked is None:
            return
        locked.delete()
        audit_record(
            actor=actor,
            action="accounts.role_revoked",
            target=membership.user,
            data={"organization": membership.organization.code, "role": membership.role},
        )
    forget_memberships(membership.user)
    memberships_changed()


# --- Sign-up, e-mail verification, profile --------------------------------------------


def user_create(
    *,
    email: str,
    password: str | None,
    display_name: str,
    preferred_language: str = Language.JAPANESE,
    email_verified: bool = False,
    actor: Any = None,
) -> User:
    """Create a user; the e-mail address is unique regardless of letter case."""
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(_("An account with this e-mail address already exists."), code="email_taken")
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email,
                password,
                display_name=display_name,
                preferred_language=preferred_language,
                email_verified_at=timezone.now() if email_verified else None,
            )
            audit_record(actor=actor, action="accounts.user_created", target=user)
    except IntegrityError as error:  # lost a race with the same address
        raise Conflict(
            _("An account with this e-mail address already exists."), code="email_taken"
        ) from error
    return user


def resident_sign_up(
    *, email: str, password: str, display_name: str, preferred_language: str
) -> User:
    """A resident creates an account; it can log in once the e-mail is verified.
    The verification link is mailed after the transaction commits."""
    candidate = User(email=email, display_name=display_name)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as error:
        raise ValidationFailed(details={"password": list(error.messages)}) from error
    with transaction.atomic():
        user = user_create(
            email=email,
            password=password,
            display_name=display_name,
            preferred_language=preferred_language,
        )
        enqueue("accounts.tasks.send_verification_email", user.pk)
    return user


def verification_link_parts(user: User) -> tuple[str, str]:
    return urlsafe_base64_encode(force_bytes(user.pk)), email_verification_tokens.make_token(user)


def user_from_uidb64(uidb64: str) -> User | None:
    try:
        return User.objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        return None


def user_verify_email(*, uidb64: str, token: str) -> User:
    """Mark the address verified when the link is genuine and unexpired."""
    user = user_from_uidb64(uidb64)
    if user is None or not email_verification_tokens.check_token(user, token):
        raise DomainError(
            _("This verification link is invalid or has expired. Request a new one."),
            code="invalid_link",
        )
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.email_verified_at is None:
            user.email_verified_at = timezone.now()
            user.save(update_fields=["email_verified_at"])
            audit_record(actor=user, action="accounts.email_verified", target=user)
    return user


def verification_email_resend(*, email: str) -> None:
    """Send a fresh link to an unverified account. Says nothing about whether the
    address exists, so nobody can probe for accounts."""
    user = User.objects.filter(email__iexact=email.strip(), email_verified_at__isnull=True).first()
    if user is not None:
        enqueue("accounts.tasks.send_verification_email", user.pk)


def user_set_language(*, user: User, language: str) -> None:
    if language not in Language.values:
        raise ValidationFailed(_("Unsupported language."))
    if user.preferred_language != language:
        with transaction.atomic():
            user.preferred_language = language
            user.save(update_fields=["preferred_language"])
            audit_record(
                actor=user, action="accounts.language_changed", target=user, data={"to": language}
            )


def user_password_changed(*, user: User, how: str) -> None:
    """Record that the password was changed (`how`: reset or change)."""
    audit_record(actor=user, action="accounts.password_changed", target=user, data={"how": how})


# --- Login ----------------------------------------------------------------------------


class LoginRefused(DomainError):
    http_status = 401
    code = "invalid_credentials"
    default_message = _("The e-mail address or password is incorrect.")


class LockedOut(DomainError):
    http_status = 429
    code = "locked_out"
    default_message = _(
        "Too many failed login attempts. For your security, logging in is blocked for a while; "
        "try again later or reset your password."
    )


@dataclass(frozen=True)
class Credentials:
    email: str
    password: str


def _authenticate(request: HttpRequest, credentials: Credentials) -> User:
    """Check the password through django-axes (which counts failures per e-mail and
    IP and refuses locked-out pairs) and audit the outcome."""
    # Lower-cased before django-axes sees it, so that changing the letter case of
    # the address does not start a fresh count of failures.
    email = credentials.email.strip().lower()
    user = authenticate(request, email=email, password=credentials.password)
    if getattr(request, "axes_locked_out", False):
        audit_record(
            action="accounts.lockout",
            target_type="accounts.user",
            data={"email_fingerprint": _email_fingerprint(credentials.email)},
        )
        raise LockedOut()
    if user is None:
        known = User.objects.filter(email__iexact=credentials.email.strip()).first()
        audit_record(
            actor=None,
            action="accounts.login_failed",
            target=known,
            target_type="accounts.user",
            data={"email_fingerprint": _email_fingerprint(credentials.email)},
        )
        raise LoginRefused()
    if not user.email_verified:
        raise DomainError(
            _("Please verify your e-mail address first: follow the link we sent you."),
            code="email_not_verified",
        )
    return user


def session_log_in(*, request: HttpRequest, email: str, password: str) -> User:
    """Password login for the browser. Staff still need their second factor
    before any staff page (accounts.middleware.StaffTwoFactorMiddleware)."""
    user = _authenticate(request, Credentials(email, password))
    login(request, user)
    audit_record(actor=user, action="accounts.login", target=user, data={"method": "password"})
    return user


def session_log_out(*, request: HttpRequest) -> None:
    user = request.user
    if user.is_authenticated:
        audit_record(actor=user, action="accounts.logout", target=user)
    logout(request)


# --- Second factor (TOTP) for staff ---------------------------------------------------


class SecondFactorRefused(DomainError):
    http_status = 401
    code = "invalid_otp"
    default_message = _("The one-time code is not correct, or has expired. Try the current code.")


def totp_enrolment_device(*, user: User) -> TOTPDevice:
    """The unconfirmed device a user is enrolling (one is created on first visit and
    reused, so reloading the page does not change the QR code)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def totp_enrolment_confirm(*, request: HttpRequest, user: User, token: str) -> TOTPDevice:
    """Confirm the device with a first code; the session is then verified."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("-id")
            .first()
        )
        if device is None:
            raise NotFound()
        if not device.verify_token(_clean_otp(token)):
            audit_record(
                actor=user, action="accounts.otp_failed", target=user, data={"step": "enrol"}
            )
            raise SecondFactorRefused()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        # Older confirmed devices are replaced by the new one.
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        audit_record(actor=user, action="accounts.otp_enrolled", target=user)
    otp_login(request, device)
    return device


def _clean_otp(token: str) -> str:
    return "".join(ch for ch in (token or "") if ch.isdigit())[:8]


def _verify_confirmed_otp(user: User, token: str) -> TOTPDevice:
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token(_clean_otp(token)):
            return device
    audit_record(actor=user, action="accounts.otp_failed", target=user, data={"step": "login"})
    raise SecondFactorRefused()


def session_verify_otp(*, request: HttpRequest, token: str) -> None:
    """Second step of a staff login: the current code from the authenticator."""
    user = request.user
    device = _verify_confirmed_otp(user, token)
    otp_login(request, device)
    audit_record(actor=user, action="accounts.otp_verified", target=user)


def totp_secret_base32(device: TOTPDevice) -> str:
    """The secret as authenticator apps expect it typed in by hand."""
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")


def totp_reset(*, actor: Any, user: User) -> int:
    """Remove a staff member's authenticator (lost phone); they enrol a new one at
    their next login. Their API tokens go too, as they were issued on its codes."""
    with transaction.atomic():
        removed, _rows = TOTPDevice.objects.filter(user=user).delete()
        tokens, _rows = AuthToken.objects.filter(user=user).delete()
        audit_record(
            actor=actor,
            action="accounts.otp_reset",
            target=user,
            data={"devices_removed": removed, "tokens_revoked": tokens},
        )
    return removed


def user_has_confirmed_totp(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


# --- API tokens ----------------------------------------------------------------------


class SecondFactorRequired(DomainError):
    http_status = 401
    code = "otp_required"
    default_message = _("Staff accounts need the one-time code from their authenticator (otp).")


def api_token_issue(
    *, request: HttpRequest, email: str, password: str, otp: str = "", name: str = ""
) -> tuple[AuthToken, str]:
    """A bearer token for a machine client. Staff must give a valid one-time code;
    the token then stands for a verified session."""
    user = _authenticate(request, Credentials(email, password))
    if actor_is_staff(user):
        if not otp:
            raise SecondFactorRequired()
        _verify_confirmed_otp(user, otp)
    limit = knox_settings.TOKEN_LIMIT_PER_USER
    live = AuthToken.objects.filter(user=user, expiry__gt=timezone.now()).count()
    if limit is not None and live >= limit:
        raise Conflict(
            _("You already have the maximum number of API tokens. Revoke one first."),
            code="token_limit_reached",
        )
    with transaction.atomic():
        instance, token = AuthToken.objects.create(user=user)
        audit_record(
            actor=user,
            action="accounts.api_token_issued",
            target=user,
            data={"token_key": instance.token_key, "name": name[:100]},
        )
    return instance, token


def api_token_revoke(*, actor: User, token_key: str) -> None:
    """Revoke one of the actor's own tokens (identified by its public key prefix)."""
    with transaction.atomic():
        deleted, _rows = AuthToken.objects.filter(user=actor, token_key=token_key).delete()
        if not deleted:
            raise NotFound()
        audit_record(
            actor=actor,
            action="accounts.api_token_revoked",
            target=actor,
            data={"token_key": token_key},
        )


# --- Notifications -------------------------------------------------------------------------


def notify(
    *,
    user: User,
    subject: Any,
    body: Any,
    params: dict | None = None,
    link: str = "",
    email_task: bool = True,
) -> Notification:
    """Tell a user something, in the app and by e-mail (sent after commit). The
    lazy texts are translated into the user's own language, then filled with
    `params` (callables among them are called then, e.g. a bilingual title).
    With `email_task=False` the caller's own task sends the e-mail
    (`accounts.mail.notification_email_send`, by the notification's id), so one
    message goes to the broker instead of two; the sweep of unsent notifications
    covers that task as it covers this one."""
    with translation.override(user.preferred_language):
        # A callable parameter is evaluated here, in the user's language too.
        params = {
            key: value() if callable(value) else value for key, value in (params or {}).items()
        }
        notification = Notification.objects.create(
            user=user,
            subject=(str(subject) % params)[:200],
            body=str(body) % params,
            link=link[:300],
        )
    if email_task:
        enqueue("accounts.tasks.send_notification_email", notification.pk)
    return notification


def notification_mark_read(*, actor: User, notification_id: int | None = None) -> int:
    """Mark one of the actor's notifications (or all of them) as read."""
    unread = Notification.objects.filter(user=actor, read_at__isnull=True)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=timezone.now())
