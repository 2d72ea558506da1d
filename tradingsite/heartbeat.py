"""Liveness for the processes without an HTTP server (feed, worker, beat, dispatcher, sequencer, strategy
runner): each touches a file named after itself under HEARTBEAT_DIR from its main loop, and the probe

    python -m tradingsite.heartbeat NAME [--max-age SECONDS]

exits 1, saying how stale it is, when the file is older than that (a loop stuck on a lock or a dead
connection), 0 otherwise. The probe imports only the standard library, so it costs milliseconds. With
HEARTBEAT_DIR unset (local runs, tests) nothing is written.
"""

import argparse
import os
import sys
import threading
import time
from pathlib import Path

EVERY_SECONDS = 5.0  # a loop going round faster touches the file no more often than this
_last: dict[str, float] = {}


def heartbeat_dir() -> Path | None:
    folder = os.environ.get("HEARTBEAT_DIR", "")
    return Path(folder) if folder else None


def beat(name: str) -> None:
    """Say `name` is alive (cheap enough for every pass of a loop)."""
    folder = heartbeat_dir()
    now = time.monotonic()
    if folder is None or now - _last.get(name, -EVERY_SECONDS) < EVERY_SECONDS:
        return
    _last[name] = now
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).touch()
    except OSError:
        pass  # a full or read-only disk must not stop the process; the probe will say it is stale


def beat_in_background(name: str, alive=lambda: True) -> threading.Thread:
    """For a process whose loop is not ours (Celery's worker and beat): a thread that beats while
    `alive()` says the process still does its work."""

    def run():
        while True:
            if alive():
                beat(name)
            time.sleep(EVERY_SECONDS)

    thread = threading.Thread(target=run, name=f"heartbeat-{name}", daemon=True)
    thread.start()
    return thread


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Exit 1 when a process's heartbeat is stale.")
    parser.add_argument("name")
    parser.add_argument("--max-age", type=float, default=60.0, help="seconds (default 60)")
    args = parser.parse_args(argv)
    folder = heartbeat_dir()
    if folder is None:
        sys.stderr.write("HEARTBEAT_DIR is not set: nothing to check\n")
        return 1
    path = folder / args.name
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        sys.stderr.write(f"{args.name}: no heartbeat yet at {path}\n")
        return 1
    if age > args.max_age:
        sys.stderr.write(f"{args.name}: last heartbeat {age:.0f} s ago (more than {args.max_age:.0f} s)\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
