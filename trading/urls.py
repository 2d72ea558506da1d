from django.urls import path

from tradingsite.concurrency import in_thread_pool

from . import apis

urlpatterns = [
    path("instruments", in_thread_pool(apis.InstrumentListApi.as_view()), name="instrument-list"),
    path("orders", in_thread_pool(apis.OrderListCreateApi.as_view()), name="order-list"),
    path("orders/<int:order_id>", in_thread_pool(apis.OrderDetailApi.as_view()), name="order-detail"),
    path("trades", in_thread_pool(apis.TradeListApi.as_view()), name="trade-list"),
    path("positions", in_thread_pool(apis.PositionListApi.as_view()), name="position-list"),
    path("portfolio/summary", in_thread_pool(apis.PortfolioSummaryApi.as_view()), name="portfolio-summary"),
    path("portfolio/pnl-daily", in_thread_pool(apis.PnlDailyApi.as_view()), name="portfolio-pnl-daily"),
    path("accounts", in_thread_pool(apis.AccountListApi.as_view()), name="account-list"),
    path("accounts/<int:account_id>", in_thread_pool(apis.AccountDetailApi.as_view()), name="account-detail"),
    path("accounts/<int:account_id>/limits", in_thread_pool(apis.AccountLimitsApi.as_view()), name="account-limits"),
    path("accounts/<int:account_id>/halt", in_thread_pool(apis.AccountHaltApi.as_view()), name="account-halt"),
    path("accounts/<int:account_id>/resume", in_thread_pool(apis.AccountResumeApi.as_view()), name="account-resume"),
]
