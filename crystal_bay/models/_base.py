"""Shared column helpers for the SQLModel tables."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB


def utcnow() -> dt.datetime:
    """Aware UTC now. Timestamp columns store aware datetimes and read back in UTC (SQLModel's
    UTCDateTime), on SQLite and PostgreSQL alike; a naive datetime is refused on write."""
    return dt.datetime.now(dt.UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Channel(StrEnum):
    """Where a lead or a message came from."""

    telegram = "telegram"
    whatsapp = "whatsapp"
    email = "email"
    website = "website"
    api = "api"
    phone = "phone"
    walk_in = "walk_in"


class StatusCategory(StrEnum):
    """The five status categories every pipeline stage belongs to, in order."""

    new = "new"
    in_progress = "in_progress"
    pending = "pending"
    confirmed = "confirmed"
    closed = "closed"


class Outcome(StrEnum):
    won = "won"
    lost = "lost"


class Role(StrEnum):
    admin = "admin"
    manager = "manager"
