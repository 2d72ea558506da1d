from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that change only through the services (risk checks, audit) or never: the admin shows
    them to those allowed to view, and nobody, superusers included, adds, edits or deletes them there."""

    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
