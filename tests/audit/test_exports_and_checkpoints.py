"""Compliance hands an auditor an export that proves itself: any changed row is caught offline by the
verifier; and deleting the newest rows of the trail is caught against the signed checkpoints."""

import csv
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.test import APIClient

from audit.checkpoints import checkpoint_write, checkpoints_verify
from audit.export_verify import export_verify
from audit.models import AuditEvent
from audit.services import audit_record
from audit.signing import signing_key
from tests.conftest import audit_linked
from tradingsite.tokens import api_token_create

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def trail():
    for n in range(6):
        audit_record(
            action="order.place", actor="tests", object_type="order", object_id=n, payload={"qty": n, "px": "2500.05"}
        )
    audit_linked()


def download(client, query: str, tmp_path) -> Path:
    response = client.get(f"/admin/audit/auditevent/export/?{query}")
    assert response.status_code == 200, response.content[:500]
    path = tmp_path / "export.zip"
    path.write_bytes(b"".join(response.streaming_content))
    return path


def rewritten(path: Path, change) -> Path:
    """The export with its data file passed through `change` (bytes -> bytes); the manifest untouched."""
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        data = archive.read(manifest["file"])
    altered = path.with_name("altered.zip")
    with zipfile.ZipFile(altered, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr(manifest["file"], change(data))
    return altered


@pytest.mark.parametrize("export_format", ["csv", "jsonl"])
def test_an_export_verifies_and_any_changed_row_is_caught(client_for, carol, trail, tmp_path, export_format):
    # given carol (compliance) exports the order events
    path = download(client_for(carol), f"format={export_format}&action__exact=order.place", tmp_path)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        data = archive.read(manifest["file"]).decode()

    # then the export verifies, and says what it holds
    assert export_verify(str(path), signing_key()).ok
    assert manifest["row_count"] == 6 and manifest["filters"] == {"action__exact": "order.place"}
    first = AuditEvent.objects.filter(action="order.place").order_by("sequence").first()
    assert (manifest["first_sequence"], manifest["first_hash"]) == (first.sequence, first.hash)
    assert AuditEvent.objects.filter(action="audit.export", actor="carol").exists()

    # when any one row is changed, in any field, the verifier names it
    lines = data.splitlines()
    header = lines[0].split(",") if export_format == "csv" else None
    for index in range(1 if header else 0, len(lines)):
        if header:
            row = next(csv.DictReader(io.StringIO(lines[0] + "\n" + lines[index])))
            row["payload"] = row["payload"].replace("2500.05", "2500.50")
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=header, lineterminator="")
            writer.writerow(row)
            changed_line = out.getvalue()
        else:
            changed_line = lines[index].replace("2500.05", "2500.50")
        changed = "\n".join([*lines[:index], changed_line, *lines[index + 1 :]]) + "\n"
        report = export_verify(str(rewritten(path, lambda _, text=changed: text.encode())), signing_key())
        assert not report.ok
        assert any(f"line {index + 1}" in problem and "row altered" in problem for problem in report.problems)


