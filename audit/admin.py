from django.contrib import admin

from tradingsite.admin import ReadOnlyAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only for everyone, superusers included: the trail is changed by nobody."""

    list_display = ("sequence", "created_at", "actor", "action", "object_type", "object_id", "client_ip")
    list_filter = ("action", "object_type", "created_at")
    search_fields = ("actor", "action", "object_id", "request_id")
    date_hierarchy = "created_at"
    ordering = ("-sequence",)
    list_per_page = 100
    show_full_result_count = False
    readonly_fields = [field.name for field in AuditEvent._meta.fields]
