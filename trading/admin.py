from django.contrib import admin, messages

from trading.models import (
    ApprovalRequest,
    ChargeRate,
    Instrument,
    LedgerCross,
    Order,
    OutboxEntry,
    Position,
    Strategy,
    StrategyPosition,
    Trade,
    TradingAccount,
)
from trading.orders.approvals import approval_decide
from tradingsite.admin import ReadOnlyAdmin
from tradingsite.exceptions import ApplicationError


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ("tradingsymbol", "exchange", "name", "instrument_type", "tick_size", "lot_size", "last_price")
    list_filter = ("exchange", "segment", "instrument_type")
    search_fields = ("tradingsymbol", "name", "instrument_token")
    readonly_fields = ("last_price", "last_price_at", "last_volume")


@admin.register(TradingAccount)
class TradingAccountAdmin(ReadOnlyAdmin):
    list_display = ("name", "owner", "broker", "cash", "status", "status_reason")
    list_filter = ("broker", "status")
    search_fields = ("name", "owner__username")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "created_at",
        "account",
        "transaction_type",
        "quantity",
        "tradingsymbol",
        "order_type",
        "product",
        "price",
        "status",
        "filled_quantity",
        "average_price",
        "rejection_rule",
    )
    list_filter = ("status", "order_type", "product", "transaction_type", "rejection_rule", "adopted")
    search_fields = ("tradingsymbol", "broker_order_id", "client_order_id", "tag", "account__name")
    date_hierarchy = "created_at"


@admin.register(Trade)
class TradeAdmin(ReadOnlyAdmin):
    list_display = ("trade_id", "fill_timestamp", "account", "transaction_type", "quantity", "tradingsymbol", "price")
    list_filter = ("transaction_type", "product")
    search_fields = ("trade_id", "tradingsymbol", "account__name")
    date_hierarchy = "fill_timestamp"


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ("account", "instrument", "product", "quantity", "average_price", "realised_pnl", "charges")
    list_filter = ("product",)


@admin.register(StrategyPosition)
class StrategyPositionAdmin(ReadOnlyAdmin):
    list_display = (
        "account",
        "strategy",
        "instrument",
        "product",
        "quantity",
        "average_price",
        "realised_pnl",
        "charges",
    )
    list_filter = ("product", "strategy")


@admin.register(LedgerCross)
class LedgerCrossAdmin(ReadOnlyAdmin):
    list_display = ("crossed_at", "account", "instrument", "product", "seller", "buyer", "quantity", "price", "reason")
    list_filter = ("reason", "product")
    date_hierarchy = "crossed_at"


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "account", "enabled")
    list_filter = ("kind", "enabled")


@admin.register(OutboxEntry)
class OutboxEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "order", "action", "attempts", "claimed_at", "sent_at", "last_error")
    list_filter = ("action",)


@admin.register(ChargeRate)
class ChargeRateAdmin(ReadOnlyAdmin):
    list_display = ("segment", "effective_from", "brokerage_rate", "stt_buy_rate", "stt_sell_rate", "exchange_rate")


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    """Ops and admin approve or reject requests here; the decision runs through the same service as the API
    (a second person only, pending and unexpired only) and is recorded with both people."""

    list_display = ("id", "created_at", "account", "kind", "changes", "reason", "requested_by", "status", "decided_by")
    list_filter = ("status", "kind")
    search_fields = ("account__name", "requested_by__username")
    date_hierarchy = "created_at"
    actions = ["approve", "reject"]

    def has_approve_permission(self, request):
        return request.user.has_perm("trading.approve_approvalrequest")

    has_reject_permission = has_approve_permission

    def decide(self, request, queryset, *, approve: bool):
        for approval in queryset.filter(status=ApprovalRequest.Status.PENDING):
            try:
                approval_decide(approval_id=approval.pk, decided_by=request.user, approve=approve)
            except ApplicationError as exc:
                self.message_user(request, f"Request {approval.pk}: {exc.message}", messages.ERROR)
            else:
                verb = "approved and applied" if approve else "rejected"
                self.message_user(request, f"Request {approval.pk} {verb}.", messages.SUCCESS)

    @admin.action(description="Approve selected requests", permissions=["approve"])
    def approve(self, request, queryset):
        self.decide(request, queryset, approve=True)

    @admin.action(description="Reject selected requests", permissions=["reject"])
    def reject(self, request, queryset):
        self.decide(request, queryset, approve=False)
