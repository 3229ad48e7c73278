"""Customers, deduplicated by phone (E.164), e-mail and messenger ids."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from crystal_bay.models._base import JSONType, utcnow


class Customer(SQLModel, table=True):
    __tablename__ = "customers"

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
