"""Checks an audit export offline: `python -m audit.export_verify EXPORT.zip --key-file KEY`.

Standard library only (with audit/hashing.py): an auditor needs this file, hashing.py, Python 3.11
and the signing key, not the platform. It checks that the manifest is signed with the key, that the
data file is the one the manifest describes, that every row's hash follows from its content and the
previous row's hash, and that the rows run from the manifest's first to its last sequence and hash.
Any altered, removed, added or reordered row is reported with its line. Exit status 0: intact.
"""

import argparse
import csv
import hashlib
import io
import json
import os
import sys
import zipfile
from dataclasses import dataclass, field

if __package__ in (None, ""):  # run as a plain script next to hashing.py
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from hashing import HASHED_FIELDS, event_hash, signature_valid  # type: ignore[import-not-found]
else:
    from audit.hashing import HASHED_FIELDS, event_hash, signature_valid

MANIFEST = "manifest.json"


@dataclass
class ExportReport:
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def row_content(record: dict) -> dict:
    content = {name: record[name] for name in HASHED_FIELDS}
    content["sequence"] = int(content["sequence"])
    if isinstance(content["actor_id"], str):
        content["actor_id"] = int(content["actor_id"]) if content["actor_id"] else None
    if isinstance(content["payload"], str):
        content["payload"] = json.loads(content["payload"])
    return content


def records_read(name: str, data: bytes):
    text = data.decode("utf-8")
    if name.endswith(".csv"):
        yield from csv.DictReader(io.StringIO(text, newline=""))
    else:
        for line in text.splitlines():
            if line.strip():
                yield json.loads(line)


def export_verify(path: str, key: bytes) -> ExportReport:
    report = ExportReport()
    try:
        archive = zipfile.ZipFile(path)
        manifest = json.loads(archive.read(MANIFEST))
        data = archive.read(manifest["file"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        report.problems.append(f"not a readable export (a zip with {MANIFEST} and its data file): {exc}")
        return report
    if not signature_valid(key, manifest):
        report.problems.append("the manifest's signature does not match: wrong key, or the manifest was changed")
    if hashlib.sha256(data).hexdigest() != manifest.get("file_sha256"):
        report.problems.append(f"{manifest['file']} is not the file the manifest describes (its SHA-256 differs)")
    previous = None
    first = last = None
    try:
        for line, record in enumerate(
            records_read(manifest["file"], data), start=2 if manifest["file"].endswith(".csv") else 1
        ):
            try:
                content = row_content(record)
            except (KeyError, ValueError, TypeError) as exc:
                report.problems.append(f"line {line}: not a complete audit row ({exc})")
                continue
            sequence = content["sequence"]
            if record.get("hash") != event_hash(prev_hash=record.get("prev_hash", ""), content=content):
                report.problems.append(
                    f"line {line} (sequence {sequence}): the hash does not match the row's content: row altered"
                )
            if previous is not None:
                if sequence <= previous["sequence"]:
                    report.problems.append(
                        f"line {line} (sequence {sequence}): out of order after sequence {previous['sequence']}"
                    )
                elif manifest.get("contiguous") and sequence != previous["sequence"] + 1:
                    report.problems.append(
                        f"line {line}: sequence {previous['sequence'] + 1} is missing before sequence {sequence}: "
                        "rows removed from an export that holds every row in its range"
                    )
                elif sequence == previous["sequence"] + 1 and record.get("prev_hash") != previous["hash"]:
                    report.problems.append(
                        f"line {line} (sequence {sequence}): prev_hash is not the hash of sequence "
                        f"{previous['sequence']}: a row was altered, inserted or removed"
                    )
            previous = {"sequence": sequence, "hash": record.get("hash")}
            first = first or previous
            last = previous
            report.rows += 1
    except (UnicodeDecodeError, csv.Error, json.JSONDecodeError) as exc:
        report.problems.append(f"{manifest['file']} cannot be read: {exc}")
        return report
    expected = {
        "row_count": report.rows,
        "first_sequence": first and first["sequence"],
        "first_hash": first and first["hash"],
        "last_sequence": last and last["sequence"],
        "last_hash": last and last["hash"],
    }
    for name, found in expected.items():
        if manifest.get(name) != found:
            report.problems.append(f"the manifest says {name} is {manifest.get(name)!r}, the file has {found!r}")
    return report


def key_read(arguments) -> bytes:
    if arguments.key_file:
        with open(arguments.key_file, "rb") as handle:
            return handle.read().strip()
    key = os.environ.get("AUDIT_SIGNING_KEY", "")
    if not key:
        raise SystemExit("give the signing key: --key-file PATH, or the AUDIT_SIGNING_KEY environment variable")
    return key.encode()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Check an audit trail export offline.")
    parser.add_argument("export", help="the .zip downloaded from the back office")
    parser.add_argument("--key-file", help="file holding the signing key (else $AUDIT_SIGNING_KEY)")
    arguments = parser.parse_args(argv)
    report = export_verify(arguments.export, key_read(arguments))
    for problem in report.problems:
        print(f"FAIL: {problem}")  # noqa: T201
    if report.ok:
        print(f"OK: {report.rows} rows intact; manifest signed and matching")  # noqa: T201
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
