from django.apps import AppConfig


class RlConfig(AppConfig):
    name = "rl"
    verbose_name = "Reinforcement learning"

    def ready(self):
        # The strategy runner steps promoted policies; approvals apply agent promotions; /metrics shows
        # training's progress.
        from rl import live, metrics, promotion  # noqa: F401
        from strategies.runner import stepper_register
        from trading.models import Strategy

        stepper_register(Strategy.Kind.RL, live.agent_step)
