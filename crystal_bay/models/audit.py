"""The audit log: every change a person or a system makes, written by the service layer."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, Index, SQLModel

from crystal_bay.models._base import JSONType, utcnow


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    actor_type: str = Field(max_length=10)  # user | system | api | bot | ai
    actor_id: int | None = None
    actor_label: str = Field(default="", max_length=200)
    entity_type: str = Field(max_length=30)
    entity_id: int | None = None
    action: str = Field(max_length=50)
    data: dict = Field(default_factory=dict, sa_type=JSONType, nullable=False)
