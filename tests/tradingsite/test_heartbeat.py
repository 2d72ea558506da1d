"""The liveness probe of the processes without an HTTP server: fresh while the process's loop turns,
stale (and the probe failing, saying how stale) when it stops."""

import os
import subprocess
import sys
import time

import pytest

from tests.conftest import RUN_PREFIX
from tests.threads import wait_for
from tradingsite.processes import ROOT, Processes, shared_env


def probe(folder, name, max_age="60"):
    env = {**os.environ, "HEARTBEAT_DIR": str(folder)}
    command = [sys.executable, "-m", "tradingsite.heartbeat", name, "--max-age", max_age]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)


def test_the_probe_fails_without_a_heartbeat_and_when_it_is_stale(tmp_path):
    missing = probe(tmp_path, "feed")
    assert missing.returncode == 1 and "no heartbeat yet" in missing.stderr
    (tmp_path / "feed").touch()
    assert probe(tmp_path, "feed").returncode == 0
    old = time.time() - 300
    os.utime(tmp_path / "feed", (old, old))
    stale = probe(tmp_path, "feed")
    assert stale.returncode == 1 and "last heartbeat 300 s ago (more than 60 s)" in stale.stderr


@pytest.mark.django_db(transaction=True)
def test_a_running_dispatcher_keeps_its_heartbeat_fresh_and_a_stopped_one_goes_stale(tmp_path):
    processes = Processes(shared_env(RUN_PREFIX, HEARTBEAT_DIR=str(tmp_path)), tmp_path / "logs")
    try:
        processes.dispatcher()
        wait_for(lambda: probe(tmp_path, "dispatcher").returncode == 0, timeout=30, what="a fresh heartbeat", every=0.5)
        processes.stop("dispatcher")
        assert probe(tmp_path, "dispatcher", max_age="60").returncode == 0
        time.sleep(1.5)
        assert probe(tmp_path, "dispatcher", max_age="1").returncode == 1  # nothing touches it any more
    finally:
        processes.close()
