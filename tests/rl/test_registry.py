"""Training into the registry from the command line, from a folder of CSV bars: checkpointed, and a run
whose process is killed is resumed from its last checkpoint by the next run of the same agent."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from rl.models import AgentModel
from rl.policy import ExportedPolicy
from rl.services import agent_create, agents_stalled
from rl.tasks import rl_resume
from rl.training import Hyper
from tests.conftest import RUN_PREFIX
from tests.strategies.test_runs import walk_csv
from tests.threads import wait_for
from tradingsite.processes import ROOT, Processes, shared_env


@pytest.fixture
def folder(tmp_path):
    for k, symbol in enumerate(("AAA", "BBB")):
        walk_csv(tmp_path / f"{symbol}.csv", 200, seed=k)
    return tmp_path


def test_a_killed_training_run_resumes_from_its_checkpoint(transactional_db, folder, settings):
    # given a training run in its own process, checkpointing every 512 steps, killed after its first
    command = [sys.executable, "manage.py", "rl_train", "--name", "ar", "--data", str(folder), "--to", "2024-09-30"]
    command += ["--steps", "4096", "--seed", "3"]
    env = shared_env(RUN_PREFIX, RL_CHECKPOINT_STEPS="512", RL_LEASE_SECONDS="3")
    log = (folder / "child.log").open("w")
    child = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and AgentModel.objects.filter(name="ar", steps_done__gte=512).count() == 0:
        assert child.poll() is None, (folder / "child.log").read_text()[-2000:]
        time.sleep(0.2)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    killed_at = AgentModel.objects.get(name="ar")
    assert killed_at.status == "training" and 512 <= killed_at.steps_done < 4096
    # its hold on the agent has not lapsed yet: another run is refused, naming when it will be free
    with pytest.raises(CommandError, match="agent ar is held by another training run until"):
        call_command("rl_train", name="ar", data=str(folder), end="2024-09-30", stderr=StringIO())
    while AgentModel.objects.get(name="ar").lease_until > timezone.now():
        time.sleep(0.2)

    # when the same agent is trained again
    settings.RL_CHECKPOINT_STEPS = 512
    out, err = StringIO(), StringIO()
    call_command("rl_train", name="ar", data=str(folder), end="2024-09-30", stdout=out, stderr=err)

    # then it went on from where it was stopped, and ends a candidate with its policy
    assert f"resuming ar from step {killed_at.steps_done} of 4096" in err.getvalue()
    agent = AgentModel.objects.get(name="ar")
    assert (agent.status, agent.steps_done, json.loads(out.getvalue())["steps"]) == ("candidate", 4096, 4096)
    assert [steps for steps, _ in agent.curve] == list(range(512, 4097, 512))
    assert agent.instruments == ["AAA", "BBB"] and agent.algorithm == "ppo"
    policy = ExportedPolicy.from_bytes(bytes(agent.policy))
    assert policy.act([0.0] * policy.layers[0][0].shape[0]).shape == (2,)

    with pytest.raises(CommandError, match="agent 'ar' is candidate: train a new one under another name"):
        call_command("rl_train", name="ar", data=str(folder), end="2024-09-30", stderr=StringIO())


def test_training_on_the_rl_queue_goes_on_after_its_worker_is_killed(transactional_db, folder, settings, tmp_path):
    # given an agent queued for training on the RL queue, and a worker taking that queue
    queue = f"rl-{uuid.uuid4().hex[:8]}"
    settings.RL_QUEUE = queue
    agent = agent_create(
        name="queued",
        instruments=["AAA", "BBB"],
        data_source=str(folder),
        data_from=date(2024, 1, 1),
        data_to=date(2024, 9, 30),
        seed=5,
        steps=4096,
        hyper=Hyper(),
    )
    processes = Processes(
        shared_env(RUN_PREFIX, RL_QUEUE=queue, RL_CHECKPOINT_STEPS="512", RL_LEASE_SECONDS="3"), tmp_path / "logs"
    )
    try:
        processes.worker(queue)
        rl_resume()  # the beat job: a training agent that no run holds is queued

        # when the worker is killed once it has saved a checkpoint
        wait_for(lambda: AgentModel.objects.get(pk=agent.pk).steps_done >= 512, timeout=120)
        os.killpg(processes.children["worker"].pid, signal.SIGKILL)
        processes.children.pop("worker").wait(timeout=30)
        stopped = AgentModel.objects.get(pk=agent.pk)
        assert stopped.status == "training" and stopped.steps_done < 4096

        # then once its hold lapses the beat job queues it again, and a new worker finishes it
        assert rl_resume_after_lapse(agent.pk) == 1
        processes.worker(queue)
        wait_for(lambda: AgentModel.objects.get(pk=agent.pk).status == "candidate", timeout=180)
    finally:
        processes.close()
    done = AgentModel.objects.get(pk=agent.pk)
    assert done.steps_done == 4096 and done.policy_sha256
    assert [steps for steps, _ in done.curve] == list(range(512, 4097, 512))  # nothing trained twice


def rl_resume_after_lapse(agent_id: int) -> int:
    while AgentModel.objects.get(pk=agent_id).lease_until > timezone.now():
        time.sleep(0.2)
    stalled = [agent.pk for agent in agents_stalled()]
    rl_resume()
    return stalled.count(agent_id)


def test_walk_forward_judges_each_fold_and_seed_after_its_training_data_beside_the_benchmarks(db, folder):
    out = StringIO()
    options = {"data": str(folder), "end": "2024-09-30", "folds": 2, "seeds": 2, "steps": 256}
    call_command("rl_walkforward", **options, stdout=out, stderr=StringIO())

    table = json.loads(out.getvalue())
    assert table["instruments"] == ["AAA", "BBB"]
    first, second = table["folds"]
    assert first["train"][1] < first["test"][0] <= first["test"][1] < second["test"][0]
    assert second["train"][1] == first["test"][1]  # each fold trains on everything before it
    assert [run["seed"] for run in first["seeds"]] == [0, 1]
    for fold in (first, second):
        assert set(fold["benchmarks"]) == {"buy_and_hold", "equal_weight", "sma_crossover"}
        assert fold["median"]["sharpe"] is None or abs(fold["median"]["sharpe"]) < 50
        assert all(run["max_drawdown"] is not None for run in fold["seeds"])


def test_rl_evaluate_scores_each_seed_of_a_stored_model_on_later_bars_with_their_median(db, folder):
    options = {"name": "fam", "data": str(folder), "end": "2024-06-28", "steps": 256, "seeds": 2}
    call_command("rl_train", **options, stdout=StringIO(), stderr=StringIO())
    assert sorted(AgentModel.objects.values_list("name", "seed")) == [("fam-seed0", 0), ("fam-seed1", 1)]

    out = StringIO()
    call_command("rl_evaluate", model="fam", data=str(folder), start="2024-07-01", end="2024-09-30", stdout=out)

    result = json.loads(out.getvalue())
    assert [run["name"] for run in result["seeds"]] == ["fam-seed0", "fam-seed1"]
    sharpes = [run["sharpe"] for run in result["seeds"] if run["sharpe"] is not None]
    assert result["median"]["sharpe"] == (round(float(np.median([float(v) for v in sharpes])), 4) if sharpes else None)
    assert set(result["benchmarks"]) == {"buy_and_hold", "equal_weight", "sma_crossover"}
    with pytest.raises(CommandError, match="no trained model named 'nope'"):
        call_command("rl_evaluate", model="nope", data=str(folder), start="2024-07-01", end="2024-09-30")
