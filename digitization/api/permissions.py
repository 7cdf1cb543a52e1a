from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from accounts.permissions import Action, actor_may


class _MayTakeAction(BasePermission):
    """The caller holds a role granting one of `actions` somewhere; which objects
    they reach is the selectors' business (anything else is a 404)."""

    actions: tuple[str, ...]
    code = "permission_denied"

    def has_permission(self, request, view):
        return any(actor_may(request.user, action) for action in self.actions)


class MayAudit(_MayTakeAction):
    actions = (Action.AUDIT_DIGITIZATION,)
    message = _("Only auditors see the digitization figures.")


class MayReport(_MayTakeAction):
    actions = (Action.REPORT_INVENTORY,)
    message = _("Only departments report inventory figures.")


class MayReadInventory(_MayTakeAction):
    actions = (Action.AUDIT_DIGITIZATION, Action.REPORT_INVENTORY)
    message = _("Only auditors and departments see the inventory.")


class MayDecideExemptions(_MayTakeAction):
    actions = (Action.DECIDE_EXEMPTIONS,)
    message = _("Only auditors decide exemptions.")


class MayViewAuditLog(_MayTakeAction):
    actions = (Action.VIEW_AUDIT_LOG,)
    message = _("Only auditors see the audit log.")
