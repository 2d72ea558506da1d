"""Operations settings: metrics, heartbeats, backups (imported into tradingsite.settings)."""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()


def env_secret(name: str, default: str | None = "") -> str | None:
    """A secret from the file `<name>_FILE` names (a mounted Kubernetes secret), else `<name>`, else the
    default. Every settings module reads its secrets with this."""
    path = env.str(f"{name}_FILE", "")
    if not path:
        return env.str(name, default)
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}_FILE points at {path!r}, which cannot be read: {exc}") from exc


# Every process serves its metrics on this port (0: none), separate from the public one; with a token
# set, scrapes must carry it (Authorization: Bearer ...), there and at /metrics on the web port, which
# is not served at all without one.
METRICS_PORT = env.int("METRICS_PORT", 0)
METRICS_BIND = env.str("METRICS_BIND", "0.0.0.0")
METRICS_TOKEN = env_secret("METRICS_TOKEN")
# Whether this process's scrape also reads the site's state (outbox, sessions, P&L, queues, backups) from
# the database and Redis; the chart turns it off in every pod but one.
METRICS_STATE = env.bool("METRICS_STATE", True)
# Processes of one pod count into shared files here (prometheus-client's multiprocess mode).
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# Backups (manage.py backup, restore_drill): where the PostgreSQL client tools are (empty: the embedded
# server's, else the PATH's), and how long a dump or a restore may take.
BACKUP_PG_BIN = env.str("BACKUP_PG_BIN", "")
BACKUP_TIMEOUT_SECONDS = env.int("BACKUP_TIMEOUT_SECONDS", 3600)

# Circuit breakers of outside services (the broker, news sources, the OpenID provider; tradingsite/circuit.py):
# open after this many failures in a row, and try again after this many seconds.
CIRCUIT_FAILURES = env.int("CIRCUIT_FAILURES", 5)
CIRCUIT_RESET_SECONDS = env.float("CIRCUIT_RESET_SECONDS", 30.0)
if CIRCUIT_FAILURES < 1 or CIRCUIT_RESET_SECONDS <= 0:
    raise ImproperlyConfigured("CIRCUIT_FAILURES must be 1 or more and CIRCUIT_RESET_SECONDS more than 0")
