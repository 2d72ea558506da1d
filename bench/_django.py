"""What every bench does first and last: make the project importable, give the bench its own cache and
channel-layer key prefix (so it never meets a running system's keys, nor another bench's), set up
Django (`django_start`); then a throwaway database, and everything the bench starts stopped again
(`bench_run`)."""

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path


def django_start(name: str, **environ: str) -> str:
    """Django set up for the bench `name`, with `environ` added to the environment; returns the key prefix."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    prefix = f"bench-{name}-{uuid.uuid4().hex[:6]}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingsite.settings")
    os.environ["CACHE_KEY_PREFIX"] = prefix
    os.environ["CHANNEL_LAYER_PREFIX"] = prefix
    os.environ.update(environ)
    import django

    django.setup()
    return prefix


@contextmanager
def bench_run() -> Iterator[ExitStack]:
    """A throwaway test database for the bench, and an ExitStack for what the bench starts (processes,
    fake servers: `stack.callback(processes.close)`). On the way out, whatever happened, those stop
    first, in reverse order, and then the database goes."""
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        with ExitStack() as stack:
            yield stack
    finally:
        connection.close()
        teardown_databases(old_config, verbosity=0)
