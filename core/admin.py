"""What every ModelAdmin of the site shares (accounts/admin.py applies it to the
admins registered before it too; tests/core/test_admin_guard.py checks that none
is left without it)."""

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError


class HostileInputRefused:
    """What Django's ModelAdmin lets through to a 500: an action on a selection that
    is not a primary key (`_selected_action=true` fails in the query) and a date
    filter too large for a date (`attempt_time__year=10**30`, an OverflowError).
    Such a selection matches no row, like a deleted one (none left: Django's own
    "Items must be selected"); such a filter answers like any bad filter."""

    def response_action(self, request, queryset):
        selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
        kept = [value for value in selected if self._is_primary_key(value)]
        if kept != selected:
            request.POST = request.POST.copy()
            request.POST.setlist(ACTION_CHECKBOX_NAME, kept)
        return super().response_action(request, queryset)

    def _is_primary_key(self, value) -> bool:
        try:
            self.model._meta.pk.to_python(value)
        except ValidationError:
            return False
        return True

    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except OverflowError as error:
            raise IncorrectLookupParameters(error) from error
