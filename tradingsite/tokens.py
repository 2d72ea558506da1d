"""Personal API tokens: made, found by the key a client presents, revoked."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from tradingsite import auth_cache
from tradingsite.exceptions import NotFoundError, ValidationError
from tradingsite.models import ApiToken

TOKEN_PREFIX = "tsk_"
# last_used_at is written at most this often per token, so a busy token does not write on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # shown to the user once; never stored


@transaction.atomic
def api_token_create(*, user, name: str, scope: str, days: int) -> IssuedToken:
    name = name.strip()
    if not name or len(name) > 64:
        raise ValidationError("a token needs a name of 1 to 64 characters", code="token_name")
    if scope not in ApiToken.Scope.values:
        raise ValidationError(f"scope must be one of {ApiToken.Scope.values}, not {scope!r}", code="token_scope")
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise ValidationError(
            f"a token expires after 1 to {settings.API_TOKEN_MAX_DAYS} days, not {days}", code="token_expiry"
        )
    if ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True).exists():
        raise ValidationError(f"you already have a token named {name!r}", code="token_name_taken")
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[: len(TOKEN_PREFIX) + 6],
        key_hash=key_hash(key),
        scope=scope,
        expires_at=timezone.now() + timedelta(days=days),
    )
    audit_record(
        action="api_token.create",
        actor=user,
        object_type="api_token",
        object_id=token.pk,
        payload={"name": name, "scope": scope, "expires_at": token.expires_at, "prefix": token.prefix},
    )
    return IssuedToken(token=token, key=key)


@transaction.atomic
def api_token_revoke(*, user, token_id: int, revoked_by=None) -> ApiToken:
    """Revoke one of `user`'s tokens: by the user, or by an administrator (`revoked_by`)."""
    token = ApiToken.objects.select_for_update().filter(user=user, pk=token_id).first()
    if token is None:
        raise NotFoundError(f"no API token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            action="api_token.revoke",
            actor=revoked_by or user,
            object_type="api_token",
            object_id=token.pk,
            payload={"name": token.name, "prefix": token.prefix, "owner": user.get_username()},
        )
    return token


def api_token_for_key(key: str) -> ApiToken | None:
    """The live token with this key (not revoked, not expired), its user and their permissions loaded;
    None otherwise. Served from the cache while nothing about it has changed (tradingsite.auth_cache)."""
    digest = key_hash(key)
    token, generation = auth_cache.token_cached(digest)
    store = token is None
    if token is None:
        token = ApiToken.objects.select_related("user").filter(key_hash=digest).first()
        if token is None:
            return None
        # Read from the database, not the per-user permission cache (auth_backends), which a change
        # still committing may have refilled with the old set: the cached user carries these.
        ModelBackend().get_all_permissions(token.user)
    now = timezone.now()
    if token.revoked_at is None and token.expires_at > now:
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
            store = True
    if store:
        auth_cache.token_store(digest, token, generation)
    if token.revoked_at is not None or token.expires_at <= now:
        return None
    return token


def api_tokens_for_user(user):
    return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at")
