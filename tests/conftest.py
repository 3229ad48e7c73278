"""Shared fixtures: a migrated database on SQLite and on the real PostgreSQL, sessions that roll back."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

# The environment every test starts from: demo mode, a throwaway SQLite database.
_TMP = Path(tempfile.mkdtemp(prefix="cb-tests-"))
os.environ.setdefault("CRYSTAL_BAY_DEMO", "1")
os.environ.setdefault("CRYSTAL_BAY_SCHEDULER", "0")  # no background jobs in tests (and the e2e app)
os.environ["DATABASE_URL"] = f"sqlite:///{_TMP / 'app.db'}"
os.environ["REFLEX_DB_URL"] = os.environ["DATABASE_URL"]
for _name in ("SAMO_API_URL", "SAMO_OAUTH_TOKEN", "ADMIN_EMAIL", "ADMIN_PASSWORD"):
    os.environ.pop(_name, None)

import pytest  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402

from crystal_bay import migrations  # noqa: E402
from crystal_bay.db import make_engine, reset_engines, session_scope  # noqa: E402
from crystal_bay.settings import get_settings  # noqa: E402

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _reset_postgres(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def app_db() -> Iterator[str]:
    """The migrated SQLite database the app's own session helpers use (DATABASE_URL)."""
    get_settings.cache_clear()
    reset_engines()
    migrations.upgrade()
    with session_scope() as session:
        from crystal_bay.services import pipeline

        pipeline.ensure_default_stages(session=session)
    yield os.environ["DATABASE_URL"]
    reset_engines()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(request) -> Iterator[Engine]:
    """A database migrated from zero with Alembic, on each engine in turn."""
    if request.param == "sqlite":
        url = f"sqlite:///{_TMP / 'services.db'}"
        Path(_TMP / "services.db").unlink(missing_ok=True)
        eng = make_engine(url)
    else:
        eng = make_engine(PG_URL)
        _reset_postgres(eng)
        url = PG_URL
    migrations.upgrade(url)
    yield eng
    if request.param == "postgresql":
        _reset_postgres(eng)
    eng.dispose()


@pytest.fixture()
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    with engine.connect() as conn:
        trans = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
            from crystal_bay.services import pipeline

            pipeline.ensure_default_stages(session=s)
            yield s
        trans.rollback()


@pytest.fixture()
def settings_env(monkeypatch):
    """Change environment settings for one test; the settings cache is refreshed around it."""

    def apply(**values: str | None) -> None:
        for key, value in values.items():
            if value is None:
                monkeypatch.delenv(key, raising=False)
            else:
                monkeypatch.setenv(key, value)
        get_settings.cache_clear()

    yield apply
    get_settings.cache_clear()
