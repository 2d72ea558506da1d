from django.contrib import admin, messages

from rl.models import AgentDecision, AgentModel
from rl.promotion import agent_retire
from tradingsite.admin import ReadOnlyAdmin
from tradingsite.exceptions import ApplicationError


@admin.register(AgentModel)
class AgentModelAdmin(ReadOnlyAdmin):
    """The RL model registry: how each agent was trained, its curve, evaluation and status. Promotion is
    asked for on the agents page and approved under Approvals; retiring stops its live strategies."""

    list_display = ("name", "algorithm", "status", "data_from", "data_to", "seed", "steps_done", "steps", "created_at")
    list_filter = ("status", "algorithm")
    exclude = ("policy", "checkpoint")
    actions = ["retire"]

    def has_retire_permission(self, request):
        return request.user.has_perm("rl.promote_agentmodel")

    @admin.action(description="Retire selected agents (stops their live strategies)", permissions=["retire"])
    def retire(self, request, queryset):
        for agent in queryset:
            try:
                agent_retire(agent=agent, retired_by=request.user, reason="retired in the back office")
            except ApplicationError as exc:
                self.message_user(request, f"{agent.name}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{agent.name} retired.", messages.SUCCESS)


@admin.register(AgentDecision)
class AgentDecisionAdmin(ReadOnlyAdmin):
    """Promoted policies' live decisions, each with the observation it came from; never changed."""

    list_display = ("bar_at", "agent", "strategy", "targets", "orders", "equity")
    list_filter = ("agent",)
    date_hierarchy = "bar_at"
