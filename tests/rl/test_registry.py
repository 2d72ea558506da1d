"""Training into the registry from the command line, from a folder of CSV bars: checkpointed, and a run
whose process is killed is resumed from its last checkpoint by the next run of the same agent."""

import json
import signal
import subprocess
import sys
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from rl.models import AgentModel
from rl.policy import ExportedPolicy
from tests.conftest import RUN_PREFIX
from tests.strategies.test_runs import walk_csv
from tradingsite.processes import ROOT, shared_env


@pytest.fixture
def folder(tmp_path):
    for k, symbol in enumerate(("AAA", "BBB")):
        walk_csv(tmp_path / f"{symbol}.csv", 200, seed=k)
    return tmp_path


def test_a_killed_training_run_resumes_from_its_checkpoint(transactional_db, folder, settings):
    # given a training run in its own process, checkpointing every 512 steps, killed after its first
    command = [sys.executable, "manage.py", "rl_train", "--name", "ar", "--data", str(folder), "--to", "2024-09-30"]
    command += ["--steps", "4096", "--seed", "3"]
    env = shared_env(RUN_PREFIX, RL_CHECKPOINT_STEPS="512")
    child = subprocess.Popen(
        command, cwd=ROOT, env={**env, "PATH": ""}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and AgentModel.objects.filter(name="ar", steps_done__gte=512).count() == 0:
        assert child.poll() is None, (folder / "child.log").read_text()[-2000:]
        time.sleep(0.2)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    killed_at = AgentModel.objects.get(name="ar")
    assert killed_at.status == "training" and 512 <= killed_at.steps_done < 4096

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
