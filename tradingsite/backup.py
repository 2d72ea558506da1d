"""Backups and restore drills of the PostgreSQL database.

A backup is `pg_dump` of one snapshot of the database, exported by a transaction that, in the same
snapshot, reads what the manifest records: the audit chain's head, the row counts of the tables that
matter, and the accepted orders (how many, their highest id and the sum of their ids). The dump and its
manifest go to `<folder>/<UTC time>/`. Everything in the manifest is exactly what the dump holds.

A drill restores a backup into a new database on the same server, checks that no migration is missing
(`migrate --check`), verifies the audit chain there (`audit_verify`), compares the restored rows with the
manifest, and reports how long it took and what a restore would lose. It reports two things: what is
missing from the restore against the manifest (nothing, when the backup is good), and the rows the live
database has gained since the backup. Then it drops the drill's database, unless asked to keep it.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connection
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from tradingsite.embedded import database_url_of, postgres_url_for
from tradingsite.exceptions import ApplicationError
from tradingsite.processes import ROOT

# The tables whose rows the manifest counts: the system of record.
COUNTED = (
    "trading_tradingaccount",
    "trading_order",
    "trading_trade",
    "trading_position",
    "trading_strategyposition",
    "trading_outboxentry",
    "audit_auditevent",
)
ACCEPTED_ORDERS_SQL = (
    "SELECT count(*), coalesce(max(id), 0), coalesce(sum(id), 0) FROM trading_order WHERE status <> 'REJECTED'"
)
HEAD_SQL = "SELECT coalesce(max(sequence), 0) FROM audit_auditevent WHERE sequence IS NOT NULL"
HEAD_HASH_SQL = "SELECT hash FROM audit_auditevent WHERE sequence = %s"


class BackupFailed(ApplicationError):
    code = "backup_failed"
    status = 500


def pg_tool(name: str, server_major: int) -> str:
    """The `pg_dump` or `pg_restore` to use: BACKUP_PG_BIN's, the embedded server's, or the PATH's, the
    first whose major version is at least the server's (an older one refuses a newer server)."""
    candidates = []
    if settings.BACKUP_PG_BIN:
        candidates.append(Path(settings.BACKUP_PG_BIN) / name)
    try:
        import pgserver

        candidates.append(Path(pgserver.__file__).parent / "pginstall" / "bin" / name)
    except ImportError:
        pass
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    for path in candidates:
        if not path.exists():
            continue
        version = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30).stdout
        match = re.search(r"(\d+)\.\d+", version)
        if match and int(match.group(1)) >= server_major:
            return str(path)
    raise BackupFailed(f"no {name} of PostgreSQL {server_major} or newer (set BACKUP_PG_BIN to its folder)")


def tool_run(command: list[str], database: str) -> subprocess.CompletedProcess:
    """pg_dump or pg_restore on `database`, its connection (password included) given in the PG* variables
    rather than on a command line anyone on the host can read; a timeout fails the backup, naming the tool."""
    params = conninfo_to_dict(database.replace("postgres://", "postgresql://", 1))
    names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD", "dbname": "PGDATABASE"}
    env = {**os.environ, **{names[key]: str(value) for key, value in params.items() if key in names and value}}
    try:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=settings.BACKUP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise BackupFailed(f"{Path(command[0]).name} took longer than BACKUP_TIMEOUT_SECONDS") from None


