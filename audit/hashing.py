"""How an audit row's hash is computed: standard library only, so an export can be checked on a
machine with nothing but Python (audit/export_verify.py imports this module and nothing of Django)."""

import hashlib
import hmac
import json
from datetime import UTC, datetime

GENESIS_HASH = "0" * 64

# The fields a row's hash covers, besides the previous row's hash. Adding one is a format change:
# rows already written keep verifying only if the new field is left out of their serialisation.
HASHED_FIELDS = (
    "sequence",
    "created_at",
    "actor_id",
    "actor",
    "action",
    "object_type",
    "object_id",
    "request_id",
    "client_ip",
    "payload",
)


# The fields a row's seal covers: its whole content as written. The sequence is not among them: it is
# given when the sequencer links the row into the chain, after the row was written and sealed.
SEALED_FIELDS = tuple(name for name in HASHED_FIELDS if name != "sequence")


def canonical_timestamp(value: datetime | str) -> str:
    if isinstance(value, str):  # already canonical (read back from an export)
        value = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value) -> str:
    """Sorted keys, no whitespace, UTF-8 text: the same content always serialises to the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_content(content: dict) -> str:
    values = {name: content[name] for name in HASHED_FIELDS}
    values["created_at"] = canonical_timestamp(values["created_at"])
    return canonical_json(values)


def event_hash(*, prev_hash: str, content: dict) -> str:
    return hashlib.sha256((prev_hash + canonical_content(content)).encode()).hexdigest()


def event_seal(key: bytes, content: dict) -> str:
    """HMAC-SHA256 under the audit key over a row's content, made when the row is written: a row altered
    before the sequencer links it no longer matches its seal, and the seal cannot be remade without the key."""
    values = {name: content[name] for name in SEALED_FIELDS}
    values["created_at"] = canonical_timestamp(values["created_at"])
    return hmac.new(key, canonical_json(values).encode(), hashlib.sha256).hexdigest()


def signature(key: bytes, document: dict) -> str:
    """HMAC-SHA256 over the canonical JSON of `document` (its own `signature` field left out)."""
    unsigned = {name: value for name, value in document.items() if name != "signature"}
    return hmac.new(key, canonical_json(unsigned).encode(), hashlib.sha256).hexdigest()


def signature_valid(key: bytes, document: dict) -> bool:
    return hmac.compare_digest(str(document.get("signature", "")), signature(key, document))
