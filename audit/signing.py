"""The key that signs exports and checkpoints."""

import hashlib
import hmac

from django.conf import settings


def signing_key() -> bytes:
    if settings.AUDIT_SIGNING_KEY:
        return settings.AUDIT_SIGNING_KEY.encode()
    # Local runs: a key derived from SECRET_KEY, so a leaked signing key does not reveal the site's secret.
    return hmac.new(settings.SECRET_KEY.encode(), b"audit-signing-key", hashlib.sha256).hexdigest().encode()


def key_id() -> str:
    """Names the key in a manifest without revealing it: which key to verify with."""
    return hashlib.sha256(b"key-id:" + signing_key()).hexdigest()[:16]
