"""Integration settings (encrypted), API keys (hashed) and received webhook events."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from crystal_bay.models._base import JSONType, utcnow


class IntegrationSetting(SQLModel, table=True):
    __tablename__ = "integration_settings"
    __table_args__ = (UniqueConstraint("integration", "key", name="uq_integration_setting"),)

    id: int | None = Field(default=None, primary_key=True)
    integration: str = Field(max_length=50)
    key: str = Field(max_length=100)
    value_encrypted: str
    is_secret: bool = False
    updated_at: dt.datetime = Field(default_factory=utcnow)
    updated_by_id: int | None = Field(default=None, foreign_key="users.id")


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    scopes: list[str] = Field(default_factory=list, sa_type=JSONType, nullable=False)
    created_at: dt.datetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


class WebhookEvent(SQLModel, table=True):
    """An inbound event kept by its idempotency key, so a repeat delivery changes nothing."""

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("source", "event_key", name="uq_webhook_event"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=30)
    event_key: str = Field(max_length=200)
    payload: dict = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    received_at: dt.datetime = Field(default_factory=utcnow)
    processed_at: dt.datetime | None = None
    status: str = Field(default="received", max_length=20)
