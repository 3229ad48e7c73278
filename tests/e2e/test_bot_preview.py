"""The Bot preview page in chromium (issue 9): a manager plays a customer in demo mode — the real bot answers through
the in-process Telegram sandbox — leaves a booking request, and a reply typed in the lead workspace reaches the
preview chat through the outbox."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.engine import Engine
from sqlmodel import select

from crystal_bay.db import make_engine, session_scope
from crystal_bay.models import Customer, Lead, Message, PipelineStage, TourOffer
from crystal_bay.sandbox.telegram import TelegramSandbox, create_app
from tests.e2e.conftest import ARTIFACTS, LiveApp
from tests.e2e.test_board import SLOW, STEP, _log_in
from tests.servers import serve

pytestmark = pytest.mark.e2e
BOT = 20_000  # the bot answers within a second; the first search warms the sandbox's caches
MONTHS_IN = ("январе", "феврале", "марте", "апреле", "мае", "июне", "июле", "августе", "сентябре", "октябре",
             "ноябре", "декабре")


@pytest.fixture(scope="module")
def db(live_app: LiveApp) -> Iterator[Engine]:
    engine = make_engine(live_app.database_url)
    yield engine
    engine.dispose()


def _bot_says(page: Page, text: str) -> None:
    expect(page.locator(".preview-bot").filter(has_text=text).last).to_be_visible(timeout=BOT)


def _press(page: Page, label: str) -> None:
    page.locator(".preview-button").filter(has_text=label).last.click()


def test_a_customer_conversation_in_the_preview_and_a_manager_reply(browser: Browser, live_app: LiveApp,
                                                                    db: Engine) -> None:
    today = dt.date.today()
    month = (today.month + 2) % 12 + 1
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ru-RU", timezone_id="Asia/Almaty")
    ctx.set_default_timeout(STEP)
    page = ctx.new_page()
    try:
        _log_in(page, live_app, live_app.manager)
        page.locator('[data-nav="/bot-preview"]').click()
        expect(page.get_by_role("heading", name="Предпросмотр бота")).to_be_visible(timeout=SLOW)
        expect(page.get_by_test_id("preview-chat")).to_be_visible(timeout=SLOW)

        page.get_by_test_id("preview-start").click()
        _bot_says(page, "Здравствуйте, Марат")
        expect(page.locator(".preview-button").filter(has_text="Подобрать тур").last).to_be_visible()

        page.get_by_test_id("preview-input").fill(f"Хотим во Вьетнам в {MONTHS_IN[month - 1]} на 10 ночей вдвоём")
        page.get_by_test_id("preview-send").click()
        expect(page.locator(".preview-user").filter(has_text="Хотим во Вьетнам")).to_be_visible(timeout=BOT)
        _bot_says(page, "Понял так")
        _press(page, "Алматы")
        _bot_says(page, "Проверьте запрос")
        _press(page, "Искать туры")
        _bot_says(page, "Демо-режим")
        expect(page.locator(".preview-button").filter(has_text="Хочу этот тур").first).to_be_visible(timeout=BOT)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "bot_preview.png"), full_page=True)

        page.locator(".preview-button").filter(has_text="Хочу этот тур").first.click()
        _bot_says(page, "Как к вам обращаться?")
        _press(page, "Да, Марат")
        _bot_says(page, "Ваш номер телефона?")
        page.locator(".preview-reply").filter(has_text="Поделиться номером").click()
        _bot_says(page, "Есть пожелания")
        _press(page, "Пропустить")
        _bot_says(page, "Проверьте заявку")
        _press(page, "Отправить заявку")
        _bot_says(page, "принята")
        accepted = page.locator(".preview-bot").filter(has_text="принята").last.inner_text()
        number = int(re.search(r"№(\d+)", accepted).group(1))
        expect(page.get_by_test_id("preview-lead")).to_contain_text(str(number), timeout=BOT)
        page.screenshot(path=str(ARTIFACTS / "bot_preview_booked.png"), full_page=True)

        with session_scope(db) as session:
            lead = session.get(Lead, number)
            customer = session.get(Customer, lead.customer_id)
            stage = session.get(PipelineStage, lead.stage_id)
            offer = session.exec(select(TourOffer).where(TourOffer.lead_id == number)).one()
            assert (lead.source, lead.country, lead.nights_min, stage.slug) == ("telegram", "Вьетнам", 10,
                                                                               "tour_selection")
            assert customer.phone == "+77011234567" and customer.telegram_id is None  # a preview customer
            assert offer.raw["cb_demo"] is True

        # the manager answers from the lead workspace; the outbox delivers it to the preview chat
        page.goto(live_app.url(f"/lead/{number}"), timeout=SLOW)
        expect(page.get_by_test_id("reply-text")).to_be_visible(timeout=SLOW)
        page.get_by_test_id("reply-text").fill("Здравствуйте, Марат! Места есть, отправляю договор.")
        page.get_by_test_id("reply-send").click()
        expect(page.get_by_test_id("timeline")).to_contain_text("отправляю договор", timeout=STEP)
        page.screenshot(path=str(ARTIFACTS / "bot_lead_reply_box.png"), full_page=True)

        def delivered() -> bool:
            with session_scope(db) as session:
                message = session.exec(select(Message).where(Message.lead_id == number,
                                                             Message.author_type == "manager")).first()
                return message is not None and message.delivery_status == "sent"

        # the e2e app runs without the scheduler (CRYSTAL_BAY_SCHEDULER=0): an admin runs the outbox worker now
        admin_ctx = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="ru-RU")
        admin_ctx.set_default_timeout(STEP)
        admin = admin_ctx.new_page()
        try:
            _log_in(admin, live_app, live_app.admin)
            admin.goto(live_app.url("/settings"), timeout=SLOW)
            admin.get_by_test_id("tab-jobs").click()
            admin.locator("tr").filter(has_text="outbox.worker").get_by_test_id("run-now").click()
            deadline = dt.datetime.now() + dt.timedelta(seconds=30)
            while not delivered():
                assert dt.datetime.now() < deadline, "the outbox did not deliver the reply within 30 s"
                admin.wait_for_timeout(500)
        finally:
            admin_ctx.close()
        page.goto(live_app.url("/bot-preview"), timeout=SLOW)
        expect(page.locator(".preview-bot").filter(has_text="отправляю договор")).to_be_visible(timeout=SLOW)
        page.screenshot(path=str(ARTIFACTS / "bot_preview_manager_reply.png"), full_page=True)
    finally:
        ctx.close()


def test_the_telegram_card_tests_the_connection_with_getme_and_getwebhookinfo(browser: Browser,
                                                                               live_app: LiveApp) -> None:
    sandbox = TelegramSandbox()
    sandbox.user(42)
    sandbox.send_text(42, "/start")  # one update waiting: "pending updates: 1"
    ctx = browser.new_context(viewport={"width": 1600, "height": 1200}, locale="ru-RU")
    ctx.set_default_timeout(STEP)
    page = ctx.new_page()
    try:
        with serve(create_app(sandbox)) as url:
            _log_in(page, live_app, live_app.admin)
            page.goto(live_app.url("/settings"), timeout=SLOW)
            card = page.get_by_test_id("integration-telegram")
            expect(card).to_be_visible(timeout=SLOW)
            card.get_by_test_id("input-bot_token").fill(sandbox.token)
            card.get_by_test_id("input-api_base_url").fill(f"{url}/bot")
            card.get_by_test_id("save-integration").click()
            expect(card.get_by_text("Настроено", exact=True)).to_be_visible(timeout=STEP)
            card.get_by_test_id("test-connection").click()
            expect(card.get_by_test_id("result-status")).to_have_text("ok", timeout=STEP)
            message = card.get_by_test_id("result-message")
            expect(message).to_contain_text("@crystalbay_sandbox_bot")
            expect(message).to_contain_text("ожидают обработки: 1")
            assert sandbox.token not in page.content()
            card.scroll_into_view_if_needed()
            card.screenshot(path=str(ARTIFACTS / "bot_settings_card.png"))
            assert [c.method for c in sandbox.calls][-2:] == ["getme", "getwebhookinfo"]
    finally:
        ctx.close()
