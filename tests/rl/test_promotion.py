"""The promotion gate and maker-checker: a model becomes the live policy only when its walk-forward passes
the gate, asked for by one person and approved by a second, as a raised risk limit is."""

from decimal import Decimal

import pytest

from audit.models import AuditEvent
from rl.models import AgentModel
from rl.promotion import GateRefused, gate_judge, promotion_request
from tests.conftest import api_for
from tests.rl.conftest import agent_make, evaluation
from trading.models import ApprovalRequest, Strategy
from trading.orders.approvals import ApprovalRefused, approval_decide
from tradingsite.exceptions import ConflictError

pytestmark = pytest.mark.django_db
PAIR = ["NSE:INFY", "NSE:TCS"]


def test_the_gate_refuses_a_model_that_beats_buy_and_hold_in_too_few_folds_or_loses_too_much(market, dave):
    _, _, account, _ = market
    # beats buy-and-hold in 2 of 4 folds (the gate needs more than half), and fold 3 drew down 40%
    agent_make(
        "weak", PAIR, evaluation=evaluation([1.0, 0.1, 1.2, 0.3], [0.8, 0.7, 1.1, 0.6], drawdowns=[0.1, 0.1, 0.4, 0.1])
    )

    response = api_for(dave).post("/api/v1/rl/agents/weak/promotion", {"account": account.pk}, format="json")

    assert response.status_code == 422, response.content
    body = response.json()["error"]
    assert body["code"] == "gate_refused"
    assert "beat buy-and-hold's in 2 of 4 folds" in body["message"]
    assert "fold 3's median maximum drawdown is 40.0%, past the 25% limit" in body["message"]
    assert not ApprovalRequest.objects.exists()
    assert AgentModel.objects.get(name="weak").status == "candidate"


def test_the_gate_wants_enough_folds_and_seeds_and_an_evaluation_at_all():
    assert gate_judge({}).reasons == ["it has no walk-forward evaluation"]
    verdict = gate_judge(evaluation([2.0, 2.0], [0.1, 0.1], seeds=3))
    assert not verdict.passed and verdict.folds_beaten == 2
    assert verdict.reasons == [
        "its walk-forward has 2 folds; the gate needs at least 4",
        "a fold has only 3 seeds; the gate needs at least 5",
    ]
    passing = gate_judge(evaluation([1.2, 0.9, 1.5, 0.2], [0.8, 0.7, 1.1, 0.6]))
    assert passing.passed and passing.folds_beaten == 3 and passing.worst_drawdown == 0.1


def test_a_promotion_waits_for_a_second_person_and_then_the_policy_trades_on_the_account(
    market, dave, root_admin, alice
):
    _, _, account, _ = market
    agent_make("good", PAIR)

    # dave (ops) asks; nothing is live yet
    response = api_for(dave).post(
        "/api/v1/rl/agents/good/promotion", {"account": account.pk, "reason": "passed review"}, format="json"
    )
    assert response.status_code == 202, response.content
    approval_id = response.json()["approval"]
    assert AgentModel.objects.get(name="good").status == "candidate"
    assert not Strategy.objects.filter(kind=Strategy.Kind.RL).exists()

    # nobody approves their own request; a trader can neither ask nor approve
    assert api_for(dave).post(f"/api/v1/approvals/{approval_id}/approve").status_code == 403
    with pytest.raises(ApprovalRefused, match="a second person must"):
        approval_decide(approval_id=approval_id, decided_by=dave, approve=True)
    assert (
        api_for(alice).post("/api/v1/rl/agents/good/promotion", {"account": account.pk}, format="json").status_code
        == 403
    )
    assert api_for(alice).post(f"/api/v1/approvals/{approval_id}/approve").status_code == 403
    assert AgentModel.objects.get(name="good").status == "candidate"

    # a second person approves: the agent is promoted and runs as the account's RL strategy
    assert api_for(root_admin).post(f"/api/v1/approvals/{approval_id}/approve").status_code == 200
    assert AgentModel.objects.get(name="good").status == "promoted"
    strategy = Strategy.objects.get(account=account, kind=Strategy.Kind.RL)
    assert (strategy.name, strategy.enabled, strategy.interval, strategy.product) == ("rl-agent", True, "1d", "CNC")
    sha = AgentModel.objects.get(name="good").policy_sha256
    assert strategy.parameters == {"agent": "good", "policy_sha256": sha, "capital": "1000000"}
    assert strategy.instruments == PAIR
    event = AuditEvent.objects.get(action="rl.agent_promoted")
    assert (event.payload["requested_by"], event.payload["approved_by"]) == ("dave", "admin")
    assert event.payload["gate"]["passed"] is True


