"""The platform's processes (web, feed, worker) started as children on a given database and Redis
prefix: for the browser tests and the benches, which need the real servers, not an in-process client."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection

from tradingsite.embedded import database_url_of, free_port

ROOT = Path(__file__).resolve().parent.parent


def shared_env(prefix: str, **extra: str) -> dict[str, str]:
    """Settings for children that share this process's database (the test database, inside a test run)
    and keep their Redis keys and channels under `prefix`, apart from anything else on that Redis.
    Set the same prefixes in this process (CACHE_KEY_PREFIX, CHANNEL_LAYER_PREFIX) to see what they write."""
    return {
        "DATABASE_URL": database_url_of(connection.settings_dict),
        "CACHE_KEY_PREFIX": prefix,
        "CHANNEL_LAYER_PREFIX": prefix,
        # This process's namespace (the outbox's Redis list, the Celery queue's default name), which a
        # child would otherwise derive from the test database's name instead of the one this one read.
        "REDIS_NAMESPACE": settings.REDIS_NAMESPACE,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def static_collect(root: Path) -> Path:
    """The static files collected into `root` as the demo and the image serve them (pass STATIC_ROOT=root)."""
    env = {**os.environ, "STATIC_ROOT": str(root)}
    command = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=300)
    return root


class Processes:
    """Children sharing one environment, each logging to `<log_dir>/<name>.log`; stop() or close() ends them."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by a browser test for itself only
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.children: dict[str, subprocess.Popen] = {}
        self.port = free_port()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, name: str, argv: list[str], **env: str) -> subprocess.Popen:
        if name in self.children and self.children[name].poll() is None:
            raise RuntimeError(f"{name} is already running")
        log = (self.log_dir / f"{name}.log").open("ab")
        self.children[name] = subprocess.Popen(
            argv, cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        return self.children[name]

    def web(self, **env: str) -> None:
        """daphne on this set's port, as the Procfile runs it; returns once /readyz answers 200."""
        argv = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "tradingsite.asgi:application"]
        process = self.start("web", argv, **env)
        self.wait_http(f"{self.base_url}/readyz", process, "web")

    def feed(self, **env: str) -> None:
        self.start("feed", [sys.executable, "manage.py", "run_feed"], **env)

    def sequencer(self, **env: str) -> None:
        """The audit sequencer, linking written events into the chain, as the Procfile runs it."""
        self.start("sequencer", [sys.executable, "manage.py", "audit_sequencer"], **env)

    def dispatcher(self, **env: str) -> None:
        """An outbox dispatcher (OUTBOX_DISPATCH=redis), as the Procfile runs it."""
        self.start("dispatcher", [sys.executable, "manage.py", "outbox_dispatch"], OUTBOX_DISPATCH="redis", **env)

    def worker(self, queue: str, *, concurrency: int = 1) -> None:
        argv = [sys.executable, "-m", "celery", "-A", "tradingsite", "worker", "-Q", queue]
        argv += ["--concurrency", str(concurrency)]
        argv += ["--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"]
        self.start("worker", argv, CELERY_TASK_DEFAULT_QUEUE=queue)

    def wait_http(self, url: str, process: subprocess.Popen, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited during start-up:\n{self.log_tail(name)}")
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not answer {url} in {timeout:.0f} s:\n{self.log_tail(name)}")

    def stop(self, name: str, timeout: float = 15) -> int | None:
        """SIGTERM (the processes' clean shutdown), then SIGKILL if it does not end in `timeout` seconds."""
        process = self.children.pop(name, None)
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        os.killpg(process.pid, signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            return process.wait()

    def close(self) -> None:
        for name in list(self.children):
            self.stop(name)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"

    def logs(self) -> str:
        names = sorted(path.stem for path in self.log_dir.glob("*.log"))
        return "\n".join(f"--- {name}\n{self.log_tail(name)}" for name in names)
