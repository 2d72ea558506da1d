"""The one way to write to the audit trail.

An event is inserted in the caller's transaction, sealed, and unlinked: no lock is taken, so no request
waits on another's audit write. The sequencer (audit.sequencer) links committed rows into the hash chain
within AUDIT_LINK_MAX_SECONDS. An event of a transaction that rolls back is never committed, so never
linked, and never seen.
"""

import json
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from audit.hashing import event_seal
from audit.models import AuditEvent
from audit.signing import signing_key
from tradingsite import request_context
from tradingsite.rows import row_insert

# The chain's advisory lock. Only the sequencer (and the rare jobs that read the chain's head: the
# checkpoint, retention) takes it; writers of events never do.
CHAIN_LOCK_KEY = 0x4155444954  # "AUDIT"


class AuditPayloadError(ValueError):
    """The payload cannot be stored as JSON (for example NaN, or an object with no JSON form)."""


def payload_normalise(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload exactly as PostgreSQL's jsonb will hand it back, so the seal and the hash verify after
    a round trip.

    Decimals, datetimes and UUIDs become strings (money stays exact). A float is written as the
    shortest text that reads back as it (Python's repr), jsonb keeps that number exactly as a numeric
    and prints it in plain notation without a sign on zero; that is done here, without asking the
    database, so writing an event costs no round trip.
    """
    if not isinstance(payload, dict):
        raise AuditPayloadError(f"audit payload must be a JSON object, not {type(payload).__name__}")
    try:
        text = json.dumps(payload, cls=DjangoJSONEncoder, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise AuditPayloadError(f"audit payload cannot be stored as JSON: {exc}") from exc
    if "\\u0000" in text:
        raise AuditPayloadError("audit payload cannot be stored as JSON: text contains a NUL character")
    return json.loads(text, parse_float=jsonb_number)


def jsonb_number(text: str) -> int | float:
    """A JSON number as it reads back from jsonb: numeric's plain notation, parsed as JSON would."""
    number = Decimal(text)
    plain = format(number.copy_abs() if number.is_zero() else number, "f")
    return float(plain) if "." in plain else int(plain)


def actor_describe(actor) -> tuple[int | None, str]:
    if actor is None:
        return None, ""
    if isinstance(actor, str):
        return None, actor
    if getattr(actor, "is_authenticated", False):
        return actor.pk, actor.get_username()
    return None, "anonymous"


def audit_record(
    *,
    action: str,
    actor=None,
    object_type: str = "",
    object_id: str | int = "",
    payload: dict[str, Any] | None = None,
    request_id: str | None = None,
    client_ip: str | None = None,
) -> AuditEvent:
    """Append one event to the audit trail, inside the caller's transaction if there is one.

    `actor` is a user, a string naming a system part (for example "beat:retention"), or None.
    The request id and client address default to those of the request being served.
    """
    if not action or len(action) > 64:
        raise ValueError(f"audit action must be 1 to 64 characters, got {action!r}")
    context = request_context.current()
    actor_id, actor_name = actor_describe(actor)
    content = {
        "actor_id": actor_id,
        "actor": actor_name[:150],
        "action": action,
        "object_type": object_type[:64],
        "object_id": str(object_id)[:64],
        "request_id": (context.request_id if request_id is None else request_id)[:64],
        "client_ip": request_context.client_ip_normalise(context.client_ip if client_ip is None else client_ip),
        "payload": payload_normalise(payload or {}),
    }
    content["created_at"] = timezone.now()
    return row_insert(AuditEvent(seal=event_seal(signing_key(), content), **content))
