"""Durable outgoing side effects, written in the same transaction as the change."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, Index, SQLModel

from crystal_bay.models._base import JSONType, utcnow


class OutboxJob(SQLModel, table=True):
    __tablename__ = "outbox_jobs"
    __table_args__ = (Index("ix_outbox_due", "status", "next_try_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=50)
    payload: dict = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    idempotency_key: str = Field(max_length=200, unique=True)
    status: str = Field(default="pending", max_length=20)  # pending | done | failed | discarded
    attempts: int = 0
    max_attempts: int = 8
    next_try_at: dt.datetime = Field(default_factory=utcnow)
    last_error: str | None = None
    locked_until: dt.datetime | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
