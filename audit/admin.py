from django.contrib import admin

from audit.models import AuditEvent
from core.admin import HostileInputRefused


@admin.register(AuditEvent)
class AuditEventAdmin(HostileInputRefused, admin.ModelAdmin):
    list_display = ["sequence", "occurred_at", "actor", "action", "target_type", "target_id"]
    list_filter = ["action"]
    search_fields = ["action", "target_type", "target_id", "request_id"]

    # The log is append-only: nobody edits or deletes through the admin either.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