def file_sha256(path: Path) -> str:
    """A dump's SHA-256, read a megabyte at a time (a dump is the whole database)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def live_url() -> str:
    return database_url_of(connection.settings_dict)


def counts_read(cursor) -> dict:
    counts = {}
    for table in COUNTED:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - table names are this module's own
        counts[table] = cursor.fetchone()[0]
    cursor.execute(ACCEPTED_ORDERS_SQL)
    count, highest, total = cursor.fetchone()
    cursor.execute(HEAD_SQL)
    head = cursor.fetchone()[0]
    cursor.execute(HEAD_HASH_SQL, [head])
    row = cursor.fetchone()
    return {
        "rows": counts,
        "accepted_orders": {"count": count, "max_id": highest, "id_sum": int(total)},
        "audit_head": {"sequence": head, "hash": row[0] if row else ""},
    }


def backup_take(destination: str | Path) -> dict:
    """Dump the database as of one snapshot, with its manifest, into a new folder under `destination`:
    a folder, or an S3 bucket and prefix as s3://bucket/prefix (uploaded from a temporary folder)."""
    destination = str(destination)
    if not destination.startswith("s3://"):
        return backup_to_folder(Path(destination))
    with tempfile.TemporaryDirectory(prefix="tradingsite-backup-") as scratch:
        taken = backup_to_folder(Path(scratch), record=False)
        local = Path(taken["path"])
        bucket, prefix = s3_split(destination)
        key = f"{prefix}/{local.name}".lstrip("/")
        client = s3_client()
        try:
            for name in (taken["dump"]["file"], "manifest.json"):  # the manifest last: its presence says done
                client.upload_file(str(local / name), bucket, f"{key}/{name}")  # with the bucket's encryption
        except Exception as exc:  # botocore's errors: no such bucket, access refused, the store away
            raise BackupFailed(f"the backup could not be written to s3://{bucket}/{key}: {exc}") from exc
    location = f"s3://{bucket}/{key}"
    manifest = {name: value for name, value in taken.items() if name != "path"}
    backup_record(location, manifest)
    return {**taken, "path": location}


def s3_split(url: str) -> tuple[str, str]:
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise BackupFailed(f"{url} names no bucket: give s3://bucket/prefix")
    return bucket, prefix.strip("/")


def s3_client():
    """boto3's S3 client, configured as boto3 is (AWS_* variables, the pod's IAM role; AWS_ENDPOINT_URL_S3
    for an S3-compatible store)."""
    import boto3

    return boto3.client("s3")


def s3_fetch(url: str, into: Path) -> Path:
    bucket, key = s3_split(url)
    client = s3_client()
    folder = Path(into) / key.rsplit("/", 1)[-1]
    folder.mkdir(parents=True)
    try:
        client.download_file(bucket, f"{key}/manifest.json", str(folder / "manifest.json"))
        manifest = json.loads((folder / "manifest.json").read_text())
        client.download_file(bucket, f"{key}/{manifest['dump']['file']}", str(folder / manifest["dump"]["file"]))
    except Exception as exc:  # botocore's errors: a missing key, a refused request
        raise BackupFailed(f"{url} could not be read: {exc}") from exc
    return folder


