"""Bookings made at the operator, their travellers and the money on them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Numeric
from sqlmodel import Field, SQLModel

from crystal_bay.models._base import utcnow


class Booking(SQLModel, table=True):
    __tablename__ = "bookings"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", index=True)
    offer_id: int | None = Field(default=None, foreign_key="tour_offers.id")
    claim_number: str | None = Field(default=None, max_length=50, index=True)
    status: str = Field(default="requested", max_length=20)
    client_price: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    net_price: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    currency: str = Field(default="USD", max_length=3)
    exchange_rate: Decimal | None = Field(default=None, sa_type=Numeric(14, 6))
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class Traveller(SQLModel, table=True):
    __tablename__ = "travellers"

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="bookings.id", index=True, ondelete="CASCADE")
    full_name: str = Field(max_length=200)
    birth_date: dt.date | None = None
    passport_number: str | None = Field(default=None, max_length=30)
    passport_expires: dt.date | None = None


class Payment(SQLModel, table=True):
    """A scheduled or recorded payment: client deposit/balance, or the agency paying the operator."""

    __tablename__ = "payments"

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="bookings.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=20)  # client_deposit | client_balance | operator
    amount: Decimal = Field(sa_type=Numeric(14, 2), nullable=False)
    currency: str = Field(default="USD", max_length=3)
    due_date: dt.date | None = Field(default=None, index=True)
    paid_at: dt.datetime | None = None
