from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel, localized
from core.retention import DEFAULT_PERIOD, RetentionPeriod


class Language(models.TextChoices):
    # Each language named in itself, as language pickers do.
    JAPANESE = "ja", "日本語"
    ENGLISH = "en", "English"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields):
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.update(is_staff=True, is_superuser=True, email_verified_at=timezone.now())
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """Anyone who logs in. Residents have no membership; staff (clerks, approvers,
    department admins, auditors, system admins) have one or more."""

    # Stored lower-cased (UserManager.create_user), so plain uniqueness is
    # case-insensitive uniqueness.
    email = models.EmailField(_("e-mail address"), max_length=254, unique=True)
    display_name = models.CharField(_("display name"), max_length=150)
    preferred_language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.JAPANESE
    )
    email_verified_at = models.DateTimeField(_("e-mail verified at"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Django admin access only; roles come from memberships.
    is_staff = models.BooleanField(_("admin site access"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")), name="accounts_user_email_lowercase"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name


class OrganizationKind(models.TextChoices):
    GOVERNMENT = "government", _("Government")
    BUREAU = "bureau", _("Bureau")
    DEPARTMENT = "department", _("Department")
    SECTION = "section", _("Section")


class Organization(TimeStampedModel):
    """A node of the government's tree: the government, its bureaus, their
    departments and sections. `path` lists the ids from the root ("/1/4/9/"), so a
    whole subtree is one indexed prefix query."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name_ja = models.CharField(_("name (Japanese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=OrganizationKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=255, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    # What a procedure of this department keeps its cases for when its definition
    # does not say (core.retention).
    default_retention_period = models.CharField(
        _("default retention period"),
        max_length=10,
        choices=RetentionPeriod.choices,
        default=DEFAULT_PERIOD,
    )

    class Meta:
        ordering = ["path"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localized(self, "name")


class Role(models.TextChoices):
    CLERK = "clerk", _("Clerk")
    APPROVER = "approver", _("Approver")
    DEPARTMENT_ADMIN = "department_admin", _("Department administrator")
    AUDITOR = "auditor", _("Auditor")
    SYSTEM_ADMIN = "system_admin", _("System administrator")


class Membership(TimeStampedModel):
    """A role a user holds in an organization, and so in all of its descendants."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organization"),
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization", "role"], name="accounts_membership_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} @ {self.organization}"


class Notification(models.Model):
    """A message to a user, shown in the app and also sent by e-mail (never fax).
    Subject and body are stored in the user's language at the time of sending."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)
    # Set while a worker sends the e-mail (accounts.mail); shown nowhere.
    email_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return self.subject


class IdentityVerification(models.Model):
    """An identity an external provider (OpenID Connect) vouched for, attached to an
    account that logs in with its password. The provider's subject identifies the
    person; one subject of one issuer belongs to one account only, so nobody can
    file as a person already verified on another account. Verifying again with the
    same subject refreshes the row (name, address and time)."""

    user = models.ForeignKey(
        User,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="identity_verifications",
    )
    issuer = models.CharField(_("identity provider"), max_length=255)
    subject = models.CharField(_("subject identifier"), max_length=255)
    full_name = models.CharField(_("full name"), max_length=200)
    name_kana = models.CharField(_("name in kana"), max_length=200, blank=True)
    birth_date = models.DateField(_("date of birth"))
    # "male", "female" or "other", as the provider asserted it (blank if not shared).
    sex = models.CharField(_("sex"), max_length=10, blank=True)
    address = models.CharField(_("address"), max_length=500, blank=True)
    verified_at = models.DateTimeField(_("verified at"))

    class Meta:
        ordering = ["-verified_at", "-id"]
        verbose_name = _("identity verification")
        verbose_name_plural = _("identity verifications")
        indexes = [models.Index(fields=["user", "-verified_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "subject"], name="accounts_identity_subject_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.issuer})"
