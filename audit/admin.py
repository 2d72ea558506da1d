from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.urls import path

from audit.exports import FORMATS, ExportFormatError, audit_export
from audit.models import AuditCheckpoint, AuditEvent
from tradingsite.admin import ReadOnlyAdmin
from tradingsite.ist import IST

# Lookups the audit browser's filter form sends, besides the list filters: who, what object, when.
BROWSER_LOOKUPS = {"actor", "actor_id", "object_id", "request_id", "created_at__gte", "created_at__lt"}


class ObjectTypeFilter(admin.SimpleListFilter):
    """The object types in the trail, events about no object included under a name a reader (and a
    screen reader) can see: "(no object)", where the admin's own filter showed an empty link."""

    title = "object type"
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        types = AuditEvent.objects.order_by("object_type").values_list("object_type", flat=True).distinct()
        return [(kind, kind or "(no object)") for kind in types]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value is None else queryset.filter(object_type=value)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The compliance audit browser: read-only for everyone, superusers included; filters by actor,
    action, object and time range; exports what the filters select, signed."""

    change_list_template = "admin/audit/auditevent/change_list.html"
    list_display = ("sequence", "at", "actor", "action", "object_type", "object_id", "client_ip", "request_id")
    list_filter = ("action", ObjectTypeFilter, "created_at")
    search_fields = ("=actor", "action", "=object_id", "=request_id")
    date_hierarchy = "created_at"
    ordering = ("-sequence",)
    list_per_page = 100
    show_full_result_count = False
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    @admin.display(description="Time (IST)", ordering="created_at")
    def at(self, event):
        """To the second: two events in one minute must read apart."""
        return event.created_at.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in BROWSER_LOOKUPS or super().lookup_allowed(lookup, value, request)

    def get_urls(self):
        export = self.admin_site.admin_view(self.export_view)
        return [path("export/", export, name="audit_auditevent_export"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        # The filter form sends its empty fields too; an empty actor would mean "no actor", not "any".
        empty = [name for name in BROWSER_LOOKUPS if name in request.GET and not request.GET[name].strip()]
        if empty:
            params = request.GET.copy()
            for name in empty:
                params.pop(name)
            return HttpResponseRedirect(f"{request.path}?{params.urlencode()}")
        extra_context = {
            **(extra_context or {}),
            "can_export": request.user.has_perm("audit.export_auditevent"),
            "export_formats": FORMATS,
            "browser_params": {name: request.GET.get(name, "") for name in BROWSER_LOOKUPS},
        }
        return super().changelist_view(request, extra_context)

    def export_view(self, request):
        """The rows the changelist's current filters select, as a zip of data and signed manifest."""
        if not request.user.has_perm("audit.export_auditevent"):
            raise PermissionDenied("exporting the audit trail needs the compliance or admin role")
        export_format = request.GET.get("format", "")
        params = request.GET.copy()
        params.pop("format", None)
        request.GET = params
        changelist = self.get_changelist_instance(request)
        filters = {name: value for name, value in params.items() if name not in ("p", "o")}
        try:
            export = audit_export(
                events=changelist.get_queryset(request),
                export_format=export_format,
                actor=request.user,
                filters=filters,
            )
        except ExportFormatError as exc:
            return HttpResponseBadRequest(str(exc))
        return FileResponse(export.file, as_attachment=True, filename=export.filename, content_type="application/zip")


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "sequence", "hash")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in AuditCheckpoint._meta.fields]
