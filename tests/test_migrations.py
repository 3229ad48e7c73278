"""The Alembic chain applies from zero on SQLite and PostgreSQL and matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import crystal_bay.models  # noqa: F401
from crystal_bay import migrations


def test_schema_matches_models(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []


def test_every_table_exists_with_board_indexes(engine):
    insp = inspect(engine)
    assert set(SQLModel.metadata.tables) <= set(insp.get_table_names())
    lead_indexes = {ix["name"] for ix in insp.get_indexes("leads")}
    assert {"ix_leads_board", "ix_leads_assignee", "ix_leads_status"} <= lead_indexes


def test_downgrade_and_upgrade_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    migrations.upgrade(url)
    migrations.downgrade(url, "base")
    from crystal_bay.db import make_engine

    eng = make_engine(url)
    assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
    migrations.upgrade(url)
    assert "leads" in inspect(eng).get_table_names()
    eng.dispose()
