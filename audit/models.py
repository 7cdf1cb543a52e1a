from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One append-only row of the audit log.

    Rows form a hash chain: `hash` is SHA-256 over the previous row's hash followed
    by this row's canonical JSON (RFC 8785), and `sequence` has no gaps, so editing,
    removing or reordering any row is detected by `manage.py audit_verify`. A
    database trigger refuses UPDATE and DELETE (audit/migrations/0002).
    """

    sequence = models.BigIntegerField(_("sequence"), unique=True)
    occurred_at = models.DateTimeField(_("time"), db_index=True)
    # No foreign-key constraint: the log must outlive anything it mentions.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=100, db_index=True)
    target_type = models.CharField(_("target type"), max_length=100, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    # Events before ip_digest existed hold the address itself; since, only its
    # keyed digest (audit.services.address_digest).
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    ip_digest = models.CharField(_("IP address (keyed digest)"), max_length=64, blank=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["sequence"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action}"


class AuditChainHead(models.Model):
    """The single row that holds the end of the chain. Appending locks it, so
    concurrent writers queue up instead of forking the chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="audit_head_singleton")
        ]

    def __str__(self) -> str:
        return f"chain head at #{self.sequence}"
