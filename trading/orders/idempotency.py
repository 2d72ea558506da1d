"""Idempotency-Key handling for order placement, scoped to the trading account.

The key is claimed inside the placement's own transaction, as its first write, and the answer is stored
in that transaction too: the key, the order and the answer commit together or not at all, so a crash
leaves nothing to clean up. A concurrent retry's claim waits on the first request's uncommitted row and
then replays its answer. A different body under the same key is a client error (422). A key row left
committed without an answer (written before answers were stored with the order) answers 409 until it
is stale, and is then taken over.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from trading.models import IdempotencyKey, Order, TradingAccount
from tradingsite.exceptions import ConflictError, UnprocessableError, ValidationError

# A key row without an answer this old is taken to belong to a request that died with its process.
STALE_IN_FLIGHT = timedelta(seconds=60)

CLAIM_SQL = f"""
INSERT INTO {IdempotencyKey._meta.db_table} (account_id, key, request_hash, created_at)
VALUES (%s, %s, %s, %s)
ON CONFLICT (account_id, key) DO NOTHING
RETURNING id
"""

ANSWER_SQL = f"""
UPDATE {IdempotencyKey._meta.db_table} SET response_status = %s, response_body = %s::jsonb, completed_at = %s
 WHERE id = %s
"""


def request_fingerprint(body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Placement:
    """The answer to a placement: its HTTP status and body, and whether they are a stored first answer."""

    status: int
    body: dict
    replayed: bool = False


def key_claim(*, account: TradingAccount, key: str, fingerprint: str) -> int | None:
    """The new key row's id, or None when the key is taken (after waiting for a request still holding it)."""
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, [account.pk, key, fingerprint, timezone.now()])
        row = cursor.fetchone()
    return row[0] if row else None


def key_existing(*, account: TradingAccount, key: str, fingerprint: str) -> Placement | None:
    """The first answer under a taken key; None when the key is free again (expired or stale: removed)."""
    existing = IdempotencyKey.objects.filter(account=account, key=key).first()
    if existing is None:
        return None
    now = timezone.now()
    if existing.created_at < now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS):
        # Expired but not yet purged: start afresh, as if it had been purged.
        IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
        return None
    if existing.request_hash != fingerprint:
        raise UnprocessableError(
            "this Idempotency-Key was first used with a different request body",
            code="idempotency_key_reused",
            details={"key": key},
        )
    if existing.completed_at is not None:
        return Placement(existing.response_status, existing.response_body, replayed=True)
    if existing.created_at < now - STALE_IN_FLIGHT:
        IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at, completed_at=None).delete()
        return None
    raise ConflictError(
        "a request with this Idempotency-Key is still in progress; retry shortly",
        code="idempotency_in_flight",
        details={"key": key},
    )


def order_place_idempotent(
    *,
    account: TradingAccount,
    key: str | None,
    request_body: dict,
    place: Callable[[], Order],
    answer: Callable[[Order], tuple[int, dict]],
) -> Placement:
    """Place an order at most once per Idempotency-Key of the account.

    Without a key, `place` runs once. With one, a retry with the same body gets the first answer back
    (`replayed`), a retry with another body is refused (422), and a retry while the first is still in
    its transaction waits for it and gets its answer. The key, the order and the stored answer
    (`answer(order)`: status and body) commit together; a placement that raises leaves the key free.
    """
    if key is None:
        with transaction.atomic():
            status, body = answer(place())
        return Placement(status, body)
    if not key or len(key) > 255:
        raise ValidationError("Idempotency-Key must be 1 to 255 characters", code="idempotency_key_invalid")
    fingerprint = request_fingerprint(request_body)
    for _ in range(3):  # a key found expired or stale is removed, and claimed again
        with transaction.atomic():
            key_id = key_claim(account=account, key=key, fingerprint=fingerprint)
            if key_id is not None:
                status, body = answer(place())
                with connection.cursor() as cursor:
                    answer_body = json.dumps(body, cls=DjangoJSONEncoder)
                    cursor.execute(ANSWER_SQL, [status, answer_body, timezone.now(), key_id])
                return Placement(status, body)
        first = key_existing(account=account, key=key, fingerprint=fingerprint)
        if first is not None:
            return first
    raise ConflictError(
        "this Idempotency-Key could not be claimed; retry shortly", code="idempotency_in_flight", details={"key": key}
    )


def idempotency_keys_purge() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
