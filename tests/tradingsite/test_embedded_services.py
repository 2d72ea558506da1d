"""`make demo` on a machine with no configured PostgreSQL or Redis: embedded servers, data kept between runs."""

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys

import psutil
from django.conf import settings


def launch(data_dir, *command: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    return subprocess.run(
        [sys.executable, "-m", "tradingsite.embedded", "run", "--data-dir", str(data_dir), "--", *command],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def servers_running_in(data_dir) -> list[str]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(data_dir) in cmdline and ("postgres" in cmdline or "redis-server" in cmdline):
            found.append(cmdline)
    return found


def test_demo_setup_runs_on_embedded_servers_and_a_second_run_reuses_the_data(tmp_path):
    data_dir = tmp_path / "data"
    manage = [sys.executable, "manage.py"]

    # when the demo is prepared with neither DATABASE_URL nor REDIS_URL set
    first = launch(data_dir, *manage, "demo", "--setup-only")

    # then embedded servers were started under the data folder, and the demo logins printed
    assert first.returncode == 0, first.stderr[-3000:]
    assert "starting embedded PostgreSQL" in first.stderr
    assert "starting embedded Redis" in first.stderr
    assert "alice" in first.stdout and "(compliance)" in first.stdout
    assert re.search(r"news: [1-9]\d* simulated articles", first.stdout), first.stdout
    assert "intraday history: simulated minute bars of recent sessions for 50 instruments" in first.stdout
    assert (data_dir / "postgres" / "PG_VERSION").exists()
    logins = json.loads((data_dir / "demo-logins.json").read_text())
    assert set(logins) == {"alice", "bob", "carol", "dave", "admin"}
    # and where the audit signing key is, for compliance to check an export with: the key this demo signs with
    key = data_dir / "audit-signing-key"
    assert f"--key-file {key}" in first.stdout and oct(key.stat().st_mode & 0o777) == "0o600"
    secret = (data_dir / "secret-key").read_text().strip().encode()
    assert key.read_bytes() == hmac.new(secret, b"audit-signing-key", hashlib.sha256).hexdigest().encode()
    assert servers_running_in(data_dir) == []

    # when it runs again, the users, their passwords and the audit trail are found where they were left
    check = (
        "from django.contrib.auth import authenticate; from audit.chain import chain_verify; "
        "from tradingsite.health import redis_check; "
        f"assert authenticate(username='alice', password={logins['alice']!r}); "
        "report = chain_verify(); assert report.ok and report.rows_checked > 5, report; "
        "assert redis_check() is None; print('reused', report.rows_checked); "
        "from sentiment.models import Article, SymbolSentiment; "
        "assert Article.objects.filter(symbols__symbol='INFY').exists(); assert SymbolSentiment.objects.exists()"
    )
    second = launch(data_dir, *manage, "shell", "-c", check)

    assert second.returncode == 0, second.stderr[-3000:]
    assert "reused" in second.stdout
    assert "created database" not in second.stderr
    assert servers_running_in(data_dir) == []
