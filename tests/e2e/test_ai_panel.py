"""The AI panel in the lead workspace, in chromium against `reflex run` (issue 7): the score with its reasons,
reading the customer's last message (background event), the stage proposal, and a reply draft — offline,
with the rules engine answering."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy.engine import Engine
from sqlmodel import select

from crystal_bay.db import make_engine, session_scope
from crystal_bay.models import AuditEvent, Message
from tests.e2e.conftest import LiveApp
from tests.e2e.test_board import SLOW, STEP, WIDE, _create_lead, _log_in, _shot

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def db(live_app: LiveApp) -> Iterator[Engine]:
    engine = make_engine(live_app.database_url)
    yield engine
    engine.dispose()


def test_the_ai_panel_reads_the_last_message_proposes_and_drafts(browser, live_app: LiveApp, db: Engine) -> None:
    lead_id = _create_lead(db, "Айгерим Искакова")
    with session_scope(db) as session:
        session.add(Message(lead_id=lead_id, channel="telegram", direction="inbound", author_type="customer",
                            body="Здравствуйте! Хотим в Нячанг с 10 по 20 июня вдвоём, бюджет 2500$"))
    ctx = browser.new_context(viewport=WIDE, locale="ru-RU", timezone_id="Asia/Almaty")
    ctx.set_default_timeout(STEP)
    page = ctx.new_page()
    try:
        _log_in(page, live_app, live_app.manager)
        page.goto(live_app.url(f"/lead/{lead_id}"), timeout=SLOW)
        panel = page.get_by_test_id("ai-panel")
        expect(panel).to_be_visible(timeout=SLOW)
        expect(panel).to_contain_text("Офлайн-правила")
        expect(page.get_by_test_id("ai-reasons")).to_contain_text("Не хватает")

        panel.get_by_role("button", name="Разобрать последнее сообщение").click()
        expect(page.locator('input[name="resort"]')).to_have_value("Нячанг", timeout=STEP)
        expect(page.locator('input[name="adults"]')).to_have_value("2")
        expect(panel).to_contain_text("ИИ предлагает этап", timeout=STEP)
        expect(panel).to_contain_text("Подбор тура")

        page.get_by_test_id("ai-apply").click()
        expect(page.get_by_test_id("lead-stage")).to_have_text("Подбор тура", timeout=STEP)

        page.get_by_test_id("ai-suggest").click()
        expect(page.get_by_test_id("ai-draft")).to_have_value(re.compile(r"^Здравствуйте, Айгерим!"), timeout=STEP)
        expect(panel).to_contain_text("Черновик: шаблон")
        _shot(page, "e2e-ai-panel.png")
    finally:
        ctx.close()
    with session_scope(db) as session:
        actions = [(e.actor_type, e.action) for e in session.exec(
            select(AuditEvent).where(AuditEvent.entity_type == "lead", AuditEvent.entity_id == lead_id))]
    assert ("ai", "travel_request_updated") in actions and ("ai", "ai_stage_proposed") in actions
    assert ("user", "stage_changed") in actions
