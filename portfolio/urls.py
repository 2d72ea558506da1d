"""Portfolio's API routes, under /api/v1/ (see tradingsite/urls.py)."""

from django.urls import path

from portfolio import apis

urlpatterns = [
    path("positions", apis.PositionListApi.as_view(), name="position-list"),
    path("portfolio/summary", apis.PortfolioSummaryApi.as_view(), name="portfolio-summary"),
    path("portfolio/ledgers", apis.LedgerListApi.as_view(), name="portfolio-ledgers"),
    path("portfolio/pnl-daily", apis.PnlDailyApi.as_view(), name="portfolio-pnl-daily"),
]
