"""The inventory of every procedure of the government (hosted here or not), the
case figures departments report, the periodic snapshots of the rates, and the
recorded results of the audit chain checks.

What a procedure *is* lives in the catalogue (procedures.Procedure); an inventory
entry of a hosted procedure mirrors it (code, titles, owner, volume) and carries
the stage and principle flags derived from its published version. Entries of
procedures outside the platform carry what their department recorded. Whether
an entry counts as digital also depends on the exemptions in force *today*, so
that is computed when read (digitization.metrics), never stored."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel, localized


class Channel(models.TextChoices):
    PLATFORM = "platform", _("This platform")
    OTHER_ONLINE = "other_online", _("Another online system")
    OFFLINE = "offline", _("Offline only")


class Stage(models.TextChoices):
    """The five stages a procedure must have online to count as digital."""

    APPLICATION = "application", _("Application")
    IDENTITY = "identity", _("Identity verification")
    PAYMENT = "payment", _("Fee payment")
    ATTACHMENTS = "attachments", _("Attachments")
    DELIVERY = "delivery", _("Result delivery")


STAGES: tuple[str, ...] = tuple(Stage.values)
# The procedures app's principles, in its order (procedures.models.Principle).
PRINCIPLES: tuple[str, ...] = ("paperless", "hanko_less", "cashless", "fax_less", "touchless")


class InventoryEntry(TimeStampedModel):
    """One procedure type of the government.

    `<stage>_online` says whether a stage can be done online; `fails_<principle>`
    whether the procedure breaks a five-less principle; `blocks_<principle>`
    whether that principle keeps one of its stages offline (so that an approved
    exemption from it would cover the stage). All three are *before* exemptions:
    exemptions are applied when the rates are computed, on the day they are
    computed, so one that passes its review date stops counting at once."""

    code = models.SlugField(_("code"), max_length=63, unique=True)
    title_ja = models.CharField(_("title (Japanese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    organization = models.ForeignKey(
        "accounts.Organization",
        verbose_name=_("owning organization"),
        on_delete=models.PROTECT,
        related_name="inventory_entries",
    )
    # The catalogue procedure of the same code, when there is one: hosted
    # procedures, and procedures being prepared in the builder (whose exemptions
    # then cover the stages recorded here).
    procedure = models.OneToOneField(
        "procedures.Procedure",
        verbose_name=_("catalogue procedure"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inventory_entry",
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    active = models.BooleanField(
        _("in force"),
        default=True,
        help_text=_("Abolished or retired procedures stay listed but do not count."),
    )
    annual_volume = models.PositiveBigIntegerField(_("cases per fiscal year"), default=0)
    # The fiscal year (April to March, named by the year it starts in) the volume
    # was measured in; empty for a hosted procedure's catalogue estimate.
    volume_fiscal_year = models.PositiveSmallIntegerField(
        _("fiscal year of the volume"), null=True, blank=True
    )

    application_online = models.BooleanField(_("application online"), default=False)
    identity_online = models.BooleanField(_("identity verification online"), default=False)
    payment_online = models.BooleanField(_("fee payment online"), default=False)
    attachments_online = models.BooleanField(_("attachments online"), default=False)
    delivery_online = models.BooleanField(_("result delivery online"), default=False)
    stages_online = models.BooleanField(default=False, editable=False)

    fails_paperless = models.BooleanField(default=False)
    fails_hanko_less = models.BooleanField(default=False)
    fails_cashless = models.BooleanField(default=False)
    fails_fax_less = models.BooleanField(default=False)
    fails_touchless = models.BooleanField(default=False)
    blocks_paperless = models.BooleanField(default=False, editable=False)
    blocks_hanko_less = models.BooleanField(default=False, editable=False)
    blocks_cashless = models.BooleanField(default=False, editable=False)
    blocks_fax_less = models.BooleanField(default=False, editable=False)
    blocks_touchless = models.BooleanField(default=False, editable=False)
    # {stage: [principles that keep it offline]}, for showing each stage.
    stage_principles = models.JSONField(default=dict, blank=True, editable=False)
    # Hosted procedures: the published version the flags were derived from.
    assessed_version = models.ForeignKey(
        "procedures.ProcedureVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("inventory entry")
        verbose_name_plural = _("inventory entries")
        indexes = [
            models.Index(fields=["organization", "active"], name="inventory_org_active"),
            models.Index(fields=["-annual_volume", "code"], name="inventory_volume_desc"),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.title}"

    @property
    def title(self) -> str:
        return localized(self, "title")

    @property
    def hosted(self) -> bool:
        return self.channel == Channel.PLATFORM

    def stage_online(self, stage: str) -> bool:
        return getattr(self, f"{stage}_online")


class CaseReport(TimeStampedModel):
    """Cases a department received for one procedure in one month: online (only
    for procedures outside the platform, whose own filings are counted by the
    applications app) and offline (paper, counter, post)."""

    entry = models.ForeignKey(
        InventoryEntry,
        verbose_name=_("procedure"),
        on_delete=models.CASCADE,
        related_name="case_reports",
    )
    month = models.DateField(_("month"), help_text=_("First day of the month"))
    online_cases = models.PositiveBigIntegerField(_("cases received online"), default=0)
    offline_cases = models.PositiveBigIntegerField(_("cases received offline"), default=0)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-month", "entry"]
        verbose_name = _("case report")
        verbose_name_plural = _("case reports")
        constraints = [
            models.UniqueConstraint(fields=["entry", "month"], name="case_report_one_per_month"),
        ]
        indexes = [models.Index(fields=["month"], name="case_report_month")]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.month:%Y-%m}: {self.online_cases}/{self.offline_cases}"


class InventoryTotals(models.Model):
    """Running totals of one organization's own entries in force (not its
    subtree's), so the rates are read from a row per organization instead of
    aggregating the whole inventory per request (issue #10, B4).

    Only what does not depend on the day is kept: exemptions pass their review
    date without anyone writing, so whether a linked entry is covered by one is
    computed when read, from the few entries linked to the catalogue
    (digitization.metrics). The services refresh an organization's row in the
    transaction of every change to its entries (digitization.totals); the row
    is also the lock that orders those refreshes."""

    organization = models.OneToOneField(
        "accounts.Organization", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    procedures = models.PositiveIntegerField(default=0)
    online_procedures = models.PositiveIntegerField(default=0)  # every stage online
    volume = models.PositiveBigIntegerField(default=0)
    online_volume = models.PositiveBigIntegerField(default=0)
    fails_paperless = models.PositiveIntegerField(default=0)
    fails_hanko_less = models.PositiveIntegerField(default=0)
    fails_cashless = models.PositiveIntegerField(default=0)
    fails_fax_less = models.PositiveIntegerField(default=0)
    fails_touchless = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("inventory totals")
        verbose_name_plural = _("inventory totals")

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.procedures}"


class ReportedCaseTotals(models.Model):
    """The cases an organization's departments reported for one month, summed
    over its own entries (digitization.totals keeps it with every report)."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    month = models.DateField()
    online_cases = models.PositiveBigIntegerField(default=0)
    offline_cases = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("reported case totals")
        verbose_name_plural = _("reported case totals")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "month"], name="reported_totals_one_per_month"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.organization_id} {self.month:%Y-%m}: {self.online_cases}/{self.offline_cases}"
        )


