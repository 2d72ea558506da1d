"""Events are written without a lock and linked by one sequencer: what a rollback, an edit before
linking, out-of-order commits, a killed sequencer and a stalled one each do to the trail."""

import random
import signal
import threading
import time
import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from audit.chain import chain_verify
from audit.hashing import GENESIS_HASH, event_hash
from audit.models import AuditEvent
from audit.sequencer import SEAL_MISMATCH, audit_backlog, audit_link
from audit.services import audit_record
from tests.conftest import audit_linked, metrics_scrape
from tests.threads import wait_for
from tradingsite.processes import Processes, shared_env


def verify_output() -> str:
    out = StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


def chain_rows() -> list[dict]:
    return list(
        AuditEvent.objects.filter(sequence__isnull=False)
        .order_by("sequence")
        .values("id", "sequence", "prev_hash", "hash")
    )


def assert_one_unbroken_chain() -> list[dict]:
    rows = chain_rows()
    assert [row["sequence"] for row in rows] == list(range(1, len(rows) + 1))
    assert rows[0]["prev_hash"] == GENESIS_HASH
    assert all(row["prev_hash"] == before["hash"] for before, row in zip(rows, rows[1:], strict=False))
    assert len({row["id"] for row in rows}) == len(rows)
    assert chain_verify().ok
    return rows


@pytest.mark.django_db
def test_an_event_written_in_a_transaction_that_rolls_back_never_appears():
    kept = audit_record(action="order.place", actor="tests", object_id="kept")
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(action="order.place", actor="tests", object_id="rolled-back")
        raise RuntimeError("the order's transaction fails after its audit event was written")

    audit_linked(kept)

    assert not AuditEvent.objects.filter(object_id="rolled-back").exists()
    assert kept.sequence is not None and chain_verify().ok


