"""The RL model registry: each trained agent with what it was trained on and how, its exported policy,
its training curve and evaluations, and where it stands (candidate, promoted, retired)."""

from django.db import models


class AgentModel(models.Model):
    class Status(models.TextChoices):
        TRAINING = "training"
        CANDIDATE = "candidate"
        PROMOTED = "promoted"
        RETIRED = "retired"
        FAILED = "failed"

    name = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=8)
    hyperparameters = models.JSONField(default=dict)
    instruments = models.JSONField(default=list, help_text="EXCHANGE:SYMBOL, in the observation's order.")
    data_source = models.CharField(
        max_length=500, blank=True, help_text="A folder of CSV bars it was trained on; empty: the database's bars."
    )
    data_from = models.DateField()
    data_to = models.DateField(help_text="The last day of training data (included).")
    seed = models.IntegerField()
    code_version = models.CharField(max_length=32)
    steps = models.PositiveIntegerField(help_text="Environment steps to train for.")
    steps_done = models.PositiveIntegerField(default=0)
    curve = models.JSONField(default=list, help_text="[steps, mean episode reward] as training went.")
    evaluation = models.JSONField(default=dict, help_text="Walk-forward figures, per fold and seed.")
    policy = models.BinaryField(blank=True, help_text="The exported policy (rl.policy.ExportedPolicy).")
    policy_sha256 = models.CharField(max_length=64, blank=True)
    checkpoint = models.BinaryField(blank=True, help_text="The latest training checkpoint, to resume from.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.TRAINING)
    # The run training it holds the agent until then, renewing at each checkpoint; a run that died lets it
    # lapse, and the beat job `rl-resume` queues the agent again, to go on from its checkpoint.
    lease_until = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [("promote_agentmodel", "Can ask for an agent's promotion to live trading, or retire it")]

    def __str__(self):
        return f"{self.name} ({self.algorithm}, {self.status})"


class AgentDecision(models.Model):
    """One decision of a promoted policy trading live: what it observed at the bar (the exact vector its
    network was given), what it answered, the holdings and targets that followed, and the orders placed
    with what the risk checks made of them. Written once, never changed: a decision can be explained
    after the fact."""

    strategy = models.ForeignKey("trading.Strategy", on_delete=models.PROTECT, related_name="agent_decisions")
    agent = models.ForeignKey(AgentModel, on_delete=models.PROTECT, related_name="decisions")
    policy_sha256 = models.CharField(max_length=64)
    bar_at = models.DateTimeField(help_text="The start of the (closed) bar it decided on.")
    instruments = models.JSONField(help_text="EXCHANGE:SYMBOL, in the observation's order.")
    observation = models.JSONField(help_text="The observation vector, as the policy saw it.")
    action = models.JSONField(help_text="The policy's answer: a weight from 0 to 1 per instrument.")
    closes = models.JSONField(help_text="The bar's close per instrument, rupees as text.")
    holdings = models.JSONField(help_text="Per instrument: [shares held, shares on their way] before deciding.")
    targets = models.JSONField(help_text="Per instrument: the shares it wants.")
    cash = models.DecimalField(max_digits=18, decimal_places=2)
    equity = models.DecimalField(max_digits=18, decimal_places=2)
    orders = models.JSONField(default=list, help_text="The orders placed: id, side, quantity, status, message.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-bar_at"]
        constraints = [models.UniqueConstraint(fields=["strategy", "bar_at"], name="agent_decision_bar")]

    def __str__(self):
        return f"{self.agent.name} on {self.bar_at:%Y-%m-%d %H:%M}"
