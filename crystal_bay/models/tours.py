"""Tour offers (snapshots of an operator's price row) and quotes sent to customers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Numeric
from sqlmodel import Field, SQLModel

from crystal_bay.models._base import JSONType, utcnow


class Quote(SQLModel, table=True):
    """A "Коммерческое предложение": offers sent to a customer, with a public link."""

    __tablename__ = "quotes"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", index=True, ondelete="CASCADE")
    token: str = Field(max_length=64, unique=True)
    status: str = Field(default="draft", max_length=20)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    viewed_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    chosen_offer_id: int | None = None


class TourOffer(SQLModel, table=True):
    __tablename__ = "tour_offers"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int | None = Field(default=None, foreign_key="leads.id", index=True, ondelete="CASCADE")
    quote_id: int | None = Field(default=None, foreign_key="quotes.id", index=True)
    source: str = Field(default="samo", max_length=20)
    operator_offer_id: str | None = Field(default=None, max_length=100)
    hotel: str = Field(max_length=200)
    hotel_id: str | None = Field(default=None, max_length=50)
    stars: int | None = None
    country: str | None = Field(default=None, max_length=100)
    resort: str | None = Field(default=None, max_length=100)
    meal: str | None = Field(default=None, max_length=20)
    room: str | None = Field(default=None, max_length=100)
    date_from: dt.date
    nights: int
    adults: int = 2
    children: int = 0
    price: Decimal = Field(sa_type=Numeric(14, 2), nullable=False)
    currency: str = Field(default="USD", max_length=3)
    available: bool = True
    raw: dict = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    captured_at: dt.datetime = Field(default_factory=utcnow)