def tamper(sql: str, params) -> None:
    """Change the table behind the triggers' back, as only a superuser can."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


@pytest.mark.django_db
def test_an_event_altered_before_the_sequencer_links_it_is_detected():
    # given an order event written but not linked yet, and a superuser who rewrites its quantity
    event = audit_record(action="order.place", actor="tests", object_id="order-1", payload={"quantity": 5})
    tamper("UPDATE audit_auditevent SET payload = '{\"quantity\": 500}' WHERE id = %s", [event.pk])

    # then verification names it before it is linked
    with pytest.raises(CommandError, match=f"unlinked audit row {event.pk} .* does not match its seal"):
        verify_output()

    # and once linked, the chain itself records that it was altered, so verification keeps failing
    audit_linked(event)
    mismatch = AuditEvent.objects.get(action=SEAL_MISMATCH)
    assert mismatch.object_id == str(event.pk) and mismatch.sequence == event.sequence + 1
    with pytest.raises(CommandError, match=f"audit row {event.pk} \\(sequence {event.sequence}\\) was altered"):
        verify_output()


@pytest.mark.django_db
def test_the_database_lets_a_row_change_only_from_unlinked_to_linked():
    event = audit_record(action="order.place", actor="tests", payload={"quantity": 5})
    with pytest.raises(Exception, match="append-only: UPDATE"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(payload={"quantity": 500})
    with pytest.raises(Exception, match="written unlinked"), transaction.atomic():
        AuditEvent.objects.create(action="forged", sequence=10**6, hash="f" * 64, seal="x")

    audit_linked(event)

    with pytest.raises(Exception, match="append-only: UPDATE"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(sequence=None, hash=None, linked_at=None)
    assert chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_a_transaction_committing_after_a_later_one_is_linked_once_on_the_next_pass():
    audit_linked()
    written = threading.Event()
    release = threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                audit_record(action="order.place", actor="tests", object_id="first-written")
                written.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert written.wait(10)
    # given an event written first but not committed, and one written after it and committed
    later = audit_record(action="order.place", actor="tests", object_id="committed-first")

    # when the sequencer runs: it links what is committed, without waiting for the writer
    started = time.monotonic()
    first_pass = audit_link()
    assert time.monotonic() - started < 2 and first_pass.linked >= 1
    release.set()
    thread.join(10)
    second_pass = audit_link()

    # then each event is linked exactly once, the earlier-written one after the one that committed first
    early = AuditEvent.objects.get(object_id="first-written")
    later.refresh_from_db()
    assert second_pass.linked == 1 and early.sequence == later.sequence + 1
    assert_one_unbroken_chain()


@pytest.mark.django_db(transaction=True)
def test_a_sequencer_killed_mid_run_and_restarted_links_every_row_exactly_once(tmp_path):
    audit_linked()
    before = AuditEvent.objects.count()
    processes = Processes(shared_env(f"test-seq-{uuid.uuid4().hex[:6]}"), tmp_path / "logs")
    stop = threading.Event()
    written: list[int] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        rng = random.Random(n)
        try:
            while not stop.is_set():
                with transaction.atomic():  # transactions of different lengths commit out of id order
                    event = audit_record(action="order.place", actor=f"writer-{n}", object_id=n)
                    time.sleep(rng.uniform(0, 0.02))
                with lock:
                    written.append(event.pk)
        finally:
            connection.close()

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    try:
        processes.sequencer(AUDIT_LINK_INTERVAL_SECONDS="0.05")
        for thread in writers:
            thread.start()
        wait_for(lambda: AuditEvent.objects.filter(sequence__isnull=False).count() > before + 50, timeout=30)
        # when the sequencer is killed outright in the middle of the run, and started again
        sequencer = processes.children["sequencer"]
        sequencer.send_signal(signal.SIGKILL)
        sequencer.wait(10)
        time.sleep(0.3)  # rows pile up unlinked meanwhile
        processes.sequencer(AUDIT_LINK_INTERVAL_SECONDS="0.05")
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in writers:
            thread.join(10)
    try:
        wait_for(lambda: audit_backlog().rows == 0, timeout=30)
    finally:
        processes.close()

    # then every committed row is on the chain exactly once, none skipped
    rows = assert_one_unbroken_chain()
    assert len(rows) == before + len(written)
    assert set(written) <= {row["id"] for row in rows}


@pytest.mark.django_db
def test_rows_left_unlinked_past_the_bound_are_reported_by_audit_verify_and_readyz(client, settings):
    audit_linked()
    settings.AUDIT_LINK_MAX_SECONDS = 0.05
    audit_record(action="order.place", actor="tests")
    time.sleep(0.1)

    # no sequencer ran: the row waited longer than the bound
    with pytest.raises(CommandError, match="1 audit rows unlinked for longer than 0.05 s .*is the sequencer running"):
        verify_output()
    ready = client.get("/readyz")
    assert ready.status_code == 200  # the site keeps serving: events are written and sealed meanwhile
    assert ready.json()["status"] == "degraded"
    assert "unlinked for longer than" in ready.json()["checks"]["audit_chain"]
    metrics = metrics_scrape(client)
    assert "audit_unlinked_overdue_rows 1.0" in metrics

    audit_linked()

    assert "audit chain intact" in verify_output()
    assert client.get("/readyz").json()["status"] == "ready"


@pytest.mark.django_db
def test_a_row_written_and_linked_with_only_the_databases_credentials_is_caught():
    # given a healthy chain
    audit_linked(audit_record(action="order.place", actor="tests", object_id="real"))
    head_sequence, head_hash = (
        AuditEvent.objects.filter(sequence__isnull=False).order_by("-sequence").values_list("sequence", "hash")[0]
    )

    # when someone with the site's database role (not the audit key) writes an event and links it
    # themselves, hash and all: the triggers allow both steps, and the hash needs no key
    forged = AuditEvent.objects.create(
        action="order.cancel", actor="alice", object_id="real", created_at=timezone.now(), seal=""
    )
    content = AuditEvent.objects.filter(pk=forged.pk).values().get() | {"sequence": head_sequence + 1}
    AuditEvent.objects.filter(pk=forged.pk).update(
        sequence=head_sequence + 1,
        prev_hash=head_hash,
        hash=event_hash(prev_hash=head_hash, content=content),
        linked_at=timezone.now(),
    )

    # then verification names it: its content does not match a seal only the audit key can make
    report = chain_verify()
    assert not report.ok and report.broken_id == forged.pk and "does not match its seal" in report.problem
    with pytest.raises(CommandError, match="does not match its seal"):
        verify_output()


@pytest.mark.django_db
def test_an_unlinked_row_cannot_be_deleted_even_by_the_retention_setting():
    event = audit_record(action="order.place", actor="tests")
    with pytest.raises(Exception, match="append-only: DELETE"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('audit.purge_before', '9999-01-01', true)")
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()
