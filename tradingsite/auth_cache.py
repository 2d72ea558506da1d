"""API tokens, their users and the users' permissions, kept in the cache between requests, with any
change to them taking effect on the very next request.

Every API call authenticates: without a cache that is a token query, and the permission set is another
read. Here one Redis round trip (MGET of the entry and the generation) answers it. Every cached entry
carries the generation it was read under, and anything that could change an answer (a token created,
revoked or deleted; a user saved or deleted; a user's groups or permissions, or a group's permissions
changed) replaces the generation, at once and again when its transaction commits. An entry read before
the change commits was stored under an older generation, so it is never used after the change: a revoked
token's next request is refused. Entries also expire after ENTRY_SECONDS, which bounds what a lost
generation write (Redis down at that moment, or the process killed between commit and write) could leave.
Without Redis nothing is cached and every request reads the database.
"""

import logging
import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from tradingsite.models import ApiToken

logger = logging.getLogger(__name__)

GENERATION_KEY = "auth:generation"
ENTRY_SECONDS = 60


def entry_key(digest: str) -> str:
    return f"auth:token:{digest}"


def token_cached(digest: str) -> tuple[ApiToken | None, str | None]:
    """The token cached under this key digest (its user and permissions loaded), if still current; and
    the generation to store a fresh read under (None: do not store)."""
    try:
        found = cache.get_many([GENERATION_KEY, entry_key(digest)])
    except Exception:  # Redis down: read the database
        return None, None
    generation = found.get(GENERATION_KEY)
    if generation is None:  # first use, or Redis lost it: start a generation no entry has
        try:
            cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        except Exception:  # noqa: S110 - nothing is stored this time
            pass
        return None, None
    entry = found.get(entry_key(digest))
    if entry is not None and entry[0] == generation:
        return entry[1], generation
    return None, generation


def token_store(digest: str, token: ApiToken, generation: str | None) -> None:
    if generation is None:
        return
    try:
        cache.set(entry_key(digest), (generation, token), ENTRY_SECONDS)
    except Exception:  # noqa: S110 - not cached: the next request reads the database again
        pass


def auth_generation_bump() -> None:
    """Make every cached entry stale: now, and again when the current transaction commits."""

    def bump():
        try:
            cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        except Exception:
            logger.exception("the API token cache could not be invalidated; entries expire within %s s", ENTRY_SECONDS)

    bump()
    transaction.on_commit(bump)


# A save of only these fields changes nothing a token may do (a sign-in records last_login on every
# session login; bumping for it would empty the cache at each one).
IRRELEVANT_FIELDS = frozenset({"last_login"})


def _changed(sender, **kwargs):
    action = kwargs.get("action")
    update_fields = kwargs.get("update_fields")
    if update_fields and set(update_fields) <= IRRELEVANT_FIELDS:
        return
    if action is None or action.startswith("post_"):
        auth_generation_bump()


User = get_user_model()
for model in (ApiToken, User, Group):
    post_save.connect(_changed, sender=model, dispatch_uid=f"auth_cache.saved.{model._meta.label}")
    post_delete.connect(_changed, sender=model, dispatch_uid=f"auth_cache.deleted.{model._meta.label}")
for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
    m2m_changed.connect(_changed, sender=through, dispatch_uid=f"auth_cache.m2m.{through._meta.label}")
