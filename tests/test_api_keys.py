"""API keys: shown once, stored hashed, scoped, revocable, last use noted at most once a minute."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from crystal_bay.db import make_engine
from crystal_bay.models import ApiKey, AuditEvent, utcnow
from crystal_bay.services import api_keys
from crystal_bay.services.errors import NotFound, ValidationFailed
from tests.factories import SYSTEM, count

ROOT = Path(__file__).resolve().parents[1]


def test_create_returns_the_plaintext_once_and_stores_only_its_hash(session):
    key, raw = api_keys.create_api_key(session=session, name="Сайт", scopes=["leads:write"], actor=SYSTEM)
    assert raw.startswith(f"cbk_{key.prefix}_") and len(key.prefix) == 8
    stored = session.get(ApiKey, key.id)
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in repr(stored.model_dump())
    event = session.exec(select(AuditEvent).where(AuditEvent.entity_type == "api_key")).all()[-1]
    assert event.action == "created" and raw not in str(event.data) and event.data["prefix"] == key.prefix


def test_verify_accepts_the_key_and_checks_scope(session):
    key, raw = api_keys.create_api_key(session=session, name="CRM", scopes=["leads:read", "leads:write"],
                                       actor=SYSTEM)
    assert api_keys.verify_api_key(session=session, raw_key=raw).id == key.id
    assert api_keys.verify_api_key(session=session, raw_key=raw, scope="leads:read").id == key.id
    only_write, raw_write = api_keys.create_api_key(session=session, name="Форма", scopes=["leads:write"],
                                                    actor=SYSTEM)
    assert api_keys.verify_api_key(session=session, raw_key=raw_write, scope="leads:read") is None
    assert api_keys.verify_api_key(session=session, raw_key=raw_write, scope="leads:write").id == only_write.id


@pytest.mark.parametrize("bad", ["", None, "cbk_", "cbk_zzzzzzzz_" + "a" * 43, "Bearer x", "cbk_0123abcd_short"])
def test_malformed_or_unknown_keys_are_refused(session, bad):
    assert api_keys.verify_api_key(session=session, raw_key=bad) is None


def test_a_tampered_key_is_refused(session):
    _key, raw = api_keys.create_api_key(session=session, name="Сайт", scopes=["leads:write"], actor=SYSTEM)
    tampered = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    assert api_keys.verify_api_key(session=session, raw_key=tampered) is None


def test_revoked_keys_stop_working_at_once(session):
    key, raw = api_keys.create_api_key(session=session, name="Старый", scopes=["leads:write"], actor=SYSTEM)
    api_keys.revoke_api_key(session=session, key_id=key.id, actor=SYSTEM)
    assert api_keys.verify_api_key(session=session, raw_key=raw) is None
    again = api_keys.revoke_api_key(session=session, key_id=key.id, actor=SYSTEM)
    assert again.revoked_at is not None
    revocations = session.exec(select(AuditEvent).where(AuditEvent.entity_type == "api_key",
                                                         AuditEvent.entity_id == key.id,
                                                         AuditEvent.action == "revoked")).all()
    assert len(revocations) == 1
    with pytest.raises(NotFound):
        api_keys.revoke_api_key(session=session, key_id=999_999, actor=SYSTEM)


def test_last_used_is_written_at_most_once_a_minute(session):
    key, raw = api_keys.create_api_key(session=session, name="Сайт", scopes=["leads:write"], actor=SYSTEM)
    api_keys.verify_api_key(session=session, raw_key=raw)
    first = session.get(ApiKey, key.id).last_used_at
    assert first is not None
    api_keys.verify_api_key(session=session, raw_key=raw)
    assert session.get(ApiKey, key.id).last_used_at == first
    key.last_used_at = utcnow() - dt.timedelta(minutes=2)
    session.add(key)
    session.flush()
    api_keys.verify_api_key(session=session, raw_key=raw)
    assert session.get(ApiKey, key.id).last_used_at > first - dt.timedelta(seconds=1)
    assert session.get(ApiKey, key.id).last_used_at > utcnow() - dt.timedelta(seconds=30)


@pytest.mark.parametrize(
    ("name", "scopes"),
    [("", ["leads:write"]), ("x" * 101, ["leads:write"]), ("Сайт", []), ("Сайт", ["admin"]), ("Сайт", ["leads:*"])],
)
def test_bad_input_is_refused_and_changes_nothing(session, name, scopes):
    before = count(session, ApiKey)
    with pytest.raises(ValidationFailed):
        api_keys.create_api_key(session=session, name=name, scopes=scopes, actor=SYSTEM)
    assert count(session, ApiKey) == before


def test_list_shows_live_keys_first(session):
    old, _ = api_keys.create_api_key(session=session, name="old", scopes=["leads:read"], actor=SYSTEM)
    live, _ = api_keys.create_api_key(session=session, name="live", scopes=["leads:read"], actor=SYSTEM)
    api_keys.revoke_api_key(session=session, key_id=old.id, actor=SYSTEM)
    ids = [k.id for k in api_keys.list_api_keys(session=session)]
    assert ids.index(live.id) < ids.index(old.id)


def test_cli_prints_the_key_once_and_it_works(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "DATABASE_URL": url, "CRYSTAL_BAY_DEMO": "1"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "crystal_bay", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120, stdin=subprocess.DEVNULL)

    assert run("migrate").returncode == 0
    proc = run("create-api-key", "--name", "Сайт", "--scope", "leads:write", "--scope", "leads:read")
    assert proc.returncode == 0, proc.stderr
    raw = proc.stdout.strip().splitlines()[-1]
    assert raw.startswith("cbk_") and "leads:write, leads:read" in proc.stdout
    engine = make_engine(url)
    with Session(engine) as s:
        assert api_keys.verify_api_key(session=s, raw_key=raw, scope="leads:read") is not None
    engine.dispose()
    bad = run("create-api-key", "--name", "x", "--scope", "admin")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    empty = run("create-api-key", "--name", "  ")
    assert empty.returncode == 1 and "name" in empty.stderr
