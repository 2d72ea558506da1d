"""Idempotency-Key handling for order placement, scoped to the trading account.

The key row is written in its own transaction first, so a concurrent retry sees the first request in
flight (409). The response is stored in the same transaction as the order itself, so a crash leaves
either both or neither: a key left in flight by a crash is taken over once stale, and then no order
exists for it. A different body under the same key is a client error (422).
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from trading.models import IdempotencyKey, Order, TradingAccount
from tradingsite.exceptions import ConflictError, UnprocessableError, ValidationError

# A request still in flight after this long is taken to have died with its process.
STALE_IN_FLIGHT = timedelta(seconds=60)


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict


def request_fingerprint(body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_begin(*, account: TradingAccount, key: str, fingerprint: str) -> Replay | None:
    """None when this request owns the key now; a Replay of the first response when it has one."""
    if not key or len(key) > 255:
        raise ValidationError("Idempotency-Key must be 1 to 255 characters", code="idempotency_key_invalid")
    now = timezone.now()
    try:
        with transaction.atomic():
            IdempotencyKey.objects.create(account=account, key=key, request_hash=fingerprint)
            return None
    except IntegrityError:
        pass
    existing = IdempotencyKey.objects.get(account=account, key=key)
    if existing.created_at < now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS):
        # Expired but not yet purged: start afresh, as if it had been purged.
        IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
        return idempotency_begin(account=account, key=key, fingerprint=fingerprint)
    if existing.request_hash != fingerprint:
        raise UnprocessableError(
            "this Idempotency-Key was first used with a different request body",
            code="idempotency_key_reused",
            details={"key": key},
        )
    if existing.completed_at is not None:
        return Replay(existing.response_status, existing.response_body)
    if existing.created_at < now - STALE_IN_FLIGHT:
        taken = IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at, completed_at=None).update(
            created_at=now
        )
        if taken:
            return None
    raise ConflictError(
        "a request with this Idempotency-Key is still in progress; retry shortly",
        code="idempotency_in_flight",
        details={"key": key},
    )


def idempotency_complete(*, account: TradingAccount, key: str, status: int, body: dict) -> None:
    """Store the response; call inside the transaction that made the order."""
    IdempotencyKey.objects.filter(account=account, key=key).update(
        response_status=status,
        response_body=json.loads(json.dumps(body, cls=DjangoJSONEncoder)),
        completed_at=timezone.now(),
    )


def idempotency_abandon(*, account: TradingAccount, key: str) -> None:
    """The request failed before making anything: let a retry start afresh."""
    IdempotencyKey.objects.filter(account=account, key=key, completed_at=None).delete()


@dataclass(frozen=True)
class Placement:
    """The answer to a placement: its HTTP status and body, and whether they are a stored first answer."""

    status: int
    body: dict
    replayed: bool = False


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
    (`replayed`), a retry with another body is refused (422), and one while the first is in flight is
    refused (409). The order and the stored answer (`answer(order)`: status and body) commit together;
    a placement that raises leaves the key free for a retry.
    """
    if key is not None:
        replay = idempotency_begin(account=account, key=key, fingerprint=request_fingerprint(request_body))
        if replay is not None:
            return Placement(replay.status, replay.body, replayed=True)
    try:
        with transaction.atomic():
            order = place()
            status, body = answer(order)
            if key is not None:
                idempotency_complete(account=account, key=key, status=status, body=body)
    except Exception:
        if key is not None:
            idempotency_abandon(account=account, key=key)
        raise
    return Placement(status, body)


def idempotency_keys_purge() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
