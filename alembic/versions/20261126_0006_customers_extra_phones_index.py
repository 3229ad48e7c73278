"""customers with extra phones: a partial index, so matching a phone kept in a customer's list is not a scan

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 02:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_customers_extra_phones', 'customers', ['id'], unique=False,
                    sqlite_where=sa.text("phones LIKE '%,%'"),
                    postgresql_where=sa.text("CAST(phones AS TEXT) LIKE '%,%'"))


def downgrade() -> None:
    op.drop_index('ix_customers_extra_phones', table_name='customers')
