"""Customers, deduplicated by phone (E.164), e-mail and messenger ids."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlmodel import Field, Index, SQLModel

from crystal_bay.models._base import JSONType, utcnow

# Customers with more than one phone (their list holds a comma): lead intake looks phones up in those lists
# through this partial index instead of scanning every customer (services/intake_contacts.py).
MULTI_PHONE_SQLITE = "phones LIKE '%,%'"
MULTI_PHONE_POSTGRESQL = "CAST(phones AS TEXT) LIKE '%,%'"


class Customer(SQLModel, table=True):
    __tablename__ = "customers"
    __table_args__ = (Index("ix_customers_extra_phones", "id", sqlite_where=text(MULTI_PHONE_SQLITE),
                            postgresql_where=text(MULTI_PHONE_POSTGRESQL)),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="", max_length=200, index=True)
    phone: str | None = Field(default=None, max_length=20, index=True)
    phones: list[str] = Field(default_factory=list, sa_type=JSONType, nullable=False)
    email: str | None = Field(default=None, max_length=254, index=True)
    telegram_id: str | None = Field(default=None, max_length=32, index=True)
    telegram_username: str | None = Field(default=None, max_length=64)
    whatsapp_id: str | None = Field(default=None, max_length=32, index=True)
    language: str = Field(default="ru", max_length=5)
    notes: str = ""
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
