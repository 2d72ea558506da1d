"""What deployments and integrations rely on keeps its name wherever the code behind it lives: the
URLs, the management commands, and the Celery task names that beat's stored schedule and the outbox's
hand-off to the worker use."""

import pytest
from django.core.management import get_commands
from django.urls import resolve, reverse

from trading.orders.outbox import OUTBOX_SEND_TASK
from tradingsite.celery import app as celery_app
from tradingsite.management.commands.setup_periodic_tasks import PERIODIC_TASKS

URLS = [
    ("trade", {}, "/trade/"),
    ("dashboard", {}, "/dashboard/"),
    ("kite", {}, "/kite/"),
    ("kite-postback", {}, "/kite/postback"),
    ("instrument-list", {}, "/api/v1/instruments"),
    ("instrument-bars", {"instrument_token": 738561}, "/api/v1/instruments/738561/bars"),
    ("quote-list", {}, "/api/v1/quotes"),
    ("order-list", {}, "/api/v1/orders"),
    ("order-preview", {}, "/api/v1/orders/preview"),
    ("order-detail", {"order_id": 7}, "/api/v1/orders/7"),
    ("trade-list", {}, "/api/v1/trades"),
    ("position-list", {}, "/api/v1/positions"),
    ("portfolio-summary", {}, "/api/v1/portfolio/summary"),
    ("portfolio-ledgers", {}, "/api/v1/portfolio/ledgers"),
    ("sweep-list", {}, "/api/v1/sweeps"),
    ("sweep-detail", {"sweep_id": 4}, "/api/v1/sweeps/4"),
    ("portfolio-pnl-daily", {}, "/api/v1/portfolio/pnl-daily"),
    ("account-list", {}, "/api/v1/accounts"),
    ("account-detail", {"account_id": 3}, "/api/v1/accounts/3"),
    ("account-limits", {"account_id": 3}, "/api/v1/accounts/3/limits"),
    ("account-halt", {"account_id": 3}, "/api/v1/accounts/3/halt"),
    ("account-resume", {"account_id": 3}, "/api/v1/accounts/3/resume"),
    ("approval-list", {}, "/api/v1/approvals"),
    ("approval-detail", {"approval_id": 9}, "/api/v1/approvals/9"),
    ("approval-approve", {"approval_id": 9}, "/api/v1/approvals/9/approve"),
    ("approval-reject", {"approval_id": 9}, "/api/v1/approvals/9/reject"),
    ("audit-event-list", {}, "/api/v1/audit/events"),
    ("strategy-list", {}, "/api/v1/strategies"),
    ("backtest-list", {}, "/api/v1/backtests"),
    ("backtest-detail", {"run_id": 4}, "/api/v1/backtests/4"),
]

COMMANDS = {
    "order_place",
    "order_cancel",
    "positions_show",
    "run_feed",
    "instruments_import",
    "kite_history",
    "audit_verify",
    "audit_export_verify",
    "audit_sequencer",
    "outbox_dispatch",
    "demo",
    "setup_periodic_tasks",
    "bars_import",
    "backtest",
    "run_strategies",
}


@pytest.mark.parametrize(("name", "kwargs", "path"), URLS)
def test_each_url_keeps_its_path_and_name(name, kwargs, path):
    assert reverse(name, kwargs=kwargs) == path
    assert resolve(path).url_name == name


def test_the_management_commands_keep_their_names():
    assert COMMANDS - set(get_commands()) == set()


def test_beat_entries_and_the_outbox_hand_off_name_registered_tasks():
    celery_app.loader.import_default_modules()
    scheduled = {task for task, _, _ in PERIODIC_TASKS.values()}
    assert scheduled | {OUTBOX_SEND_TASK} <= set(celery_app.tasks)
    assert {
        "trading.tasks.outbox_send",
        "trading.tasks.outbox_sweep",
        "trading.tasks.kite_reconcile",
        "trading.tasks.bars_rollup_recent",
        "trading.tasks.bars_maintain",
        "audit.tasks.audit_chain_verify",
        "portfolio.tasks.pnl_daily",
    } <= scheduled | {OUTBOX_SEND_TASK}
    assert "strategies.tasks.backtest_run" in celery_app.tasks  # the API queues runs under this name
