"""The conversation timeline: messages in every channel, and manager notes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Index, SQLModel

from crystal_bay.models._base import JSONType, utcnow


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_lead_created", "lead_id", "created_at"),
        UniqueConstraint("channel", "external_id", name="uq_messages_channel_external"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE")
    customer_id: int | None = Field(default=None, foreign_key="customers.id", index=True)
    channel: str = Field(max_length=20)  # a Channel, or "note" for a manager's note
    direction: str = Field(max_length=10)  # inbound | outbound | internal
    author_type: str = Field(max_length=10)  # customer | manager | bot | system
    author_user_id: int | None = Field(default=None, foreign_key="users.id")
    body: str = ""
    external_id: str | None = Field(default=None, max_length=200)
    delivery_status: str | None = Field(default=None, max_length=20)
    attachments: list[dict] = Field(default_factory=list, sa_type=JSONType, nullable=False)
    created_at: dt.datetime = Field(default_factory=utcnow)
