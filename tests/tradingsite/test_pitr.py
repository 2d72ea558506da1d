"""Point-in-time recovery with pgBackRest, as the chart's README sets it up for a self-run PostgreSQL: a
cluster this test starts archives its WAL continuously; after a full backup, rows written before and after
a moment T, the cluster is restored to T, and has exactly the rows written before it."""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tradingsite.embedded import free_port


def postgres_bin() -> Path:
    """The newest Debian PostgreSQL's programs, else the embedded server's (the pgserver wheel)."""
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if debian:
        return debian[-1]
    import pgserver

    return Path(pgserver.__file__).parent / "pginstall" / "bin"


def run(*command, cwd=None, check=True) -> subprocess.CompletedProcess:
    """As the postgres user when this runs as root (PostgreSQL refuses to run as root)."""
    argv = [str(part) for part in command]
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    done = subprocess.run(argv, cwd=cwd or "/", capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, f"{argv}: {done.stdout}\n{done.stderr}"
    return done


def test_pgbackrest_restores_the_cluster_to_a_point_in_time():
    assert shutil.which("pgbackrest"), "pgbackrest is missing: apt-get install pgbackrest (make test does)"
    # A folder the postgres user can reach (pytest's own are private to this user).
    base = Path(tempfile.mkdtemp(prefix="tradingsite-pitr-"))
    try:
        pitr(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def pitr(base: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    bin_dir, port = postgres_bin(), free_port()
    data, conf = base / "data", base / "pgbackrest.conf"
    conf.write_text(
        f"[global]\nrepo1-path={base}/repo\nlog-path={base}/log\nlock-path={base}/lock\nspool-path={base}/spool\n"
        "start-fast=y\nrepo1-retention-full=2\n"
        f"[demo]\npg1-path={data}\npg1-port={port}\npg1-socket-path={base}\n"
    )
    if os.geteuid() == 0:
        shutil.chown(conf, "postgres")
    backrest = ["pgbackrest", f"--config={conf}", "--stanza=demo"]
    psql = [bin_dir / "psql", "-h", base, "-p", port, "-U", "postgres", "-d", "postgres", "-tAc"]

    run(bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust")
    with (data / "postgresql.conf").open("a") as settings:
        settings.write(
            f"port = {port}\nlisten_addresses = ''\nunix_socket_directories = '{base}'\n"
            "wal_level = replica\narchive_mode = on\n"
            f"archive_command = 'pgbackrest --config={conf} --stanza=demo archive-push %p'\n"
        )
    run(bin_dir / "pg_ctl", "-D", data, "-l", base / "server.log", "-w", "start")
    try:
        run(*backrest, "stanza-create")
        run(*backrest, "check")  # WAL reaches the repository
        run(*backrest, "--type=full", "backup")
        run(*psql, "CREATE TABLE fills (id int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())")
        run(*psql, "INSERT INTO fills (id) SELECT generate_series(1, 100)")
        time.sleep(1.1)
        target = run(*psql, "SELECT clock_timestamp()").stdout.strip()
        time.sleep(1.1)
        run(*psql, "INSERT INTO fills (id) SELECT generate_series(101, 250)")
        run(*psql, "SELECT pg_switch_wal()")
        run(*backrest, "check")  # the WAL after T is archived too
    finally:
        run(bin_dir / "pg_ctl", "-D", data, "-w", "-m", "fast", "stop", check=False)

    started = time.monotonic()
    run(*backrest, "--delta", "--type=time", f"--target={target}", "--target-action=promote", "restore")
    run(bin_dir / "pg_ctl", "-D", data, "-l", base / "server.log", "-w", "-t", "120", "start")
    try:
        wait_until = time.monotonic() + 60
        while run(*psql, "SELECT pg_is_in_recovery()").stdout.strip() != "f" and time.monotonic() < wait_until:
            time.sleep(0.2)
        recovered = time.monotonic() - started
        rows = run(*psql, "SELECT count(*), max(id) FROM fills").stdout.strip()
    finally:
        run(bin_dir / "pg_ctl", "-D", data, "-w", "-m", "fast", "stop", check=False)
    assert rows == "100|100"  # what was written before T, and nothing after
    assert recovered < 120
