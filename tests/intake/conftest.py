"""Fixtures of the lead-intake tests: an API client on the app database, and API keys."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from crystal_bay.api import ratelimit
from crystal_bay.api.app import create_api
from crystal_bay.db import session_scope
from crystal_bay.services import api_keys
from tests.factories import SYSTEM
from tests.intake.support import Keys


@pytest.fixture()
def client(app_db, settings_env):
    """A TestClient on a fresh API app over the migrated SQLite app database; rate limits reset."""
    settings_env(API_RATE_LIMIT_PER_MINUTE="100000", REDIS_URL=None)
    ratelimit.reset()
    with TestClient(create_api()) as c:
        yield c
    ratelimit.reset()


@pytest.fixture()
def keys(app_db) -> Keys:
    with session_scope() as session:
        full, raw_full = api_keys.create_api_key(session=session, name="CRM", scopes=["leads:write", "leads:read"],
                                                 actor=SYSTEM)
        _, raw_write = api_keys.create_api_key(session=session, name="Сайт", scopes=["leads:write"], actor=SYSTEM)
        _, raw_read = api_keys.create_api_key(session=session, name="BI", scopes=["leads:read"], actor=SYSTEM)
    return Keys(full=raw_full, write=raw_write, read=raw_read, full_id=full.id)
