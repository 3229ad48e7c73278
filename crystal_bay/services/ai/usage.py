"""Cost and latency of every OpenAI call, summed per day, model and operation (`ai_usage_days`)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from crystal_bay.models import AIUsageDay, utcnow

log = logging.getLogger(__name__)

# USD per 1M tokens (input, output), from OpenAI's public price list; unknown models cost 0 and are
# flagged in the log. Checked against openai.com/api/pricing for these models in 2025.
PRICES: dict[str, tuple[Decimal, Decimal]] = {
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
    "gpt-4o": (Decimal("2.50"), Decimal("10.00")),
    "gpt-4.1-mini": (Decimal("0.40"), Decimal("1.60")),
    "gpt-4.1-nano": (Decimal("0.10"), Decimal("0.40")),
    "gpt-4.1": (Decimal("2.00"), Decimal("8.00")),
}


@dataclass(frozen=True)
class CallRecord:
    """One OpenAI call as the engine saw it."""

    operation: str  # extract | reply | translate | improve | shorten
    model: str
    ok: bool
    latency_ms: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str = ""


def cost_of(model: str, prompt_tokens: int, completion_tokens: int) -> Decimal:
    """The call's price in USD (a dated snapshot, e.g. "gpt-4o-mini-2024-07-18", costs as its family)."""
    base = next((name for name in sorted(PRICES, key=len, reverse=True) if model.startswith(name)), None)
    if base is None:
        return Decimal("0")
    price_in, price_out = PRICES[base]
    return (price_in * prompt_tokens + price_out * completion_tokens) / Decimal(1_000_000)


def record(*, session: Session, call: CallRecord, day: dt.date | None = None) -> AIUsageDay:
    """Add one call to its day's row (created on first use)."""
    day = day or utcnow().date()
    model = call.model.split(":", 1)[0][:100]
    stmt = select(AIUsageDay).where(AIUsageDay.day == day, AIUsageDay.model == model,
                                    AIUsageDay.operation == call.operation)
    row = session.exec(stmt.with_for_update()).first()
    if row is None:
        row = AIUsageDay(day=day, model=model, operation=call.operation)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:  # another process created it first
            row = session.exec(stmt.with_for_update()).one()
    row.calls += 1
    row.failures += 0 if call.ok else 1
    row.prompt_tokens += call.prompt_tokens
    row.completion_tokens += call.completion_tokens
    row.cost_usd = Decimal(row.cost_usd or 0) + cost_of(model, call.prompt_tokens, call.completion_tokens)
    row.latency_ms_total += call.latency_ms
    row.latency_ms_max = max(row.latency_ms_max, call.latency_ms)
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


def log_call(call: CallRecord) -> None:
    """The default sink: log the call and add it to the database in its own transaction (never raises)."""
    log.info("openai %s model=%s ok=%s %d ms tokens=%d+%d %s", call.operation, call.model, call.ok,
             call.latency_ms, call.prompt_tokens, call.completion_tokens, call.error)
    if call.model.split(":", 1)[0] not in PRICES:
        log.warning("No price known for model %s: its cost is counted as 0.", call.model)
    try:
        from crystal_bay.db import session_scope

        with session_scope() as session:
            record(session=session, call=call)
    except SQLAlchemyError:
        log.exception("Could not store the OpenAI usage record.")


@dataclass(frozen=True)
class UsageSummary:
    """One day's OpenAI usage, all models and operations together."""

    day: dt.date
    calls: int
    failures: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    avg_latency_ms: int
    max_latency_ms: int
    models: tuple[str, ...] = ()  # the models that answered that day


def usage_by_day(*, session: Session, since: dt.date, until: dt.date | None = None) -> list[UsageSummary]:
    """Per-day sums from `since` to `until` (inclusive, UTC days), oldest first — for the analytics page."""
    stmt = select(AIUsageDay).where(AIUsageDay.day >= since)
    if until is not None:
        stmt = stmt.where(AIUsageDay.day <= until)
    days: dict[dt.date, list[AIUsageDay]] = {}
    for row in session.exec(stmt.order_by(col(AIUsageDay.day))):
        days.setdefault(row.day, []).append(row)
    out = []
    for day, rows in days.items():
        calls = sum(r.calls for r in rows)
        out.append(UsageSummary(
            day=day, calls=calls, failures=sum(r.failures for r in rows),
            prompt_tokens=sum(r.prompt_tokens for r in rows), completion_tokens=sum(r.completion_tokens for r in rows),
            cost_usd=sum((Decimal(r.cost_usd) for r in rows), Decimal("0")),
            avg_latency_ms=round(sum(r.latency_ms_total for r in rows) / calls) if calls else 0,
            max_latency_ms=max(r.latency_ms_max for r in rows), models=tuple(sorted({r.model for r in rows})),
        ))
    return out
