"""Encryption at rest for secrets the site must use again (a broker's API secret and access tokens).

Fernet (AES-128-CBC with HMAC-SHA256): a value read back altered, or under another key, fails loudly
rather than decrypting to garbage. The key comes from FIELD_ENCRYPTION_KEY, else from SECRET_KEY.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def fernet() -> Fernet:
    material = settings.FIELD_ENCRYPTION_KEY or settings.SECRET_KEY
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"field-encryption:" + material.encode()).digest()))


def encrypt(text: str) -> str:
    return fernet().encrypt(text.encode()).decode() if text else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "a stored secret cannot be decrypted: FIELD_ENCRYPTION_KEY (or SECRET_KEY) changed since it was saved"
        ) from exc
