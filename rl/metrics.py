"""RL's metrics on /metrics, read from the registry when scraped (training runs in Celery workers, which
serve no /metrics of their own; the registry is where they write their progress at every checkpoint).

- rl_agents{status}: agents in the registry by status
- rl_training_steps{agent}, rl_training_steps_target{agent}: environment steps done and to do, per agent
  still training
- rl_training_episode_reward{agent}: the mean episode reward at its latest checkpoint
- rl_live_decisions_total{agent}: decisions its promoted policy has made live
"""

from django.db import DatabaseError
from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from tradingsite.metrics_export import state_collector


class AgentCollector:
    def describe(self):
        return self.families([], [], [])

    def collect(self):
        try:
            from rl.models import AgentDecision, AgentModel

            statuses = list(AgentModel.objects.values_list("status").annotate(n=Count("pk")).order_by())
            training = AgentModel.objects.filter(status=AgentModel.Status.TRAINING)
            training = list(training.values_list("name", "steps_done", "steps", "curve"))
            decisions = list(AgentDecision.objects.values_list("agent__name").annotate(n=Count("pk")).order_by())
        except DatabaseError:  # the database is down: the other metrics are still served
            statuses, training, decisions = [], [], []
        return self.families(statuses, training, decisions)

    def families(self, statuses, training, decisions) -> list:
        agents = GaugeMetricFamily("rl_agents", "Agents in the RL registry, by status.", labels=["status"])
        for status, count in statuses:
            agents.add_metric([status], count)
        steps = GaugeMetricFamily("rl_training_steps", "Environment steps a training agent has done.", labels=["agent"])
        target = GaugeMetricFamily(
            "rl_training_steps_target", "Environment steps a training agent is to do.", labels=["agent"]
        )
        reward = GaugeMetricFamily(
            "rl_training_episode_reward",
            "A training agent's mean episode reward at its latest checkpoint.",
            labels=["agent"],
        )
        for name, done, total, curve in training:
            steps.add_metric([name], done)
            target.add_metric([name], total)
            if curve and curve[-1][1] is not None:
                reward.add_metric([name], curve[-1][1])
        made = CounterMetricFamily("rl_live_decisions", "Decisions promoted policies have made live.", labels=["agent"])
        for name, count in decisions:
            made.add_metric([name], count)
        return [agents, steps, target, reward, made]


state_collector(AgentCollector())