def test_the_gate_is_judged_again_when_the_promotion_is_approved(market, dave, root_admin, settings):
    _, _, account, _ = market
    agent_make("good", PAIR)
    approval = promotion_request(agent_name="good", account=account, requested_by=dave)

    settings.RL_GATE_MAX_DRAWDOWN = Decimal("0.05")  # tightened while the request waited
    with pytest.raises(GateRefused, match="past the 5% limit"):
        approval_decide(approval_id=approval.pk, decided_by=root_admin, approve=True)

    approval.refresh_from_db()
    assert approval.status == "pending"
    assert AgentModel.objects.get(name="good").status == "candidate"
    assert not Strategy.objects.filter(kind=Strategy.Kind.RL).exists()


def test_promoting_a_new_agent_retires_the_one_it_replaces(market, dave, root_admin):
    _, _, account, _ = market
    for name in ("first", "second"):
        agent_make(name, PAIR)
        approval = promotion_request(agent_name=name, account=account, requested_by=dave)
        approval_decide(approval_id=approval.pk, decided_by=root_admin, approve=True)

    assert AgentModel.objects.get(name="first").status == "retired"
    assert AgentModel.objects.get(name="second").status == "promoted"
    (strategy,) = Strategy.objects.filter(account=account, kind=Strategy.Kind.RL)
    assert strategy.parameters["agent"] == "second"


def test_an_agent_still_training_or_unknown_cannot_be_put_forward(market, dave):
    _, _, account, _ = market
    agent_make("busy", PAIR, status="training")
    client = api_for(dave)
    response = client.post("/api/v1/rl/agents/busy/promotion", {"account": account.pk}, format="json")
    assert response.status_code == 409 and "only a trained agent is promoted" in response.json()["error"]["message"]
    response = client.post("/api/v1/rl/agents/nobody/promotion", {"account": account.pk}, format="json")
    assert response.status_code == 404 and "no agent 'nobody'" in response.json()["error"]["message"]
    response = client.post("/api/v1/rl/agents/busy/promotion", {"account": "x"}, format="json")
    assert response.status_code == 400 and "account" in response.json()["error"]["details"]["fields"]


def test_an_agent_trained_on_csv_bars_is_not_put_on_live_bars(market, dave):
    _, _, account, _ = market
    agent = agent_make("from-csv", PAIR)
    AgentModel.objects.filter(pk=agent.pk).update(data_source="/data/nifty100")

    with pytest.raises(ConflictError, match="trained on the CSV bars in /data/nifty100"):
        promotion_request(agent_name="from-csv", account=account, requested_by=dave)


def test_a_nan_drawdown_is_no_evidence_and_fails_the_gate():
    verdict = gate_judge(evaluation([1.2, 0.9, 1.5, 0.2], [0.8, 0.7, 1.1, 0.6], drawdowns=[0.1, "NaN", 0.1, 0.1]))
    assert not verdict.passed and "fold 2's median maximum drawdown is 100.0%" in verdict.reasons[0]


def test_traders_read_the_live_decisions_of_their_own_accounts_only(market, dave, root_admin, alice, bob, carol):
    from datetime import datetime, time, timedelta

    from strategies.runner import strategies_step
    from tradingsite.ist import IST

    _, _, account, last = market
    agent_make("good", PAIR)
    approval = promotion_request(agent_name="good", account=account, requested_by=dave)
    approval_decide(approval_id=approval.pk, decided_by=root_admin, approve=True)
    strategies_step(now=datetime.combine(last + timedelta(days=3), time(9, 20), tzinfo=IST))

    (mine,) = api_for(alice, scope="read").get("/api/v1/rl/decisions").json()
    assert mine["agent"] == "good" and len(mine["observation"]) == 2 * 25 + 1
    assert api_for(bob, scope="read").get("/api/v1/rl/decisions").json() == []
    assert len(api_for(carol, scope="read").get("/api/v1/rl/decisions").json()) == 1  # compliance reads all
