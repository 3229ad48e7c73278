"""Leads: one sales opportunity of a customer, moving through the pipeline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Numeric, UniqueConstraint
from sqlmodel import Field, Index, SQLModel

from crystal_bay.models._base import Channel, JSONType, StatusCategory, utcnow


class TravelRequest(SQLModel):
    """What the customer wants; filled by a manager or by the AI engine."""

    departure_city: str | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, max_length=100)
    resort: str | None = Field(default=None, max_length=100)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    nights_min: int | None = None
    nights_max: int | None = None
    adults: int | None = None
    children: int | None = None
    children_ages: list[int] = Field(default_factory=list, sa_type=JSONType, nullable=False)
    budget: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    currency: str | None = Field(default=None, max_length=3)
    hotel_stars: int | None = None
    meal: str | None = Field(default=None, max_length=4)


class Lead(TravelRequest, table=True):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_board", "outcome", "stage_id", "updated_at"),
        Index("ix_leads_status", "status", "updated_at"),
        Index("ix_leads_assignee", "assignee_id", "stage_id"),
        Index("ix_leads_created", "created_at"),
        Index("ix_leads_follow_up", "next_follow_up_at"),
        UniqueConstraint("source", "external_id", name="uq_leads_source_external"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    source: str = Field(default=Channel.api.value, max_length=20)
    stage_id: int = Field(foreign_key="pipeline_stages.id")
    status: str = Field(default=StatusCategory.new.value, max_length=20)
    outcome: str | None = Field(default=None, max_length=10)
    lost_reason: str | None = Field(default=None, max_length=500)
    assignee_id: int | None = Field(default=None, foreign_key="users.id")
    score: int | None = None
    score_reasons: list[str] = Field(default_factory=list, sa_type=JSONType, nullable=False)
    needs_human: bool = False
    external_id: str | None = Field(default=None, max_length=100)
    utm: dict = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    next_follow_up_at: dt.datetime | None = None
    last_customer_message_at: dt.datetime | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    closed_at: dt.datetime | None = None


class Tag(SQLModel, table=True):
    __tablename__ = "tags"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50, unique=True)


class LeadTag(SQLModel, table=True):
    __tablename__ = "lead_tags"
    __table_args__ = (Index("ix_lead_tags_tag", "tag_id", "lead_id"),)

    lead_id: int = Field(foreign_key="leads.id", primary_key=True, ondelete="CASCADE")
    tag_id: int = Field(foreign_key="tags.id", primary_key=True, ondelete="CASCADE")


class Reminder(SQLModel, table=True):
    """A follow-up a manager set on a lead."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_due", "done_at", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", index=True, ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    due_at: dt.datetime
    text: str = Field(max_length=500)
    created_at: dt.datetime = Field(default_factory=utcnow)
    done_at: dt.datetime | None = None
