"""The trading API's routes, under /api/v1/ (see tradingsite/urls.py); portfolio and audit add theirs."""

from django.urls import path

from trading.apis import accounts, approvals, market, orders

urlpatterns = [
    path("instruments", market.InstrumentListApi.as_view(), name="instrument-list"),
    path("instruments/<int:instrument_token>/bars", market.InstrumentBarsApi.as_view(), name="instrument-bars"),
    path("quotes", market.QuoteListApi.as_view(), name="quote-list"),
    path("orders", orders.OrderListCreateApi.as_view(), name="order-list"),
    path("orders/preview", orders.OrderPreviewApi.as_view(), name="order-preview"),
    path("orders/<int:order_id>", orders.OrderDetailApi.as_view(), name="order-detail"),
    path("trades", orders.TradeListApi.as_view(), name="trade-list"),
    path("accounts", accounts.AccountListApi.as_view(), name="account-list"),
    path("accounts/<int:account_id>", accounts.AccountDetailApi.as_view(), name="account-detail"),
    path("accounts/<int:account_id>/limits", accounts.AccountLimitsApi.as_view(), name="account-limits"),
    path("accounts/<int:account_id>/halt", accounts.AccountHaltApi.as_view(), name="account-halt"),
    path("accounts/<int:account_id>/resume", accounts.AccountResumeApi.as_view(), name="account-resume"),
    path("approvals", approvals.ApprovalListApi.as_view(), name="approval-list"),
    path("approvals/<int:approval_id>", approvals.ApprovalDetailApi.as_view(), name="approval-detail"),
    path("approvals/<int:approval_id>/approve", approvals.ApprovalApproveApi.as_view(), name="approval-approve"),
    path("approvals/<int:approval_id>/reject", approvals.ApprovalRejectApi.as_view(), name="approval-reject"),
]
