from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel, localized


class Category(models.TextChoices):
    RESIDENCE = "residence", _("Residence and family register")
    TAX = "tax", _("Taxes")
    WELFARE = "welfare", _("Welfare")
    CHILDCARE = "childcare", _("Children and childcare")
    HEALTH = "health", _("Health and hygiene")
    HOUSING = "housing", _("Housing")
    BUSINESS = "business", _("Business and industry")
    CONSTRUCTION = "construction", _("Roads and construction")
    ENVIRONMENT = "environment", _("Environment")
    EDUCATION = "education", _("Education")
    OTHER = "other", _("Other")


class LifeEvent(models.TextChoices):
    MOVING = "moving", _("Moving house")
    CHILDBIRTH = "childbirth", _("Having a baby")
    MARRIAGE = "marriage", _("Marriage")
    CHILDCARE = "childcare", _("Raising children")
    SCHOOLING = "schooling", _("Starting school")
    EMPLOYMENT = "employment", _("Work")
    BUSINESS_START = "business_start", _("Starting a business")
    HOUSING = "housing", _("Finding a home")
    CARE = "care", _("Nursing care")
    RETIREMENT = "retirement", _("Retirement")
    DEATH = "death", _("Bereavement")


class Filer(models.TextChoices):
    INDIVIDUAL = "individual", _("Individuals")
    BUSINESS = "business", _("Businesses")
    BOTH = "both", _("Individuals and businesses")


class IdentityLevel(models.TextChoices):
    EMAIL_VERIFIED = "email_verified", _("Verified e-mail address")
    IDENTITY_VERIFIED = "identity_verified", _("Verified identity (digital ID)")


class ProcedureStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


# The largest estimate a PositiveIntegerField holds on every database; the API, the
# builder and the exchange format refuse more instead of failing at the database.
ANNUAL_VOLUME_MAX = 2_147_483_647