def test_a_recomputed_row_or_a_removed_row_is_caught_too(client_for, carol, trail, tmp_path):
    path = download(client_for(carol), "format=jsonl", tmp_path)
    with zipfile.ZipFile(path) as archive:
        rows = archive.read("audit-events.jsonl").decode().splitlines()

    # removing the middle row: the next row no longer follows the one before it
    removed = export_verify(str(rewritten(path, lambda _: "\n".join(rows[:2] + rows[3:]).encode())), signing_key())
    # a forged manifest (the data's own hash put in, without the key): the signature fails
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    manifest["row_count"] = 5
    forged = path.with_name("forged.zip")
    with zipfile.ZipFile(forged, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("audit-events.jsonl", "\n".join(rows).encode())

    assert any("is missing before sequence" in problem for problem in removed.problems), removed.problems
    assert any("signature does not match" in problem for problem in export_verify(str(forged), signing_key()).problems)
    assert not export_verify(str(path), b"the-wrong-key").ok


def test_the_stand_alone_verifier_needs_only_python_and_the_key(client_for, carol, trail, tmp_path):
    path = download(client_for(carol), "format=csv", tmp_path)
    key_file = tmp_path / "key"
    key_file.write_bytes(signing_key())
    # a copy of the two files, outside the project, run with no Django settings and no database
    tool = tmp_path / "tool"
    tool.mkdir()
    for name in ("export_verify.py", "hashing.py"):
        (tool / name).write_text((ROOT / "audit" / name).read_text())
    altered = rewritten(path, lambda data: data.replace(b"order.place", b"order.plaec", 1))

    ok = subprocess.run(
        [sys.executable, "-I", str(tool / "export_verify.py"), str(path), "--key-file", str(key_file)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    bad = subprocess.run(
        [sys.executable, "-I", str(tool / "export_verify.py"), str(altered), "--key-file", str(key_file)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )

    assert ok.returncode == 0 and ok.stdout.startswith("OK:"), ok.stderr
    assert bad.returncode == 1 and "row altered" in bad.stdout


def test_exporting_needs_the_compliance_or_admin_role(client_for, alice, dave, trail):
    assert client_for(alice).get("/admin/audit/auditevent/export/?format=csv").status_code in (302, 403)
    assert client_for(dave).get("/admin/audit/auditevent/export/?format=csv").status_code == 403


def test_an_unknown_export_format_is_refused_by_name(client_for, carol, trail):
    response = client_for(carol).get("/admin/audit/auditevent/export/?format=xlsx")

    assert response.status_code == 400 and "csv, jsonl, not 'xlsx'" in response.content.decode()


def test_deleting_the_newest_rows_is_caught_against_the_signed_checkpoint(trail):
    # given a checkpoint of the head, then more events
    checkpoint = checkpoint_write()
    audit_record(action="order.place", actor="tests", object_type="order", object_id=99)
    call_command("audit_verify")

    # when someone with the power to disable the triggers deletes the newest rows
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_update_delete")
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence >= %s", [checkpoint.sequence - 1])
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_no_update_delete")

    # then what is left is still a valid chain, but the checkpoint shows the rows are gone
    report = checkpoints_verify()
    assert not report.ok
    assert (
        f"records sequence {checkpoint.sequence}" in report.problems[0]
        and "newest rows were deleted" in report.problems[0]
    )
    with pytest.raises(CommandError, match="newest rows were deleted"):
        call_command("audit_verify")


def test_a_forged_checkpoint_is_caught(trail):
    checkpoint = checkpoint_write()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditcheckpoint DISABLE TRIGGER audit_checkpoint_no_update_delete")
        cursor.execute("UPDATE audit_auditcheckpoint SET sequence = sequence - 1 WHERE id = %s", [checkpoint.pk])
        cursor.execute("ALTER TABLE audit_auditcheckpoint ENABLE TRIGGER audit_checkpoint_no_update_delete")

    assert "invalid signature" in checkpoints_verify().problems[0]


def test_compliance_reads_the_trail_over_the_api_and_traders_cannot(carol, alice, trail):
    compliance = APIClient()
    compliance.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=carol, name='c', scope='read', days=1).key}"
    )
    trader = APIClient()
    trader.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=alice, name='a', scope='trade', days=1).key}")

    page = compliance.get("/api/v1/audit/events", {"action": "order.", "limit": 4})
    refused = trader.get("/api/v1/audit/events")

    assert page.status_code == 200
    assert [row["object_id"] for row in page.json()["results"]] == ["0", "1", "2", "3"]
    assert page.json()["results"][1]["prev_hash"] == page.json()["results"][0]["hash"]
    assert refused.status_code == 403 and "compliance or admin role" in refused.json()["error"]["message"]
