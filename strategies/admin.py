from django.contrib import admin

from strategies.models import BacktestRun


@admin.register(BacktestRun)
class BacktestRunAdmin(admin.ModelAdmin):
    list_display = ("id", "strategy_name", "start", "end", "interval", "status", "result_hash", "created_at")
    list_filter = ("status", "strategy_name", "interval")
    readonly_fields = [field.name for field in BacktestRun._meta.fields]

    def has_add_permission(self, request):
        return False  # runs come from the backtest command, the API and the page, where inputs are checked
