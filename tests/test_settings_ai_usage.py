"""The OpenAI card of the settings panel shows the last 14 days of OpenAI usage (stored per call by the engine)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import delete

from crystal_bay.db import session_scope
from crystal_bay.models import AIUsageDay, utcnow
from crystal_bay.services.ai import usage
from crystal_bay.state.settings import IntegrationsState
from tests.test_settings_state import _call, _login


@pytest.fixture()
def no_usage(app_db, settings_env):
    settings_env(OPENAI_API_KEY=None, OPENAI_BASE_URL=None, OPENAI_MODEL=None)

    def wipe():
        with session_scope() as session:
            session.exec(delete(AIUsageDay))

    wipe()
    yield
    wipe()


def _record(day: dt.date, model: str, operation: str, latency: int, tokens: tuple[int, int], ok: bool = True):
    with session_scope() as session:
        usage.record(session=session, day=day, call=usage.CallRecord(
            operation=operation, model=model, ok=ok, latency_ms=latency, prompt_tokens=tokens[0],
            completion_tokens=tokens[1]))


def test_the_openai_card_shows_the_last_14_days_newest_first_with_a_total(no_usage):
    state = _login(IntegrationsState)
    _call(state, "load")
    assert state.ai_usage == []  # nothing yet: the card says so

    today = utcnow().date()
    _record(today, "gpt-4o-mini", "reply", 800, (1000, 200))
    _record(today, "gpt-4o-mini", "extract", 400, (600, 100), ok=False)
    _record(today - dt.timedelta(days=13), "gpt-4o", "translate", 1500, (2000, 1000))
    _record(today - dt.timedelta(days=14), "gpt-4o", "reply", 9000, (50_000, 9000))  # 15 days ago: not shown
    _call(state, "load")

    days = [(r.day, r.requests, r.failures, r.tokens, r.latency, r.engine) for r in state.ai_usage]
    assert days == [
        (f"{today:%d.%m}", "2", "ошибок: 1", "1 900", "600 ms", "gpt-4o-mini"),
        (f"{today - dt.timedelta(days=13):%d.%m}", "1", "", "3 000", "1500 ms", "gpt-4o"),
        ("Итого", "3", "ошибок: 1", "4 900", "900 ms", "gpt-4o, gpt-4o-mini"),
    ]
    # OpenAI's list prices: gpt-4o-mini 0.15/0.60, gpt-4o 2.50/10.00 USD per 1M tokens
    mini = (Decimal("0.15") * 1600 + Decimal("0.60") * 300) / 1_000_000
    big = (Decimal("2.50") * 2000 + Decimal("10.00") * 1000) / 1_000_000
    assert [r.cost for r in state.ai_usage] == [f"${mini:.4f}", f"${big:.4f}", f"${mini + big:.4f}"]
