"""Strategies' API routes, under /api/v1/ (see tradingsite/urls.py)."""

from django.urls import path

from strategies import apis

urlpatterns = [
    path("strategies", apis.StrategyListApi.as_view(), name="strategy-list"),
    path("backtests", apis.BacktestListApi.as_view(), name="backtest-list"),
    path("backtests/<int:run_id>", apis.BacktestDetailApi.as_view(), name="backtest-detail"),
    path("sweeps", apis.SweepListApi.as_view(), name="sweep-list"),
    path("sweeps/<int:sweep_id>", apis.SweepDetailApi.as_view(), name="sweep-detail"),
]
