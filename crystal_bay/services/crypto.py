"""Encryption at rest for stored settings (Fernet, key derived from SECRET_KEY) and secret masking."""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crystal_bay.services.errors import DomainError
from crystal_bay.settings import DEMO_SECRET_KEY, get_settings

_SALT = b"crystal-bay/integration-settings"
_INFO = b"fernet-v1"
MASK = "••••"


class SecretUnreadable(DomainError):
    """A stored value cannot be decrypted: SECRET_KEY changed since it was saved."""

    code = "secret_unreadable"
    status_code = 409


@functools.lru_cache(maxsize=4)
def _fernet_for(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _fernet() -> Fernet:
    return _fernet_for(get_settings().secret_key.get_secret_value())


def encrypt(value: str) -> str:
    """The value encrypted (and authenticated) with the key derived from SECRET_KEY."""
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext of `encrypt`; SecretUnreadable when SECRET_KEY changed or the token was altered."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable(
            "A stored value cannot be decrypted: SECRET_KEY changed since it was saved. Enter the value again."
        ) from exc


def uses_demo_key() -> bool:
    """True while SECRET_KEY is the built-in demo key (stored secrets are then not really protected)."""
    return get_settings().secret_key.get_secret_value() == DEMO_SECRET_KEY


def mask(value: str | None) -> str:
    """'••••' plus the last 4 characters (only '••••' for short values); '' when there is no value."""
    if not value:
        return ""
    return MASK + value[-4:] if len(value) >= 12 else MASK


def redact(text: str, secrets: list[str]) -> str:
    """The text with every occurrence of a secret (and of its first 8+ characters) masked."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, mask(secret))
        if len(secret) >= 16:
            text = text.replace(secret[:8], MASK)
    return text
