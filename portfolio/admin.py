from django.contrib import admin

from portfolio.models import PnlDaily
from tradingsite.admin import ReadOnlyAdmin


@admin.register(PnlDaily)
class PnlDailyAdmin(ReadOnlyAdmin):
    list_display = ("date", "account", "realised", "unrealised", "charges", "total", "cash", "equity")
    list_filter = ("date",)