def backup_to_folder(folder: Path, *, record: bool = True) -> dict:
    started = time.monotonic()
    url = live_url()
    with psycopg.connect(url, autocommit=True) as conn:
        major = conn.info.server_version // 10000
        dump = pg_tool("pg_dump", major)
        with conn.transaction(), conn.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot(), now()")
            snapshot, taken_at = cursor.fetchone()
            state = counts_read(cursor)
            target = Path(folder) / taken_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            target.mkdir(parents=True, mode=0o700)  # the whole database: readable by this user only
            path = target / "database.dump"
            # The snapshot lives while this transaction does: pg_dump reads exactly what was counted.
            command = [dump, "--format=custom", f"--snapshot={snapshot}", f"--file={path}"]
            previous = os.umask(0o077)
            try:
                done = tool_run(command, url)
            finally:
                os.umask(previous)
            if done.returncode != 0:
                shutil.rmtree(target, ignore_errors=True)
                raise BackupFailed(f"pg_dump failed: {done.stderr.strip()[-2000:]}")
    manifest = {
        "format": 1,
        "taken_at": taken_at.astimezone(UTC).isoformat(),
        "database": connection.settings_dict["NAME"],
        "server_version": major,
        "dump": {"file": path.name, "bytes": path.stat().st_size, "sha256": file_sha256(path)},
        **state,
        "seconds": round(time.monotonic() - started, 3),
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if record:
        backup_record(str(target), manifest)
    return {"path": str(target), **manifest}


def backup_record(location: str, manifest: dict) -> None:
    from tradingsite.models import BackupRecord

    BackupRecord.objects.create(location=location, taken_at=manifest["taken_at"], manifest=manifest)


@dataclass
class Drill:
    backup: str
    database: str
    seconds: float = 0.0
    migrations_ok: bool = False
    chain_verified: bool = False
    chain_report: str = ""
    manifest_matches: bool = False
    missing_against_manifest: dict = field(default_factory=dict)
    newer_than_backup: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.migrations_ok and self.chain_verified and self.manifest_matches and not self.problems


def manage(database_url: str, *args: str) -> subprocess.CompletedProcess:
    """A management command run on another database (the drill's), its Redis names kept apart."""
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_NAMESPACE": f"drill-{os.getpid()}"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "manage.py", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)


def restore_drill(backup: str | Path, *, keep: bool = False) -> Drill:
    """Drill a backup: a folder `backup_take` made, or its s3:// location (fetched to a temporary folder)."""
    if str(backup).startswith("s3://"):
        with tempfile.TemporaryDirectory(prefix="tradingsite-drill-") as scratch:
            started = time.monotonic()
            drill = restore_drill_folder(s3_fetch(str(backup), Path(scratch)), keep=keep)
            drill.backup, drill.seconds = str(backup), round(time.monotonic() - started, 3)
            return drill
    return restore_drill_folder(Path(backup), keep=keep)


def restore_drill_folder(backup: Path, *, keep: bool = False) -> Drill:
    started = time.monotonic()
    manifest_path = backup / "manifest.json"
    if not manifest_path.exists():
        raise BackupFailed(f"{backup} holds no manifest.json: not a backup folder")
    manifest = json.loads(manifest_path.read_text())
    dump = backup / manifest["dump"]["file"]
    if file_sha256(dump) != manifest["dump"]["sha256"]:
        raise BackupFailed(f"{dump} does not match the manifest's SHA-256: the dump is damaged")
    url = live_url()
    name = f"{connection.settings_dict['NAME']}_drill_{datetime.now(UTC):%Y%m%d%H%M%S}"[:63]
    drill = Drill(backup=str(backup), database=name)
    with psycopg.connect(postgres_url_for(url, "postgres"), autocommit=True) as admin:
        major = admin.info.server_version // 10000
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    target = postgres_url_for(url, name)
    try:
        restore = pg_tool("pg_restore", major)
        done = tool_run([restore, "--no-owner", "--exit-on-error", f"--dbname={name}", str(dump)], target)
        if done.returncode != 0:
            raise BackupFailed(f"pg_restore failed: {done.stderr.strip()[-2000:]}")
        target_url = target_database_url(url, name)
        migrations = manage(target_url, "migrate", "--check")
        drill.migrations_ok = migrations.returncode == 0
        if not drill.migrations_ok:
            drill.problems.append(f"migrations missing in the backup: {migrations.stdout.strip()[-500:]}")
        with psycopg.connect(target) as restored, restored.cursor() as cursor:
            state = counts_read(cursor)
        drill.missing_against_manifest = differences(manifest, state)
        drill.manifest_matches = not drill.missing_against_manifest
        if not drill.manifest_matches:
            drill.problems.append(f"the restore differs from the manifest: {drill.missing_against_manifest}")
        # As the restored site would on start: its sequencer links the rows written but not yet linked
        # when the snapshot was taken, then the whole chain is verified, seals and checkpoints included.
        linked = manage(target_url, "audit_sequencer", "--once")
        if linked.returncode != 0:
            drill.problems.append(f"linking the restored audit rows failed: {linked.stderr.strip()[-500:]}")
        verified = manage(target_url, "audit_verify")
        drill.chain_verified = verified.returncode == 0
        drill.chain_report = (verified.stdout or verified.stderr).strip()[-1000:]
        if not drill.chain_verified:
            drill.problems.append(f"audit chain: {drill.chain_report}")
        with psycopg.connect(url) as live, live.cursor() as cursor:
            now = counts_read(cursor)
        drill.newer_than_backup = {
            table: now["rows"][table] - manifest["rows"][table]
            for table in COUNTED
            if now["rows"][table] != manifest["rows"][table]
        }
    finally:
        if not keep:
            with psycopg.connect(postgres_url_for(url, "postgres"), autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    drill.seconds = round(time.monotonic() - started, 3)
    return drill


def target_database_url(url: str, name: str) -> str:
    db = dict(connection.settings_dict, NAME=name)
    return database_url_of(db)


def differences(manifest: dict, restored: dict) -> dict:
    """What the restore lacks (or has in excess) against the manifest; empty when they agree."""
    out = {}
    for table, count in manifest["rows"].items():
        if restored["rows"].get(table) != count:
            out[table] = {"manifest": count, "restored": restored["rows"].get(table)}
    for key in ("accepted_orders", "audit_head"):
        if restored[key] != manifest[key]:
            out[key] = {"manifest": manifest[key], "restored": restored[key]}
    return out


def drill_summary(drill: Drill) -> dict:
    return {**asdict(drill), "ok": drill.ok}
