"""Backups and the restore drill: a backup taken while orders are being placed restores into a new
database where the audit chain verifies and every accepted order committed before the backup is there;
to and from S3 too (a fake S3 on loopback, which boto3 talks to as to AWS)."""

import json
import threading
from decimal import Decimal
from io import StringIO

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tests.trading.conftest import instrument_make
from trading.models import Order
from trading.orders.accounts import account_create
from trading.orders.services import order_place
from tradingsite.embedded import database_url_of, postgres_url_for
from tradingsite.metrics_export import scrape
from tradingsite.models import BackupRecord

pytestmark = pytest.mark.django_db(transaction=True)


def placing(account, instrument, stop: threading.Event, committed: list[int]) -> None:
    """Place orders until stopped; each accepted one's id is noted once its placement has committed (the
    account's orders-per-second limit rejects some)."""
    try:
        while not stop.is_set():
            order = order_place(
                account=account,
                instrument=instrument,
                transaction_type="BUY",
                order_type="LIMIT",
                product="CNC",
                quantity=1,
                price=Decimal("2400.00"),
            )
            if order.status != Order.Status.REJECTED:
                committed.append(order.pk)
    finally:
        connection.close()


def test_a_backup_taken_while_orders_are_placed_restores_with_a_verified_chain_and_no_order_lost(alice, tmp_path):
    reliance = instrument_make("RELIANCE", 738561, "2500.00")
    account = account_create(owner=alice, name="alice-paper", cash=Decimal("10000000"), created_by=alice)
    stop, committed = threading.Event(), []
    worker = threading.Thread(target=placing, args=(account, reliance, stop, committed))
    worker.start()
    try:
        while len(committed) < 20:
            stop.wait(0.01)
        before = list(committed)  # committed before the backup starts: all must be in it
        out = StringIO()
        call_command("backup", folder=str(tmp_path / "backups"), stdout=out)
        while len(committed) < len(before) + 20:  # and orders go on after it
            stop.wait(0.01)
    finally:
        stop.set()
        worker.join(timeout=30)
    taken = json.loads(out.getvalue())
    assert taken["accepted_orders"]["count"] >= len(before)
    assert taken["audit_head"]["sequence"] >= 0 and taken["dump"]["bytes"] > 0
    assert BackupRecord.objects.count() == 1

    report = StringIO()
    try:
        call_command("restore_drill", backup=taken["path"], keep=True, stdout=report)
    except CommandError as exc:
        pytest.fail(f"{exc}\n{report.getvalue()}")

    drill = json.loads(report.getvalue())
    assert drill["ok"] and drill["chain_verified"] and drill["migrations_ok"], drill
    assert drill["missing_against_manifest"] == {}
    assert drill["newer_than_backup"]["trading_order"] >= 20  # placed after the backup: a restore loses them
    assert drill["seconds"] > 0
    restored_url = postgres_url_for(database_url_of(connection.settings_dict), drill["database"])
    try:
        with psycopg.connect(restored_url) as restored:
            there = {row[0] for row in restored.execute("SELECT id FROM trading_order WHERE status <> 'REJECTED'")}
        assert set(before) <= there
        assert len(there) == taken["accepted_orders"]["count"] and max(there) == taken["accepted_orders"]["max_id"]
    finally:
        with psycopg.connect(postgres_url_for(restored_url, "postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{drill["database"]}" WITH (FORCE)')
    assert Order.objects.exclude(status="REJECTED").count() == len(committed)
    from prometheus_client.parser import text_string_to_metric_families

    newest = BackupRecord.objects.get().taken_at.timestamp()
    scraped = {s.name: s.value for f in text_string_to_metric_families(scrape().decode()) for s in f.samples}
    assert scraped["tradingsite_backup_last_success_timestamp_seconds"] == pytest.approx(newest)


def test_a_damaged_dump_is_refused_by_the_drill(alice, tmp_path):
    out = StringIO()
    call_command("backup", folder=str(tmp_path), stdout=out)
    taken = json.loads(out.getvalue())
    dump = tmp_path / taken["path"].rsplit("/", 1)[1] / "database.dump"
    dump.write_bytes(dump.read_bytes()[:-10] + b"0123456789")

    with pytest.raises(CommandError, match="does not match the manifest's SHA-256"):
        call_command("restore_drill", backup=taken["path"], stdout=StringIO())
    with pytest.raises(CommandError, match="holds no manifest.json"):
        call_command("restore_drill", backup=str(tmp_path), stdout=StringIO())


def test_a_backup_goes_to_s3_and_the_drill_restores_it_from_there(alice, tmp_path, monkeypatch):
    import boto3
    from moto.server import ThreadedMotoServer

    from tradingsite.embedded import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        for name, value in {
            "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "ap-south-1",
        }.items():
            monkeypatch.setenv(name, value)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="backups", CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
        reliance = instrument_make("RELIANCE", 738561, "2500.00")
        account = account_create(owner=alice, name="alice-paper", cash=Decimal("10000000"), created_by=alice)
        order = order_place(
            account=account, instrument=reliance, transaction_type="BUY", order_type="LIMIT", product="CNC",
            quantity=1, price=Decimal("2400.00"),
        )  # fmt: skip

        out = StringIO()
        call_command("backup", folder="s3://backups/nightly", stdout=out)
        taken = json.loads(out.getvalue())
        assert taken["path"].startswith("s3://backups/nightly/")
        keys = {item["Key"] for item in s3.list_objects_v2(Bucket="backups")["Contents"]}
        stamp = taken["path"].rsplit("/", 1)[1]
        assert keys == {f"nightly/{stamp}/database.dump", f"nightly/{stamp}/manifest.json"}
        assert BackupRecord.objects.get().location == taken["path"]

        report = StringIO()
        call_command("restore_drill", backup=taken["path"], stdout=report)
        drill = json.loads(report.getvalue())
        assert drill["ok"] and drill["backup"] == taken["path"] and drill["missing_against_manifest"] == {}
        assert taken["accepted_orders"] == {"count": 1, "max_id": order.pk, "id_sum": order.pk}

        with pytest.raises(CommandError, match="could not be written to s3://nowhere/nightly"):
            call_command("backup", folder="s3://nowhere/nightly", stdout=StringIO())
        with pytest.raises(CommandError, match="s3://backups/missing could not be read"):
            call_command("restore_drill", backup="s3://backups/missing", stdout=StringIO())
    finally:
        server.stop()
