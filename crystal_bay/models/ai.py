"""The AI engine's bookkeeping: OpenAI calls, tokens, cost and latency summed per day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from crystal_bay.models._base import utcnow


class AIUsageDay(SQLModel, table=True):
    """One day × model × operation (extract, reply, translate, improve, shorten): the calls' sums."""

    __tablename__ = "ai_usage_days"
    __table_args__ = (UniqueConstraint("day", "model", "operation", name="uq_ai_usage_day"),)

    id: int | None = Field(default=None, primary_key=True)
    day: dt.date = Field(index=True)  # in UTC
    model: str = Field(max_length=100)
    operation: str = Field(max_length=30)
    calls: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: Decimal = Field(default=Decimal("0"), sa_type=Numeric(12, 6), nullable=False)
    latency_ms_total: int = 0
    latency_ms_max: int = 0
    updated_at: dt.datetime = Field(default_factory=utcnow)
