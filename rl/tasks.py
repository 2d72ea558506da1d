"""RL's Celery jobs. Training runs on its own queue (RL_QUEUE), one agent per task; `rl_resume` (beat)
queues again every agent whose training run died, to go on from its last checkpoint; `rl_retrain` (beat)
proposes a new agent on the newest data."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from rl.models import AgentModel
from rl.services import AgentBusy, agent_market, agent_train_run, agents_stalled, retrain_propose
from tradingsite.exceptions import ApplicationError
from tradingsite.ist import IST

RESUME_EXPIRES_SECONDS = 280


@shared_task(ignore_result=True, acks_late=True)
def agent_train(agent_id: int) -> None:
    agent = AgentModel.objects.filter(pk=agent_id, status=AgentModel.Status.TRAINING).first()
    if agent is None:
        return
    try:
        agent_train_run(agent, agent_market(agent))
    except AgentBusy:
        return  # another run holds it (a redelivered task while the first still runs)
    except ApplicationError as exc:
        # It cannot be trained as asked (an instrument unknown, too few bars): it fails, saying why, and
        # rl_resume leaves it alone; an unexpected error instead leaves it to be resumed.
        AgentModel.objects.filter(pk=agent.pk).update(
            status=AgentModel.Status.FAILED, error=exc.message, lease_until=None
        )


@shared_task(ignore_result=True)
def rl_resume() -> None:
    for agent in agents_stalled():
        agent_train.apply_async((agent.pk,), queue=settings.RL_QUEUE, expires=RESUME_EXPIRES_SECONDS)


@shared_task(ignore_result=True)
def rl_retrain() -> None:
    """A new agent on the newest data, queued to train and be judged; it ends a candidate whatever its
    figures (with the gate's verdict): only a person's request and a second's approval promote it."""
    agent = retrain_propose(timezone.now().astimezone(IST).date())
    if agent is not None:
        agent_train.apply_async((agent.pk,), queue=settings.RL_QUEUE)
