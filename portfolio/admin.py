from django.contrib import admin

from tradingsite.admin import ReadOnlyAdmin

from .models import PnlDaily


@admin.register(PnlDaily)
class PnlDailyAdmin(ReadOnlyAdmin):
    list_display = ("date", "account", "realised", "unrealised", "charges", "total", "cash")
    list_filter = ("date",)