class Procedure(TimeStampedModel):
    """A procedure of the catalogue. What residents fill in lives in its versions;
    the catalogue entry itself (titles, owner, processing period) is not versioned."""

    code = models.SlugField(_("code"), max_length=63, unique=True)
    title_ja = models.CharField(_("title (Japanese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    description_ja = models.TextField(_("description (Japanese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    legal_basis_ja = models.CharField(_("legal basis (Japanese)"), max_length=300, blank=True)
    legal_basis_en = models.CharField(_("legal basis (English)"), max_length=300, blank=True)
    owning_organization = models.ForeignKey(
        "accounts.Organization",
        verbose_name=_("owning organization"),
        on_delete=models.PROTECT,
        related_name="procedures",
    )
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    life_events = models.JSONField(_("life events"), default=list, blank=True)
    filer = models.CharField(_("who files"), max_length=20, choices=Filer.choices)
    identity_level = models.CharField(
        _("identity required"),
        max_length=20,
        choices=IdentityLevel.choices,
        default=IdentityLevel.EMAIL_VERIFIED,
    )
    processing_days = models.PositiveSmallIntegerField(
        _("standard processing period (business days)")
    )
    annual_volume = models.PositiveIntegerField(_("estimated cases per year"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=ProcedureStatus.choices, default=ProcedureStatus.ACTIVE
    )
    # Words residents search by that the title does not hold (synonyms, everyday
    # names, English), and readings of the title or keywords where the morphological
    # analyser reads them wrongly; both written by the department.
    keywords = models.JSONField(_("search keywords"), default=list, blank=True)
    readings = models.JSONField(_("readings"), default=list, blank=True)
    # The application window: before opens_at and from closes_at on, the procedure
    # takes no new submissions (cases already submitted go on). Null = no bound.
    opens_at = models.DateTimeField(_("accepting applications from"), null=True, blank=True)
    closes_at = models.DateTimeField(_("accepting applications until"), null=True, blank=True)
    # Titles, keywords, descriptions and owner as procedures.search folds and reads
    # them, kept by the services, so that searching never depends on how Japanese
    # was typed.
    search_text = models.TextField(blank=True, editable=False)
    # The title's and the keywords' share of search_text, to rank by where a word is found.
    search_title = models.TextField(blank=True, editable=False)
    search_keywords = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("procedure")
        verbose_name_plural = _("procedures")
        constraints = [
            models.CheckConstraint(
                condition=Q(processing_days__gte=1) & Q(processing_days__lte=365),
                name="procedure_processing_days_range",
            ),
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True)
                | Q(closes_at__isnull=True)
                | Q(opens_at__lt=models.F("closes_at")),
                name="procedure_window_order",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return localized(self, "title")

    @property
    def description(self) -> str:
        return localized(self, "description")

    @property
    def legal_basis(self) -> str:
        return localized(self, "legal_basis")


class VersionState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


class ProcedureVersion(TimeStampedModel):
    """One version of a procedure's form, fee, workflow and delivery, as the
    `version` part of the exchange format. A published version never changes;
    editing means a new draft. Applications pin the version they were filed under."""

    procedure = models.ForeignKey(
        Procedure, verbose_name=_("procedure"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    state = models.CharField(
        _("state"), max_length=10, choices=VersionState.choices, default=VersionState.DRAFT
    )
    definition = models.JSONField(_("definition"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    class Meta:
        ordering = ["procedure", "-number"]
        verbose_name = _("procedure version")
        verbose_name_plural = _("procedure versions")
        constraints = [
            models.UniqueConstraint(
                fields=["procedure", "number"], name="procedure_version_number_unique"
            ),
            models.UniqueConstraint(
                fields=["procedure"],
                condition=Q(state="published"),
                name="procedure_one_published_version",
            ),
            models.UniqueConstraint(
                fields=["procedure"], condition=Q(state="draft"), name="procedure_one_draft_version"
            ),
            models.CheckConstraint(
                condition=~Q(state="published") | Q(published_at__isnull=False),
                name="procedure_version_published_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.procedure.code} v{self.number} ({self.state})"

    @property
    def owning_organization(self):
        return self.procedure.owning_organization

    @property
    def form(self) -> dict:
        return self.definition.get("form", {"steps": []})

    @property
    def fee(self) -> dict:
        return self.definition.get("fee", {"kind": "none"})

    @property
    def is_draft(self) -> bool:
        return self.state == VersionState.DRAFT


class Principle(models.TextChoices):
    PAPERLESS = "paperless", _("Paperless")
    HANKO_LESS = "hanko_less", _("Hanko-less")
    CASHLESS = "cashless", _("Cashless")
    FAX_LESS = "fax_less", _("FAX-less")
    TOUCHLESS = "touchless", _("Touchless")


class ExemptionStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    # An approval whose review date passed, closed when a new request is made.
    EXPIRED = "expired", _("Expired")


class Exemption(TimeStampedModel):
    """A procedure's exception from one five-less principle, e.g. because a law
    demands a paper original. It counts only once an auditor approved it, and
    only until its review date."""

    procedure = models.ForeignKey(
        Procedure, verbose_name=_("procedure"), on_delete=models.CASCADE, related_name="exemptions"
    )
    principle = models.CharField(_("principle"), max_length=20, choices=Principle.choices)
    reason = models.TextField(_("reason"))
    legal_basis = models.CharField(_("legal basis"), max_length=300, blank=True)
    within_city_discretion = models.BooleanField(
        _("within the city's own discretion"),
        help_text=_("Could the city remove the obstacle itself (e.g. by changing its own rules)?"),
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ExemptionStatus.choices,
        default=ExemptionStatus.REQUESTED,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    review_date = models.DateField(_("review date"), null=True, blank=True)

    class Meta:
        ordering = ["procedure", "principle", "-created_at"]
        verbose_name = _("exemption")
        verbose_name_plural = _("exemptions")
        constraints = [
            # One live request or approval per principle; refusals stay as history.
            models.UniqueConstraint(
                fields=["procedure", "principle"],
                condition=Q(status__in=["requested", "approved"]),
                name="exemption_one_open_per_principle",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(review_date__isnull=False),
                name="exemption_approved_has_review_date",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.procedure.code}: {self.get_principle_display()} ({self.get_status_display()})"
        )

    @property
    def owning_organization(self):
        return self.procedure.owning_organization

    def is_effective(self, today=None) -> bool:
        today = today or timezone.localdate()
        return (
            self.status == ExemptionStatus.APPROVED
            and self.review_date is not None
            and self.review_date >= today
        )
