"""API keys for external systems: created once in plaintext, stored as a sha256 hash with a prefix.

A key looks like `cbk_<prefix>_<secret>`: the prefix (8 hex characters) identifies the key in the
panel and in logs; only `sha256(key)` is stored, so a database dump does not leak usable keys.
`verify_api_key` returns None for every refusal (unknown, malformed, revoked, missing scope): an API
route that wants to tell 401 from 403 calls it without `scope` and checks `scope in key.scopes`.

The API asks `cached_key` first: a live key verified in the last `CACHE_S` seconds is answered from memory
(no query, no transaction per request). Revoking clears this process's cache at once; another process
(a second backend worker) stops accepting the key within `CACHE_S` seconds. Unknown keys are not cached.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import event
from sqlmodel import Session, col, select

from crystal_bay.models import ApiKey, utcnow
from crystal_bay.services import audit
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import NotFound, ValidationFailed

KEY_PREFIX = "cbk"
SCOPES: tuple[str, ...] = ("leads:write", "leads:read")
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
MAX_NAME = 100
_KEY_RE = re.compile(r"^cbk_([0-9a-f]{8})_([A-Za-z0-9_-]{32,64})$")
CACHE_S = 5.0  # how long a verified live key is trusted without asking the database again
CACHE_MAX = 1000


@dataclass(frozen=True)
class KeyInfo:
    """What a request needs to know about its live API key."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]


_cache: dict[str, tuple[float, KeyInfo]] = {}  # sha256 of the key → (trusted until, monotonic clock), info
_cache_lock = threading.Lock()


def _hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _clean_scopes(scopes: list[str] | tuple[str, ...]) -> list[str]:
    cleaned = []
    for scope in scopes or ():
        scope = (scope or "").strip()
        if scope not in SCOPES:
            raise ValidationFailed(f"Unknown scope {scope!r}: use {', '.join(SCOPES)}.", code="invalid_scope",
                                   field="scopes")
        if scope not in cleaned:
            cleaned.append(scope)
    if not cleaned:
        raise ValidationFailed("Choose at least one scope.", code="scope_required", field="scopes")
    return [s for s in SCOPES if s in cleaned]


def create_api_key(*, session: Session, name: str, scopes: list[str], actor: Actor) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the plaintext key, which is never available again."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise ValidationFailed(f"A key needs a name of 1–{MAX_NAME} characters.", code="invalid_name", field="name")
    scopes = _clean_scopes(scopes)
    prefix = secrets.token_hex(4)
    raw_key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(name=name, prefix=prefix, key_hash=_hash(raw_key), scopes=scopes,
                 created_by_id=actor.id if actor.type == "user" else None)
    session.add(key)
    session.flush()
    audit.record(session=session, actor=actor, entity_type="api_key", entity_id=key.id, action="created",
                 data={"name": name, "prefix": prefix, "scopes": scopes})
    return key, raw_key


def verify_api_key(*, session: Session, raw_key: str | None, scope: str | None = None) -> ApiKey | None:
    """The live key for this plaintext (with `scope`, if given), or None; notes when it was last used."""
    match = _KEY_RE.match((raw_key or "").strip())
    if match is None:
        return None
    digest = _hash(match.group(0))
    key = session.exec(select(ApiKey).where(ApiKey.key_hash == digest)).first()
    if key is None or not hmac.compare_digest(key.key_hash, digest) or key.prefix != match.group(1):
        return None
    if key.revoked_at is not None or (scope is not None and scope not in (key.scopes or [])):
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
        session.add(key)
        session.flush()
    _remember(digest, key)
    return key


def _remember(digest: str, key: ApiKey) -> None:
    with _cache_lock:
        if len(_cache) >= CACHE_MAX:
            _cache.clear()
        _cache[digest] = (time.monotonic() + CACHE_S, KeyInfo(id=key.id, name=key.name, prefix=key.prefix,
                                                               scopes=tuple(key.scopes or ())))


def cached_key(raw_key: str | None) -> KeyInfo | None:
    """The live key for this plaintext if it was verified in the last CACHE_S seconds, else None (verify it)."""
    match = _KEY_RE.match((raw_key or "").strip())
    if match is None:
        return None
    digest = _hash(match.group(0))
    entry = _cache.get(digest)
    if entry is None or entry[0] < time.monotonic():
        return None
    return entry[1]


def clear_cache() -> None:
    """Forget every verified key (after a revocation; tests)."""
    with _cache_lock:
        _cache.clear()


def revoke_api_key(*, session: Session, key_id: int, actor: Actor) -> ApiKey:
    """Revoke a key at once (a no-op when it already is)."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} does not exist.", field="key_id")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        audit.record(session=session, actor=actor, entity_type="api_key", entity_id=key.id, action="revoked",
                     data={"name": key.name, "prefix": key.prefix})
    clear_cache()  # and again once the revocation is committed (a request in between may have re-cached it)
    event.listen(session, "after_commit", lambda _session: clear_cache(), once=True)
    return key


def list_api_keys(*, session: Session) -> list[ApiKey]:
    """Every key, live ones first, newest first."""
    stmt = select(ApiKey).order_by(col(ApiKey.revoked_at).is_not(None), col(ApiKey.created_at).desc(),
                                   col(ApiKey.id).desc())
    return list(session.exec(stmt))
