from django.urls import path

from audit import apis as audit_apis
from trading.apis import orders as apis

urlpatterns = [
    path("instruments", apis.InstrumentListApi.as_view(), name="instrument-list"),
    path("instruments/<int:instrument_token>/bars", apis.InstrumentBarsApi.as_view(), name="instrument-bars"),
    path("quotes", apis.QuoteListApi.as_view(), name="quote-list"),
    path("orders", apis.OrderListCreateApi.as_view(), name="order-list"),
    path("orders/<int:order_id>", apis.OrderDetailApi.as_view(), name="order-detail"),
    path("trades", apis.TradeListApi.as_view(), name="trade-list"),
    path("positions", apis.PositionListApi.as_view(), name="position-list"),
    path("portfolio/summary", apis.PortfolioSummaryApi.as_view(), name="portfolio-summary"),
    path("portfolio/pnl-daily", apis.PnlDailyApi.as_view(), name="portfolio-pnl-daily"),
    path("accounts", apis.AccountListApi.as_view(), name="account-list"),
    path("accounts/<int:account_id>", apis.AccountDetailApi.as_view(), name="account-detail"),
    path("accounts/<int:account_id>/limits", apis.AccountLimitsApi.as_view(), name="account-limits"),
    path("accounts/<int:account_id>/halt", apis.AccountHaltApi.as_view(), name="account-halt"),
    path("accounts/<int:account_id>/resume", apis.AccountResumeApi.as_view(), name="account-resume"),
    path("approvals", apis.ApprovalListApi.as_view(), name="approval-list"),
    path("approvals/<int:approval_id>", apis.ApprovalDetailApi.as_view(), name="approval-detail"),
    path("approvals/<int:approval_id>/approve", apis.ApprovalApproveApi.as_view(), name="approval-approve"),
    path("approvals/<int:approval_id>/reject", apis.ApprovalRejectApi.as_view(), name="approval-reject"),
    path("audit/events", audit_apis.AuditEventListApi.as_view(), name="audit-event-list"),
]
