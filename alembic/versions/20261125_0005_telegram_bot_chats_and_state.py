"""telegram bot chats and state: the bot's chats (customer, lead, handoff) and its persisted conversation state

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 21:48:00.043072
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('bot_states',
    sa.Column('namespace', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('namespace', 'kind', 'name', 'key')
    )
    op.create_table('bot_chats',
    sa.Column('namespace', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('lead_booked', sa.Boolean(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('paused_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('paused_reason', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('blocked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('namespace', 'chat_id')
    )
    with op.batch_alter_table('bot_chats', schema=None) as batch_op:
        batch_op.create_index('ix_bot_chats_customer', ['customer_id'], unique=False)
        batch_op.create_index('ix_bot_chats_lead', ['lead_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bot_chats', schema=None) as batch_op:
        batch_op.drop_index('ix_bot_chats_lead')
        batch_op.drop_index('ix_bot_chats_customer')

    op.drop_table('bot_chats')
    op.drop_table('bot_states')

