"""The retraining beat job: a new agent on the newest stored bars, trained and judged walk-forward, left
a candidate with the gate's verdict whatever it shows; it never promotes. And training's progress on the
agents page, the API and /metrics."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from audit.models import AuditEvent
from rl.models import AgentModel
from rl.services import retrain_propose
from rl.tasks import agent_train
from tests.conftest import api_for, metrics_scrape
from tests.rl.conftest import FIRST_DAY, agent_make, daily_bars
from tests.trading.conftest import instrument_make
from trading.models import ApprovalRequest, Strategy

PAIR = ["NSE:INFY", "NSE:TCS"]


@pytest.fixture
def history(db):
    rng = np.random.default_rng(7)
    last = None
    for k, (symbol, token, start) in enumerate((("INFY", 408065, 1500.0), ("TCS", 2953217, 3000.0))):
        instrument = instrument_make(symbol, token, f"{start:.2f}")
        closes = start * np.exp(np.cumsum(rng.normal(0.0005, 0.012 + 0.004 * k, 240)))
        last = daily_bars(instrument, [round(float(c), 2) for c in closes])
    return last


def test_the_retraining_job_proposes_a_judged_candidate_and_never_promotes_it(history, settings):
    settings.RL_RETRAIN_INSTRUMENTS = PAIR
    settings.RL_RETRAIN_FROM = FIRST_DAY.isoformat()
    settings.RL_TRAIN_STEPS = settings.RL_CHECKPOINT_STEPS = 256
    settings.RL_GATE_MIN_FOLDS, settings.RL_GATE_MIN_SEEDS = 2, 1
    today = history + timedelta(days=1)

    agent = retrain_propose(today)
    assert agent.name == f"retrained-{history.isoformat()}" and agent.data_to == history
    assert retrain_propose(today) is None  # the beat job running twice in a day makes one agent
    agent_train(agent.pk)  # the task, as the RL queue's worker runs it

    agent.refresh_from_db()
    assert agent.status == "candidate" and agent.steps_done == 256 and agent.policy_sha256
    folds = agent.evaluation["folds"]
    assert [fold["fold"] for fold in folds] == [1, 2] and all(len(fold["seeds"]) == 1 for fold in folds)
    assert {"buy_and_hold", "equal_weight", "sma_crossover"} <= set(folds[0]["benchmarks"])
    beaten = sum(
        fold["median"]["sharpe"] is not None
        and float(fold["median"]["sharpe"]) > float(fold["benchmarks"]["buy_and_hold"]["sharpe"])
        for fold in folds
    )
    gate = agent.evaluation["gate"]
    assert (gate["folds"], gate["folds_beaten"]) == (2, beaten)
    assert gate["passed"] == (beaten == 2 and gate["worst_drawdown"] <= 0.25)
    event = AuditEvent.objects.get(action="rl.agent_proposed")
    assert event.payload["agent"] == agent.name and event.payload["gate"] == agent.evaluation["gate"]
    # proposed only: nothing asked for, nothing trading
    assert not ApprovalRequest.objects.exists()
    assert not Strategy.objects.filter(kind=Strategy.Kind.RL).exists()
    assert not AgentModel.objects.filter(status="promoted").exists()


def test_without_instruments_configured_the_retraining_job_makes_nothing(history, settings):
    settings.RL_RETRAIN_INSTRUMENTS = []
    assert retrain_propose(history + timedelta(days=1)) is None
    assert not AgentModel.objects.exists()


def test_training_progress_shows_on_the_agents_page_the_api_and_metrics(db, dave, client_for, alice):
    agent = agent_make("learning", PAIR, status="training")
    AgentModel.objects.filter(pk=agent.pk).update(steps=4096, steps_done=1024, curve=[[512, -0.031], [1024, 0.0125]])

    page = client_for(dave).get("/agents/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-agent="learning"' in html and "1024 / 4096 steps" in html and "0.0125" in html
    assert '<meta http-equiv="refresh"' in html  # it follows training without asking

    (listed,) = api_for(alice, scope="read").get("/api/v1/rl/agents").json()
    assert (listed["progress"], listed["reward"], listed["status"]) == (0.25, 0.0125, "training")

    metrics = metrics_scrape(client_for(dave))
    assert 'rl_training_steps{agent="learning"} 1024.0' in metrics
    assert 'rl_training_steps_target{agent="learning"} 4096.0' in metrics
    assert 'rl_training_episode_reward{agent="learning"} 0.0125' in metrics
    assert 'rl_agents{status="training"} 1.0' in metrics


def test_a_promotion_asked_for_on_the_agents_page_waits_for_approval(db, dave, client_for, alice):
    from trading.orders.accounts import account_create

    account = account_create(owner=alice, name="alice-rl", cash=Decimal("1000000"), created_by=alice)
    agent_make("good", PAIR)
    agent_make("weak", PAIR, evaluation={})
    client = client_for(dave)

    page = client.post("/agents/good/promote", {"account": account.pk, "reason": "review done"}, follow=True)
    assert "Promotion of good onto alice-rl requested" in page.content.decode()
    approval = ApprovalRequest.objects.get()
    assert (approval.kind, approval.status, approval.changes["agent"]) == ("agent_promote", "pending", "good")

    page = client.post("/agents/weak/promote", {"account": account.pk}, follow=True)
    assert "agent weak fails the promotion gate: it has no walk-forward evaluation" in page.content.decode()
    assert client_for(alice).post("/agents/good/promote", {"account": account.pk}).status_code == 403


def test_rl_walkforward_judges_a_stored_agents_recipe_and_keeps_the_verdict_on_it(history, settings):
    import json
    from io import StringIO

    from django.core.management import call_command

    from rl.services import agent_create, agent_market, agent_train_run
    from rl.training import Hyper

    settings.RL_GATE_MIN_FOLDS = 4
    agent = agent_create(
        name="recipe", instruments=PAIR, data_from=FIRST_DAY, data_to=history, seed=0, steps=256, hyper=Hyper()
    )
    agent_train_run(agent, agent_market(agent))
    out = StringIO()

    call_command("rl_walkforward", model="recipe", folds=2, seeds=1, stdout=out, stderr=StringIO())

    printed = json.loads(out.getvalue())
    agent.refresh_from_db()
    assert printed["agent"] == "recipe" and printed["folds"] == agent.evaluation["folds"]
    assert agent.evaluation["steps"] == 256 and len(agent.evaluation["folds"]) == 2
    gate = agent.evaluation["gate"]
    assert not gate["passed"] and "its walk-forward has 2 folds; the gate needs at least 4" in gate["reasons"]
    assert agent.status == "candidate"  # judged, not promoted


def test_an_agent_that_cannot_be_trained_as_asked_fails_saying_why(history, settings):
    from rl.services import agent_create
    from rl.training import Hyper
    from tradingsite.exceptions import NotFoundError

    settings.RL_RETRAIN_INSTRUMENTS = ["NSE:INFY", "NSE:NOSUCH"]
    with pytest.raises(NotFoundError, match="NSE:NOSUCH"):
        retrain_propose(history + timedelta(days=1))
    assert not AgentModel.objects.exists()

    # a range with too few bars for a window: failed, with the reason, and not resumed again and again
    agent = agent_create(
        name="short", instruments=PAIR, data_from=history, data_to=history, seed=0, steps=128, hyper=Hyper()
    )
    agent_train(agent.pk)
    agent.refresh_from_db()
    assert agent.status == "failed" and "too few to step" in agent.error
