from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

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
from trading.orders.accounts import account_create
from trading.orders.approvals import account_limits_change, approval_decide, ceiling_passed
from tradingsite.admin import ReadOnlyAdmin
from tradingsite.exceptions import ApplicationError


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ("tradingsymbol", "exchange", "name", "instrument_type", "tick_size", "lot_size", "last_price")
    list_filter = ("exchange", "segment", "instrument_type")
    search_fields = ("tradingsymbol", "name", "instrument_token")
    readonly_fields = ("last_price", "last_price_at", "last_volume")


class TradingAccountForm(forms.ModelForm):
    class Meta:
        model = TradingAccount
        fields = ("owner", "name", "broker", "cash", *TradingAccount.RISK_LIMIT_FIELDS)

    def clean(self):
        data = super().clean()
        if self.instance.pk:
            changes = {
                name: data[name]
                for name in self.changed_data
                if name in TradingAccount.RISK_LIMIT_FIELDS and name in data  # (a field that failed is not)
            }
            passed = ceiling_passed({name: value for name, value in changes.items() if value is not None})
            if passed:
                raise forms.ValidationError(passed)
            # Then the limits' own rules as the API has them, field by field: a zero leverage or a
            # negative limit is refused here as it is there.
            from trading.apis.accounts import AccountLimitsApi

            rules = AccountLimitsApi.InputSerializer(
                data={name: str(value) for name, value in changes.items() if value is not None}
            )
            if not rules.is_valid():
                for name, errors in rules.errors.items():
                    self.add_error(name, [str(error) for error in errors])
        return data


@admin.register(TradingAccount)
class TradingAccountAdmin(admin.ModelAdmin):
    """Ops and admin open accounts here and set their risk limits. Opening one goes through the same
    service as everywhere (audited); a limit lowered applies at once, a limit raised becomes a request
    that a second person approves under Approvals. Cash, status and the rest change only through the
    order path, the kill switch and approvals."""

    form = TradingAccountForm
    list_display = ("name", "owner", "broker", "cash", "status", "status_reason")
    list_filter = ("broker", "status")
    search_fields = ("name", "owner__username")
    OPENING = ("owner", "name", "broker", "cash")
    SHOWN = ("status", "status_reason", "created_at")

    def get_fields(self, request, obj=None):
        return self.OPENING if obj is None else (*self.OPENING, *self.SHOWN, *TradingAccount.RISK_LIMIT_FIELDS)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else (*self.OPENING, *self.SHOWN)

    def has_change_permission(self, request, obj=None):
        # Opening accounts and setting their limits go together in the back office (ops, admin); the
        # traders' own change permission is for their own accounts, through the API and pages.
        return request.user.has_perm("trading.add_tradingaccount")

    def has_delete_permission(self, request, obj=None):
        return False  # accounts are closed by halting them; their history stays

    def save_model(self, request, obj, form, change):
        if not change:
            opened = account_create(
                owner=obj.owner, name=obj.name, cash=obj.cash, broker=obj.broker, created_by=request.user
            )
            obj.pk, obj._state.adding = opened.pk, False
            return
        changes = {
            name: form.cleaned_data[name] for name in form.changed_data if name in TradingAccount.RISK_LIMIT_FIELDS
        }
        if not changes:
            return
        try:
            _, approval = account_limits_change(
                account=TradingAccount.objects.get(pk=obj.pk), changes=changes, changed_by=request.user
            )
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        if approval is not None:
            raised = ", ".join(f"{name} to {value}" for name, value in approval.changes.items())
            self.message_user(
                request,
                f"Raising {raised} waits for a second person's approval (request {approval.pk}); "
                "what was lowered applies now.",
                messages.WARNING,
            )


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

    list_display = (
        "id", "created_at", "account", "kind", "changes", "reason", "requested_by", "status", "decided_by", "open_link",
    )  # fmt: skip
    list_filter = ("status", "kind")
    search_fields = ("account__name", "requested_by__username")
    date_hierarchy = "created_at"
    actions = ["approve", "reject"]

    @admin.display(description="Decide")
    def open_link(self, approval):
        url = reverse("admin:trading_approvalrequest_decide", args=[approval.pk])
        label = "Approve or reject" if approval.status == ApprovalRequest.Status.PENDING else "See the decision"
        return format_html('<a href="{}">{}</a>', url, label)

    def get_urls(self):
        decide = self.admin_site.admin_view(self.decide_view)
        return [path("<int:approval_id>/decide/", decide, name="trading_approvalrequest_decide"), *super().get_urls()]

    def decide_view(self, request, approval_id: int):
        """One request in full (what it changes against the account's values now, who asked and why, why
        the account was halted), with a note and approve and reject buttons for a second person."""
        approval = ApprovalRequest.objects.select_related("account", "requested_by", "decided_by").filter(
            pk=approval_id
        )
        approval = approval.first()
        if approval is None or not self.has_view_permission(request, approval):
            raise Http404(f"no approval request {approval_id}")
        can_decide = self.has_approve_permission(request) and approval.status == ApprovalRequest.Status.PENDING
        if request.method == "POST":
            if not can_decide:
                raise PermissionDenied("deciding needs the approve permission and a pending request")
            approve = "approve" in request.POST
            try:
                approval_decide(
                    approval_id=approval.pk, decided_by=request.user, approve=approve, note=request.POST.get("note", "")
                )
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                verb = "approved and applied" if approve else "rejected"
                self.message_user(request, f"Request {approval.pk} {verb}.", messages.SUCCESS)
            return HttpResponseRedirect(request.path)
        account = approval.account
        current = {name: getattr(account, name, None) for name in approval.changes}
        context = {
            **self.admin_site.each_context(request),
            "title": f"Approval request {approval.pk}",
            "approval": approval,
            "account": account,
            "rows": [(name, current.get(name), value) for name, value in approval.changes.items()],
            "can_decide": can_decide,
            "own": approval.requested_by_id == request.user.pk,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/trading/approvalrequest/decide.html", context)

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
