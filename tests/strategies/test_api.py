"""/api/v1/strategies and /api/v1/backtests: a client lists the strategies, queues a backtest, follows
its progress and reads its results; bad requests are refused naming the problem."""

import io

import pytest
from django.core.management import call_command

from strategies.models import BacktestRun
from strategies.tasks import backtest_run
from tests.conftest import api_for
from tests.strategies.test_runs import walk_csv

pytestmark = pytest.mark.django_db


def test_the_built_in_strategies_are_listed_with_their_parameter_schemas(alice):
    answer = api_for(alice).get("/api/v1/strategies")
    assert answer.status_code == 200
    by_name = {s["name"]: s for s in answer.json()}
    assert set(by_name) == {"sma_crossover", "rsi_reversion", "breakout", "news_sentiment"}
    fast = by_name["sma_crossover"]["parameters"]["properties"]["fast"]
    assert (fast["type"], fast["default"], fast["minimum"]) == ("integer", 10, 1)


def bars_for(tmp_path, days: int, seed: int) -> None:
    path = walk_csv(tmp_path / "AAA.csv", days, seed=seed)
    call_command("bars_import", str(path), "--create-instruments", stdout=io.StringIO())


def test_a_backtest_is_queued_runs_on_the_worker_and_its_results_are_read_back(
    alice, bob, tmp_path, django_capture_on_commit_callbacks
):
    bars_for(tmp_path, 150, seed=9)
    api = api_for(alice)
    body = {
        "strategy": "breakout",
        "instruments": ["NSE:AAA"],
        "start": "2024-01-01",
        "end": "2024-12-31",
        "parameters": {"entry": 10, "exit": 5, "quantity": 3},
        "slippage_bps": "2.5",
    }
    with django_capture_on_commit_callbacks() as queued:
        answer = api.post("/api/v1/backtests", body, format="json")
    assert answer.status_code == 202, answer.json()
    run_id = answer.json()["id"]
    assert answer.json()["status"] == "queued" and len(queued) == 1  # handed to the workers on commit

    backtest_run(run_id)  # what the worker runs

    detail = api.get(f"/api/v1/backtests/{run_id}").json()
    assert detail["status"] == "done" and detail["progress"] == 1.0
    assert detail["trades"] and detail["figures"]["fills"] == len(detail["trades"])
    assert detail["equity"][-1][1] == detail["figures"]["final_equity"]
    assert [r["id"] for r in api.get("/api/v1/backtests").json()] == [run_id]
    # someone else's run is not theirs to read
    assert api_for(bob).get(f"/api/v1/backtests/{run_id}").status_code == 404
    assert api_for(bob).get("/api/v1/backtests").json() == []


@pytest.mark.parametrize(
    "change, status, message",
    [
        ({"strategy": "martingale"}, 400, "martingale"),
        ({"instruments": ["NSE:NOPE"]}, 404, "not in the instrument master: NSE:NOPE"),
        ({"instruments": ["NSE:"]}, 400, "instruments"),
        ({"end": "2023-01-01"}, 400, "is before the start"),
        ({"parameters": {"entry": 0}}, 400, "entry must be between 2 and 1000"),
        ({"slippage_bps": "-1"}, 400, "slippage_bps"),
    ],
)
def test_bad_backtest_requests_are_refused_naming_the_problem(alice, tmp_path, change, status, message):
    bars_for(tmp_path, 5, seed=1)
    body = {"strategy": "breakout", "instruments": ["NSE:AAA"], "start": "2024-01-01", "end": "2024-12-31", **change}
    answer = api_for(alice).post("/api/v1/backtests", body, format="json")
    assert answer.status_code == status
    assert message in str(answer.json())
    assert not BacktestRun.objects.exists()


def test_compliance_reads_everyones_runs_and_cannot_start_one(carol, alice, tmp_path):
    bars_for(tmp_path, 60, seed=3)
    body = {"strategy": "breakout", "instruments": ["NSE:AAA"], "start": "2024-01-01", "end": "2024-12-31"}
    run_id = api_for(alice).post("/api/v1/backtests", body, format="json").json()["id"]
    api = api_for(carol)
    assert api.get("/api/v1/strategies").status_code == 200
    assert [r["id"] for r in api.get("/api/v1/backtests").json()] == [run_id]
    assert api.get(f"/api/v1/backtests/{run_id}").status_code == 200
    answer = api.post("/api/v1/backtests", {"strategy": "breakout"}, format="json")
    assert answer.status_code == 403
