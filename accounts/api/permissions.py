from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken
from rest_framework.permissions import BasePermission

from accounts.permissions import actor_is_staff


class StaffSecondFactorVerified(BasePermission):
    """Staff calling the API from a browser session must have passed their second
    factor; staff bearer tokens are only ever issued with one."""

    message = _("Complete the second login step (one-time code) first.")
    code = "otp_required"

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated or isinstance(request.auth, AuthToken):
            return True
        if not actor_is_staff(user):
            return True
        return bool(getattr(user, "is_verified", lambda: False)())