class SnapshotKind(models.TextChoices):
    DAILY = "daily", _("Daily")
    MONTH_END = "month_end", _("Month end")
    FISCAL_YEAR_END = "fiscal_year_end", _("Fiscal year end")


class Snapshot(models.Model):
    """The rates on one day, for the whole government and (in `organizations`)
    for each organization with its subtree, so trends can be drawn for any
    auditor's scope. Taken by Celery beat; taking it again the same day for the
    same kind replaces it."""

    taken_on = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=20, choices=SnapshotKind.choices)
    taken_at = models.DateTimeField(_("taken at"))
    target = models.DecimalField(_("target"), max_digits=5, decimal_places=4)
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    procedures = models.PositiveIntegerField(default=0)
    digital_procedures = models.PositiveIntegerField(default=0)
    volume = models.PositiveBigIntegerField(default=0)
    digital_volume = models.PositiveBigIntegerField(default=0)
    online_cases = models.PositiveBigIntegerField(default=0)
    offline_cases = models.PositiveBigIntegerField(default=0)
    # {organization code: {procedures, digital_procedures, volume, ...}}
    organizations = models.JSONField(default=dict)

    class Meta:
        ordering = ["-taken_on", "kind"]
        verbose_name = _("snapshot")
        verbose_name_plural = _("snapshots")
        constraints = [
            models.UniqueConstraint(fields=["taken_on", "kind"], name="snapshot_one_per_day_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.taken_on} {self.kind}"


class ChainCheck(models.Model):
    """The result of one verification of the audit chain, for the auditors'
    log viewer (verifying walks the whole log, so it is not done per page view)."""

    checked_at = models.DateTimeField(_("checked at"))
    ok = models.BooleanField(_("intact"))
    events_checked = models.PositiveBigIntegerField(_("events checked"))
    broken_sequence = models.PositiveBigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-checked_at"]
        get_latest_by = "checked_at"
        verbose_name = _("audit chain check")
        verbose_name_plural = _("audit chain checks")

    def __str__(self) -> str:
        return f"{self.checked_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'broken'}"
