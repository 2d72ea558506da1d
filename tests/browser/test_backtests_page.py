"""The backtests page in a real browser against the real web and worker processes: a trader runs a
backtest from the form, watches its progress bar fill as the worker pushes each phase, and sees the
equity curve, figures and trades."""

import io
import json
from decimal import Decimal

from django.core.management import call_command
from playwright.sync_api import expect

from strategies.models import BacktestRun
from tests.browser.conftest import logged_in_page
from tests.strategies.test_runs import walk_csv


def test_a_trader_runs_a_backtest_from_the_page_and_sees_progress_and_the_equity_curve(
    stack, chromium, alice, tmp_path
):
    for symbol, seed in (("AAA", 31), ("BBB", 32)):
        path = walk_csv(tmp_path / f"{symbol}.csv", 200, seed)
        call_command("bars_import", str(path), "--create-instruments", stdout=io.StringIO())
    stack.web()
    stack.worker(stack.queue)
    page = logged_in_page(chromium, stack.base_url, "alice", "/backtests/")
    pushed, reads = [], []
    page.on(
        "websocket",
        lambda socket: socket.on(
            "framereceived", lambda frame: pushed.append(json.loads(frame)) if isinstance(frame, str) else None
        ),
    )
    page.on("request", lambda request: reads.append(request.url) if "/api/v1/backtests/" in request.url else None)
    page.reload()  # its stream opened on the first load, before anything listened

    page.select_option("#bt-strategy", "sma_crossover")
    page.fill("#bt-instruments", "NSE:AAA, NSE:BBB")
    page.fill("#bt-start", "2024-01-01")
    page.fill("#bt-end", "2024-12-31")
    page.fill("#bt-params input[name=fast]", "4")
    page.fill("#bt-params input[name=slow]", "15")
    page.fill("#bt-slippage", "5")
    page.click("#bt-run")

    expect(page.locator("#bt-progress-box")).to_be_visible()
    expect(page.locator("#bt-status")).to_have_text("done 100%", timeout=30_000)
    assert page.locator("#bt-progress").evaluate("el => el.value") == 1
    run = BacktestRun.objects.get()
    # the worker pushed each phase's progress over the page's websocket, and the page did not poll for it
    progress = [event["data"]["progress"] for event in pushed if event["type"] == "backtest"]
    assert progress == [0.1, 0.2, 0.6, 0.8, 1.0, 1.0], pushed
    assert all(event["data"]["id"] == run.pk for event in pushed if event["type"] == "backtest")
    assert len(reads) <= 2, reads  # once when followed, once when the stream said it was done
    assert run.parameters == {"fast": 4, "slow": 15, "quantity": 1} and run.slippage_bps == Decimal("5")
    expect(page.locator('#bt-figures tr[data-figure="final_equity"] td').first).to_have_text(
        run.figures["final_equity"]
    )
    expect(page.locator("#bt-trades tbody tr")).to_have_count(min(len(run.trades), 500))
    # the equity curve is drawn: the chart's canvas has non-blank pixels along the run's line colour
    drawn = page.locator("#bt-equity canvas").first.evaluate(
        """canvas => {
             const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
             let n = 0;
             for (let i = 0; i < d.length; i += 4) if (d[i] < 60 && d[i + 1] < 110 && d[i + 2] > 180) n++;
             return n;
           }"""
    )
    assert drawn > 50
    assert page.errors == []

    # a bad request shows the server's reason
    page.fill("#bt-instruments", "NSE:NOPE")
    page.click("#bt-run")
    expect(page.locator("#bt-error")).to_have_text("not in the instrument master: NSE:NOPE", timeout=10_000)
