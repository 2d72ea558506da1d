"""RL's API routes, under /api/v1/ (see tradingsite/urls.py)."""

from django.urls import path

from rl import apis

urlpatterns = [
    path("rl/agents", apis.AgentListApi.as_view(), name="rl-agent-list"),
    path("rl/agents/<str:agent>", apis.AgentDetailApi.as_view(), name="rl-agent-detail"),
    path("rl/agents/<str:agent>/promotion", apis.AgentPromotionApi.as_view(), name="rl-agent-promotion"),
    path("rl/decisions", apis.DecisionListApi.as_view(), name="rl-decision-list"),
]
