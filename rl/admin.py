from django.contrib import admin

from rl.models import AgentModel
from tradingsite.admin import ReadOnlyAdmin


@admin.register(AgentModel)
class AgentModelAdmin(ReadOnlyAdmin):
    """The RL model registry: how each agent was trained, its curve, evaluation and status."""

    list_display = ("name", "algorithm", "status", "data_from", "data_to", "seed", "steps_done", "steps", "created_at")
    list_filter = ("status", "algorithm")
    exclude = ("policy", "checkpoint")
