"""The RL registry over the API: agents with their training progress, curve, evaluation and the gate's
verdict; asking for an agent's promotion (a second person approves it, as a raised limit); the decisions
promoted policies have made live, each with the observation it came from."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from rl.live import decisions_visible
from rl.models import AgentDecision, AgentModel
from rl.promotion import gate_judge, promotion_request
from trading.apis.base import body_fields, has_perm
from trading.models import TradingAccount
from tradingsite.exceptions import NotFoundError, ValidationError
from tradingsite.serializers import OutputSerializer

CanViewAgents = has_perm("rl.view_agentmodel")
CanPromoteAgents = has_perm("rl.promote_agentmodel")
CanViewDecisions = has_perm("rl.view_agentdecision")
SUMMARY = (
    "name", "algorithm", "status", "instruments", "data_source", "data_from", "data_to", "seed", "steps",
    "steps_done", "policy_sha256", "code_version", "error", "created_at", "updated_at",
)  # fmt: skip


def agent_summary(agent: AgentModel) -> dict:
    out = {name: getattr(agent, name) for name in SUMMARY}
    out["progress"] = round(agent.steps_done / agent.steps, 4) if agent.steps else 0.0
    out["reward"] = agent.curve[-1][1] if agent.curve else None
    evaluation = agent.evaluation or {}
    out["gate"] = gate_judge(evaluation).as_dict() if evaluation.get("folds") else None
    return out


class AgentListApi(APIView):
    permission_classes = [IsAuthenticated, CanViewAgents]

    @extend_schema(
        responses=inline_serializer("AgentSummary", {"name": serializers.CharField()}, many=True),
        description="The registry's agents, newest first: training progress (steps done, the latest mean "
        "episode reward), status, and the promotion gate's verdict on the stored walk-forward evaluation.",
    )
    def get(self, request):
        agents = AgentModel.objects.defer("policy", "checkpoint").order_by("-created_at")[:200]
        return Response([agent_summary(agent) for agent in agents])


class AgentDetailApi(APIView):
    permission_classes = [IsAuthenticated, CanViewAgents]

    @extend_schema(
        responses=inline_serializer("Agent", {"name": serializers.CharField()}),
        description="One agent with its hyperparameters, whole training curve and evaluation.",
    )
    def get(self, request, agent: str):
        found = AgentModel.objects.defer("policy", "checkpoint").filter(name=agent).first()
        if found is None:
            raise NotFoundError(f"no agent {agent!r} in the registry")
        return Response(
            {
                **agent_summary(found),
                "hyperparameters": found.hyperparameters,
                "curve": found.curve,
                "evaluation": found.evaluation,
            }
        )


class PromotionInput(serializers.Serializer):
    account = serializers.IntegerField(help_text="The trading account the policy is to trade on.")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class AgentPromotionApi(APIView):
    permission_classes = [IsAuthenticated, CanPromoteAgents]

    @extend_schema(
        request=PromotionInput,
        responses={202: inline_serializer("PromotionRequested", {"approval": serializers.IntegerField()})},
        description="Ask for the agent's policy to trade live on an account. Refused (422 gate_refused, "
        "naming each failed threshold) when its walk-forward does not pass the promotion gate; otherwise a "
        "pending approval request that a second person with the approve permission decides "
        "(POST /api/v1/approvals/{id}/approve).",
    )
    def post(self, request, agent: str):
        given = PromotionInput(data=body_fields(request))
        if not given.is_valid():
            raise ValidationError("invalid promotion request", details={"fields": given.errors})
        account = TradingAccount.objects.filter(pk=given.validated_data["account"]).first()
        if account is None:
            raise NotFoundError(f"no trading account {given.validated_data['account']}")
        approval = promotion_request(
            agent_name=agent, account=account, requested_by=request.user, reason=given.validated_data["reason"]
        )
        return Response(
            {"approval": approval.pk, "status": approval.status, "expires_at": approval.expires_at}, status=202
        )


class DecisionOutput(OutputSerializer):
    agent = serializers.CharField(source="agent.name")

    class Meta:
        model = AgentDecision
        fields = [
            "id", "strategy", "agent", "policy_sha256", "bar_at", "instruments", "observation", "action", "closes",
            "holdings", "targets", "cash", "equity", "orders", "created_at",
        ]  # fmt: skip


class DecisionListApi(APIView):
    permission_classes = [IsAuthenticated, CanViewDecisions]

    @extend_schema(
        responses=DecisionOutput(many=True),
        description="Promoted policies' live decisions on your accounts (every account's for the back "
        "office's roles), newest first (`?agent=NAME` for one agent's): the "
        "observation each came from, the action, the targets, and the orders with the risk checks' verdict.",
    )
    def get(self, request):
        decisions = decisions_visible(request.user).order_by("-bar_at", "-pk")
        if request.query_params.get("agent"):
            decisions = decisions.filter(agent__name=request.query_params["agent"])
        return Response(DecisionOutput(decisions[:200], many=True).data)
