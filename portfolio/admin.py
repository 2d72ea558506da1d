from django.contrib import admin

from .models import PnlDaily


@admin.register(PnlDaily)
class PnlDailyAdmin(admin.ModelAdmin):
    list_display = ("date", "account", "realised", "unrealised", "charges", "total", "cash")
    list_filter = ("date",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
