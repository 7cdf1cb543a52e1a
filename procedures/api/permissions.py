from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from accounts.permissions import Action, actor_may


class _MayTakeAction(BasePermission):
    """The caller holds a role granting `action` somewhere. Which objects they may
    touch is decided by the selectors (an object outside their reach is a 404)."""

    action: str
    code = "permission_denied"

    def has_permission(self, request, view):
        return actor_may(request.user, self.action)


class MayManageProcedures(_MayTakeAction):
    action = Action.MANAGE_PROCEDURES
    message = _("Only department administrators manage procedures.")


class MayDecideExemptions(_MayTakeAction):
    action = Action.DECIDE_EXEMPTIONS
    message = _("Only auditors decide exemptions.")
