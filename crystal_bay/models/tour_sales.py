"""Tour sales beyond the foundation's tables: the SAMO dictionary cache, quote documents and the
customer's answers on a quote's public page, and the booking's extra facts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Index, SQLModel

from crystal_bay.models._base import JSONType, utcnow


class SamoDictionary(SQLModel, table=True):
    """One cached SAMO dictionary (TOWNFROMS, STATES of a departure, HOTELS of a destination, ...).

    `source` keeps the sandbox's and each operator host's entries apart; `scope` is the ids the
    dictionary depends on ("" for TOWNFROMS, "1344" for STATES, "1344:95" for a destination).
    """

    __tablename__ = "samo_dictionaries"
    __table_args__ = (UniqueConstraint("source", "kind", "scope", name="uq_samo_dictionaries_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    kind: str = Field(max_length=40)
    scope: str = Field(default="", max_length=100)
    items: list = Field(default_factory=list, sa_type=JSONType, nullable=False)
    fetched_at: dt.datetime = Field(default_factory=utcnow)


class QuoteDocument(SQLModel, table=True):
    """What a quote says besides its offers: title, the manager's note and contacts, conditions, views."""

    __tablename__ = "quote_documents"

    quote_id: int = Field(primary_key=True, foreign_key="quotes.id", ondelete="CASCADE")
    language: str = Field(default="ru", max_length=5)
    title: str = Field(default="", max_length=200)
    note: str = ""
    conditions: str = ""
    manager: dict = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    demo: bool = False
    view_count: int = 0
    last_viewed_at: dt.datetime | None = None


class QuoteResponse(SQLModel, table=True):
    """The customer's answer on the public page: the offer they chose, or a question."""

    __tablename__ = "quote_responses"
    __table_args__ = (Index("ix_quote_responses_quote", "quote_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    quote_id: int = Field(foreign_key="quotes.id", ondelete="CASCADE")
    kind: str = Field(max_length=20)  # choice | question
    offer_id: int | None = Field(default=None, foreign_key="tour_offers.id", ondelete="SET NULL")
    text: str = ""
    message_id: int | None = Field(default=None, foreign_key="messages.id", ondelete="SET NULL")
    created_at: dt.datetime = Field(default_factory=utcnow)


class BookingDetail(SQLModel, table=True):
    """A booking's extra facts: the quote it came from, the rate's base currency, status changes."""

    __tablename__ = "booking_details"

    booking_id: int = Field(primary_key=True, foreign_key="bookings.id", ondelete="CASCADE")
    quote_id: int | None = Field(default=None, foreign_key="quotes.id", ondelete="SET NULL")
    rate_base: str = Field(default="KZT", max_length=3)  # bookings.exchange_rate = rate_base per 1 currency
    note: str = ""
    cancel_reason: str | None = Field(default=None, max_length=500)
    status_changed_at: dt.datetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
