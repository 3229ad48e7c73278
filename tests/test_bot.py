"""The Telegram bot end to end: the real python-telegram-bot Application long-polls the Telegram sandbox over
loopback HTTP; a customer talks to it through the sandbox; the SAMO sandbox answers the searches (demo mode).
We check what the customer sees and what lands in the CRM."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlmodel import col, select

from crystal_bay.db import get_engine, session_scope
from crystal_bay.models import BotChat, BotState, Customer, Lead, Message, OutboxJob, PipelineStage, TourOffer
from crystal_bay.sandbox import samo as samo_sandbox
from crystal_bay.sandbox.telegram import TelegramSandbox, create_app
from crystal_bay.services import messaging, outbox
from crystal_bay.services.audit import Actor
from tests.bot_support import MONTHS_IN, month_ahead, running_bot
from tests.bot_support import Customer as Person
from tests.servers import serve

pytestmark = pytest.mark.asyncio
MANAGER = Actor(type="user", id=None, label="Менеджер")
MENU = ["Подобрать тур", "Мои заявки", "О нас", "Связаться с менеджером"]
MONTHS_GENITIVE = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
                   "ноября", "декабря")


@pytest.fixture(scope="module")
def server():
    sandbox = TelegramSandbox()
    with serve(create_app(sandbox)) as url:
        yield url, sandbox


@pytest.fixture()
def tg(server, app_db):
    url, sandbox = server
    sandbox.faults.clear()
    sandbox.blocked.clear()
    samo_sandbox.reset(samo_sandbox.demo_app())
    yield url, sandbox
    sandbox.faults.clear()
    samo_sandbox.reset(samo_sandbox.demo_app())


def _lead(lead_id: int) -> Lead:
    with session_scope() as session:
        return session.get(Lead, lead_id)


def _chat(chat_id: int) -> BotChat:
    with session_scope() as session:
        return session.get(BotChat, ("telegram", chat_id))


def _messages(lead_id: int) -> list[Message]:
    with session_scope() as session:
        return list(session.exec(select(Message).where(Message.lead_id == lead_id).order_by(col(Message.id))))


def _number(text: str) -> int:
    return int(re.search(r"№(\d+)", text).group(1))


async def _search_to_summary(p: Person) -> None:
    year, month = month_ahead()
    await p.say("/start")
    await p.press("Подобрать тур")
    await p.press("Алматы")
    await p.press("Вьетнам")
    await p.press(f"mon:{year:04d}-{month:02d}")
    await p.press("7–10")
    await p.press("adl:2")
    await p.press("chn:1")
    await p.press("age:5")
    await p.press("Без ограничений")


async def test_guided_search_to_booking_request_creates_the_lead_with_the_offer(tg):
    url, sandbox = tg
    async with running_bot(url, sandbox):
        p = Person(sandbox, first_name="Айгерим")
        await p.say("/start")
        assert "Здравствуйте, Айгерим" in p.texts()[0]
        assert p.buttons() == MENU

        await _search_to_summary(p)
        summary = p.last()
        for fragment in ("Вылет: Алматы", "Страна: Вьетнам", "Ночей: 7–10", "2 взр. + 1 реб. (5 лет)",
                         "Бюджет: не важно"):
            assert fragment in summary
        await p.press("go", until="Ещё варианты")  # the footer comes after the three offers
        assert any("Демо-режим" in text for text in p.texts())  # demo results say so
        offers = [m for m in sandbox.bot_messages(p.chat_id) if any(b["text"] == "Хочу этот тур" for b in m.buttons())]
        assert len(offers) == 3 and "Ещё варианты" in p.buttons()
        chosen = offers[0].text
        hotel = chosen.splitlines()[0].removeprefix("🏨 ")

        await p.press("want:0", until="Как к вам обращаться?")  # the first (cheapest) offer
        await p.press("name:tg")
        assert sandbox.reply_keyboard(p.chat_id)["keyboard"][0][0]["request_contact"] is True
        await p.share_phone("+7 701 555 12 34")
        await p.press("Пропустить")
        assert "+77015551234" in p.last() and hotel in p.last()
        await p.press("✅ Отправить заявку", until="принята")
        number = _number(p.last())

    assert sandbox.unanswered_callbacks() == []
    lead = _lead(number)
    with session_scope() as session:
        stage = session.get(PipelineStage, lead.stage_id)
        customer = session.get(Customer, lead.customer_id)
        snapshot = session.exec(select(TourOffer).where(TourOffer.lead_id == number)).one()
    assert (lead.source, stage.slug, lead.needs_human) == ("telegram", "tour_selection", True)
    assert (lead.departure_city, lead.country, lead.adults, lead.children, lead.children_ages) == \
        ("Алматы", "Вьетнам", 2, 1, [5])
    assert (customer.name, customer.phone, customer.telegram_id) == ("Айгерим", "+77015551234", str(p.chat_id))
    assert snapshot.stars and hotel == f"{re.sub(r' [1-5]\*$', '', snapshot.hotel)} {'★' * snapshot.stars}"
    assert f"{int(snapshot.price):,}".replace(",", " ") in chosen
    assert snapshot.raw["cb_demo"] is True
    notes = [m.body for m in _messages(number) if m.direction == "internal"]
    assert any("Заявка на тур из Telegram-бота" in n and "+77015551234" in n for n in notes)
    assert _chat(p.chat_id).lead_booked is True


async def test_free_text_fills_the_search_and_asks_only_what_is_missing(tg):
    url, sandbox = tg
    year, month = month_ahead()
    text = f"хотим во Вьетнам в {MONTHS_IN[month - 1]} на 10 ночей вдвоём, до 3000$"
    async with running_bot(url, sandbox):
        p = Person(sandbox)
        await p.say(text)
        understood = p.last()
        assert understood.startswith("Понял так")
        for fragment in ("Страна: Вьетнам", "Ночей: 10", "2 взр.", "до 3 000 USD"):
            assert fragment in understood
        assert "Откуда летим?" in understood and "Алматы" in p.buttons()  # the only thing missing
        await p.press("Алматы")
        assert "Ищем?" in p.last() and "Вылет: Алматы" in p.last()
        await p.press("go", until="Хочу этот тур")

    lead_id = _chat(p.chat_id).lead_id
    lead = _lead(lead_id)
    assert (lead.country, lead.nights_min, lead.adults, lead.currency) == ("Вьетнам", 10, 2, "USD")
    assert int(lead.budget) == 3000 and lead.date_from.month == month
    inbound = [m.body for m in _messages(lead_id) if m.direction == "inbound"]
    assert inbound == [text]  # the customer's message is on the lead's timeline


async def test_each_step_goes_back_and_cancel_works_anywhere(tg):
    url, sandbox = tg
    async with running_bot(url, sandbox):
        p = Person(sandbox)
        await p.say("/start")
        await p.press("Подобрать тур")
        await p.press("Астана")
        assert "Куда хотите поехать?" in p.last()
        await p.press("back")
        assert "Откуда летим?" in p.last()  # the departure is asked again
        await p.press("Алматы")
        await p.press("Турция")
        await p.press("back")
        assert "Куда хотите поехать?" in p.last()
        await p.say("/help")
        assert "Команды" in p.last()
        await p.press("Египет")  # /help did not lose the step
        assert "Когда?" in p.last()
        await p.say("/cancel")
        assert "отменил" in p.texts()[-2] and p.buttons() == MENU
        await p.press("Подобрать тур")
        await p.press("Отмена")
        assert p.buttons() == MENU


async def test_handoff_pauses_the_bot_and_a_manager_reply_reaches_the_chat(tg, settings_env):
    url, sandbox = tg
    settings_env(TELEGRAM_BOT_TOKEN=sandbox.token, TELEGRAM_API_BASE_URL=f"{url}/bot")
    async with running_bot(url, sandbox):
        p = Person(sandbox)
        await p.say("/start")
        await p.press("Связаться с менеджером")
        assert "Передал ваш вопрос менеджеру" in p.last()
        chat = _chat(p.chat_id)
        assert chat.paused and _lead(chat.lead_id).needs_human

        before = len(p.texts())
        sandbox.send_text(p.chat_id, "Когда вы перезвоните?")
        await asyncio.sleep(0.6)
        assert len(p.texts()) == before  # no automatic answer while a manager has the chat
        assert "Когда вы перезвоните?" in [m.body for m in _messages(chat.lead_id)]

        with session_scope() as session:
            sent = messaging.send_to_customer(session=session, lead_id=chat.lead_id, text="Здравствуйте! Перезвоню "
                                              "через 10 минут. Анна, Crystal Bay", actor=MANAGER)
        summary = await outbox.run_due(engine=get_engine())
        assert summary.done >= 1, summary.errors
        assert p.last().startswith("Здравствуйте! Перезвоню")
        with session_scope() as session:
            assert session.get(Message, sent.id).delivery_status == "sent"

        with session_scope() as session:
            assert messaging.hand_back(session=session, lead_id=chat.lead_id, actor=MANAGER) == 1
        await p.say("/start")
        assert p.buttons() == MENU  # the bot answers again
        assert not _lead(chat.lead_id).needs_human

        q = Person(sandbox)
        await q.say("Позовите менеджера, пожалуйста")
        assert "Передал ваш вопрос менеджеру" in q.last()  # intent human_request → handoff
        assert _chat(q.chat_id).paused


async def test_a_restart_mid_conversation_resumes_where_the_customer_was(tg):
    url, sandbox = tg
    p = Person(sandbox)
    async with running_bot(url, sandbox):
        await p.say("/start")
        await p.press("Подобрать тур")
        await p.press("Алматы")
        await p.press("ОАЭ")
        assert "Когда?" in p.last()
        key = ("telegram", "conversation", "main", f"[{p.chat_id}, {p.chat_id}]")

        def stored() -> dict | None:
            with session_scope() as session:
                state = session.get(BotState, key)
                return state.data if state else None

        # written right after the step, before any shutdown: a crash here would lose nothing
        await sandbox.wait_for(lambda: stored() == {"state": "dates"}, timeout=3)
    async with running_bot(url, sandbox):  # a new process: nothing in memory
        year, month = month_ahead(2)
        await p.press(f"mon:{year:04d}-{month:02d}")
        assert "Сколько ночей?" in p.last()
        await p.press("10 ночей")
        await p.press("adl:1")
        await p.press("chn:0")
        await p.press("Без ограничений")
        assert "Вылет: Алматы" in p.last() and "Страна: ОАЭ" in p.last()


async def test_operator_down_still_leaves_a_lead_and_says_so_politely(tg):
    url, sandbox = tg
    async with running_bot(url, sandbox):
        p = Person(sandbox)
        await _search_to_summary(p)
        samo_sandbox.demo_app().state.failure = "server_error"
        await p.press("go", until="Не получилось получить цены")
        number = _number(p.texts()[-2])
        assert p.buttons() == MENU
    lead = _lead(number)
    assert lead.country == "Вьетнам" and lead.adults == 2
    assert any("Поиск туров в боте не удался" in m.body for m in _messages(number))


async def test_flood_control_429_is_waited_out_and_other_chats_go_on(tg):
    url, sandbox = tg
    async with running_bot(url, sandbox):
        slow, other = Person(sandbox), Person(sandbox, first_name="Марат")
        sandbox.fail_next("sendMessage", status=429, retry_after=1, chat_id=slow.chat_id)
        sandbox.send_text(slow.chat_id, "/start")
        await other.say("/start")
        assert other.buttons() == MENU and slow.texts() == []  # the other chat did not wait
        await sandbox.wait_for(lambda: slow.buttons() == MENU, timeout=5)
    refused = [c for c in sandbox.calls_to("sendMessage", slow.chat_id) if c.status == 429]
    assert len(refused) == 1


async def test_a_customer_who_blocked_the_bot_still_leaves_a_lead(tg):
    url, sandbox = tg
    async with running_bot(url, sandbox):
        blocked, other = Person(sandbox), Person(sandbox)
        sandbox.block(blocked.chat_id)
        sandbox.send_text(blocked.chat_id, "Хотим в Турцию в июле, трое взрослых")
        await sandbox.wait_for(lambda: any(c.status == 403 for c in sandbox.calls_to("sendMessage", blocked.chat_id)))
        await other.say("/start")
        assert other.buttons() == MENU
        await sandbox.wait_for(lambda: _chat(blocked.chat_id) is not None and _chat(blocked.chat_id).blocked_at)
    chat = _chat(blocked.chat_id)
    bodies = [m.body for m in _messages(chat.lead_id)]
    assert "Хотим в Турцию в июле, трое взрослых" in bodies
    assert any("заблокировал бота" in b for b in bodies)
    assert _lead(chat.lead_id).country == "Турция"  # the AI reading reached the lead anyway


async def test_a_repeated_update_is_processed_once(tg):
    url, sandbox = tg
    async with running_bot(url, sandbox):
        p = Person(sandbox)
        await p.say("Хотим на море в Египет")
        first = p.last_update_id
        before = len(p.texts())
        sandbox.redeliver(first)
        await asyncio.sleep(0.6)
        assert len(p.texts()) == before
    lead_id = _chat(p.chat_id).lead_id
    assert [m.body for m in _messages(lead_id) if m.direction == "inbound"] == ["Хотим на море в Египет"]


async def test_my_requests_lists_them_in_plain_words(tg):
    url, sandbox = tg
    async with running_bot(url, sandbox):
        p = Person(sandbox)
        await p.say("/start")
        await p.press("Мои заявки")
        assert "пока нет заявок" in p.last()
        await p.say("Хотим в Таиланд в феврале")
        await p.press("m:requests")
        listing = p.texts()[-2]
        assert "Таиланд" in listing and "получена, менеджер скоро свяжется" in listing


async def test_english_speakers_get_english_and_language_can_be_switched(tg):
    url, sandbox = tg
    async with running_bot(url, sandbox):
        p = Person(sandbox, first_name="John", language="en")
        await p.say("/start")
        assert p.texts()[0].startswith("Hello, John") and "Find a tour" in p.buttons()
        await p.say("/language")
        await p.press("lang:ru")
        assert p.buttons() == MENU


async def test_outbox_delivery_to_a_blocked_chat_fails_permanently_with_a_note(tg, settings_env):
    url, sandbox = tg
    settings_env(TELEGRAM_BOT_TOKEN=sandbox.token, TELEGRAM_API_BASE_URL=f"{url}/bot")
    async with running_bot(url, sandbox):
        p = Person(sandbox)
        await p.say("Нужен тур в Египет")
    lead_id = _chat(p.chat_id).lead_id
    sandbox.block(p.chat_id)
    with session_scope() as session:
        sent = messaging.send_to_customer(session=session, lead_id=lead_id, text="Добрый день!", actor=MANAGER)
    summary = await outbox.run_due(engine=get_engine())
    assert summary.failed >= 1
    with session_scope() as session:
        job = session.exec(select(OutboxJob).where(OutboxJob.idempotency_key == f"telegram.send:{sent.id}")).one()
        assert job.status == "failed" and "blocked" in job.last_error
        assert session.get(Message, sent.id).delivery_status == "blocked"
    assert any("не доставлено" in m.body for m in _messages(lead_id))

    sandbox.unblock(p.chat_id)
    sandbox.fail_next("sendMessage", status=429, retry_after=7, chat_id=p.chat_id)
    with session_scope() as session:
        chat = session.get(BotChat, ("telegram", p.chat_id))
        chat.blocked_at = None  # they unblocked the bot
        session.add(chat)
        second = messaging.send_to_customer(session=session, lead_id=lead_id, text="Вы здесь?", actor=MANAGER)
    summary = await outbox.run_due(engine=get_engine())
    assert summary.retried >= 1
    with session_scope() as session:
        job = session.exec(select(OutboxJob).where(OutboxJob.idempotency_key == f"telegram.send:{second.id}")).one()
        assert job.status == "pending" and "Too Many Requests" in job.last_error
        wait = (job.next_try_at - job.updated_at).total_seconds()
        assert 6 <= wait <= 8  # Telegram's retry_after, not the generic backoff
        session.delete(job)


async def test_dates_typed_in_the_wizard_are_read_and_the_nights_follow(tg):
    url, sandbox = tg
    year, month = month_ahead(2)
    async with running_bot(url, sandbox):
        p = Person(sandbox)
        await p.say("/start")
        await p.press("Подобрать тур")
        await p.press("Алматы")
        await p.press("Турция")
        await p.say(f"с 10 по 20 {MONTHS_GENITIVE[month - 1]}")
        assert "Понял так" in p.last() and f"10.{month:02d}.{year} — 20.{month:02d}.{year}" in p.last()
        assert "Ночей: 10" in p.last() and "Сколько взрослых" in p.last()  # the nights were not asked
        await p.say("2")
        assert "Сколько детей" in p.last()
        await p.say("25")
        assert "от 0 до 4" in p.last() and "Сколько детей" in p.last()  # out of range: asked again


async def test_operator_dictionaries_down_sends_the_customer_to_free_text(tg):
    from crystal_bay.models import SamoDictionary
    from crystal_bay.services import tour_catalog

    url, sandbox = tg
    tour_catalog.clear_memory()
    with session_scope() as session:
        for row in session.exec(select(SamoDictionary)):
            session.delete(row)
    samo_sandbox.demo_app().state.failure = "server_error"
    async with running_bot(url, sandbox):
        p = Person(sandbox)
        await p.say("/start")
        await p.press("Подобрать тур")
        assert "Не получается связаться с туроператором" in p.last() and p.buttons() == MENU


async def test_openai_failing_falls_back_to_the_rules_engine_and_the_managers_see_it(tg, settings_env):
    from crystal_bay.bot.backends import Backends
    from tests.servers import closed_port_url

    url, sandbox = tg
    settings_env(OPENAI_API_KEY="sk-test.key-for-a-server-that-is-down", OPENAI_BASE_URL=f"{closed_port_url()}/v1")
    async with running_bot(url, sandbox, backends=Backends()):
        p = Person(sandbox)
        await p.say("Хотим в Египет на 7 ночей, трое взрослых", timeout=20)
        assert "Понял так" in p.last() and "Страна: Египет" in p.last() and "3 взр." in p.last()
        await p.say("И ещё вопрос про визу", timeout=20)
    notes = [m.body for m in _messages(_chat(p.chat_id).lead_id) if m.direction == "internal"]
    assert len([n for n in notes if n.startswith("ИИ (OpenAI) не ответил")]) == 1  # once, not for every message


async def _press_silently(sandbox: TelegramSandbox, chat_id: int, button: str) -> dict:
    """Press a button that should get only a pop-up answer (no message): what the pop-up said."""
    update_id = sandbox.press(chat_id, button)
    query_id = sandbox.delivered[update_id]["callback_query"]["id"]
    await sandbox.wait_for(lambda: query_id in sandbox.answered)
    return sandbox.answered[query_id]


async def test_while_a_manager_has_the_chat_help_language_start_work_and_cancel_goes_back_to_the_bot(tg):
    url, sandbox = tg
    async with running_bot(url, sandbox):
        p = Person(sandbox)
        await p.say("/start")
        await p.press("Связаться с менеджером")
        assert _chat(p.chat_id).paused
        await p.say("/help")
        assert "Команды" in p.last() and "Вернуться к боту" in p.last()  # the help explains the pause
        await p.say("/start")
        assert "занимается менеджер" in p.last() and p.buttons() == ["Вернуться к боту"]
        before = len(p.texts())
        popup = await _press_silently(sandbox, p.chat_id, "Подобрать тур")  # the old menu stays quiet
        assert popup["text"] == "Менеджер уже получил ваше сообщение и ответит здесь."
        await asyncio.sleep(0.3)
        assert len(p.texts()) == before and _chat(p.chat_id).paused

        await p.say("/language")
        await p.press("lang:en")
        assert "A manager is handling" in p.last() and p.buttons() == ["Back to the bot"]
        assert _chat(p.chat_id).paused  # choosing a language does not end the handoff
        await p.say("/cancel")
        assert "back with the bot" in p.texts()[-2] and "Find a tour" in p.buttons()
        chat = _chat(p.chat_id)
        assert not chat.paused and not _lead(chat.lead_id).needs_human  # they withdrew the request
        await p.say("Хотим в Египет в июле, двое взрослых")
        assert p.last().startswith("Here is what I understood")  # the bot answers again


async def test_back_to_the_bot_button_ends_the_handoff(tg):
    url, sandbox = tg
    async with running_bot(url, sandbox):
        p = Person(sandbox)
        await p.say("Позовите менеджера, пожалуйста")
        await p.say("/start")
        await p.press("Вернуться к боту")
        assert "вы снова с ботом" in p.texts()[-2] and p.buttons() == MENU
        assert not _chat(p.chat_id).paused
        timeline = [m.body for m in _messages(_chat(p.chat_id).lead_id)]
        assert "Позовите менеджера, пожалуйста" in timeline


async def test_a_handoff_idle_for_the_configured_hours_goes_back_to_the_bot(tg):
    import datetime as dt

    url, sandbox = tg
    async with running_bot(url, sandbox) as app:
        app.bot_data["handoff_hours"] = 2  # Settings → Telegram: "Hand back to the bot after, h"
        p = Person(sandbox)
        await p.say("/start")
        await p.press("Связаться с менеджером")
        before = len(p.texts())
        sandbox.send_text(p.chat_id, "Алло?")
        await asyncio.sleep(0.6)
        assert len(p.texts()) == before  # within the hours: still the manager's chat
        with session_scope() as session:
            chat = session.get(BotChat, ("telegram", p.chat_id))
            chat.paused_at -= dt.timedelta(hours=3)
            session.add(chat)
        await p.say("Хотим в Египет в июле, двое взрослых")
        assert p.last().startswith("Понял так")
    chat = _chat(p.chat_id)
    assert not chat.paused and _lead(chat.lead_id).needs_human  # nobody answered yet: still flagged


async def test_a_long_departure_list_pages_with_more_and_previous(tg):
    from crystal_bay.bot.backends import Backends
    from crystal_bay.integrations.samo import Ref

    class ManyDepartures(Backends):
        async def departures(self):
            almaty = next(r for r in await super().departures() if r.name == "Алматы")
            return [*(Ref(id=900_000 + i, name=f"Город {i:02d}", name_alt="") for i in range(29)), almaty]

    url, sandbox = tg
    async with running_bot(url, sandbox, backends=ManyDepartures()):
        p = Person(sandbox)
        await p.say("/start")
        await p.press("Подобрать тур")
        assert "Город 00" in p.buttons() and "Алматы" not in p.buttons() and "Ещё (10) ›" in p.buttons()
        sent = len(p.texts())
        await p.press("Ещё (10) ›")
        assert "Алматы" in p.buttons() and "Город 00" not in p.buttons() and "‹ Предыдущие" in p.buttons()
        assert len(p.texts()) == sent  # the same question, its buttons changed in place
        await p.press("‹ Предыдущие")
        assert "Город 00" in p.buttons()
        await p.press("pg:dep:1")
        await p.press("Алматы")
        assert "Куда хотите поехать?" in p.last()
    assert sandbox.unanswered_callbacks() == []


async def test_an_unexpected_error_is_noted_on_the_lead_and_the_customer_gets_an_apology(tg):
    from crystal_bay.bot.backends import Backends

    class Broken(Backends):
        async def departures(self):
            raise RuntimeError("dictionary cache corrupted")

    url, sandbox = tg
    async with running_bot(url, sandbox, backends=Broken()):
        p = Person(sandbox)
        await p.say("Хотим в Турцию")
        assert "что-то пошло не так" in p.last() and p.buttons() == MENU
        await p.press("Подобрать тур")
        assert "что-то пошло не так" in p.last()
    notes = [m.body for m in _messages(_chat(p.chat_id).lead_id) if m.direction == "internal"]
    assert len([n for n in notes if "внутренней ошибки (RuntimeError)" in n]) == 1  # once, not for every error


async def test_a_reply_that_telegram_cannot_deliver_says_why_on_the_lead(tg, settings_env):
    from crystal_bay.services import leads
    from tests.bot_support import new_chat_id

    url, sandbox = tg
    settings_env(TELEGRAM_BOT_TOKEN=sandbox.token, TELEGRAM_API_BASE_URL=f"{url}/bot")
    never_started = sandbox.user(new_chat_id(), started=False)  # known to Telegram, never opened the bot
    unknown = new_chat_id()  # an id Telegram does not know
    sent = {}
    with session_scope() as session:
        for telegram_id in (never_started, unknown):
            customer = Customer(name="Ерлан", telegram_id=str(telegram_id))  # e.g. imported from another system
            session.add(customer)
            session.flush()
            lead = leads.create_lead(session=session, customer_id=customer.id, source="phone", actor=MANAGER)
            sent[telegram_id] = messaging.send_to_customer(session=session, lead_id=lead.id, text="Добрый день!",
                                                           actor=MANAGER)
    await outbox.run_due(engine=get_engine())
    for telegram_id, why in ((never_started, "ещё не начинал диалог с ботом"), (unknown, "не знает такого чата")):
        with session_scope() as session:
            message = session.get(Message, sent[telegram_id].id)
        assert message.delivery_status == "failed"
        notes = [m.body for m in _messages(message.lead_id) if m.direction == "internal"]
        assert any(why in n for n in notes) and not any("заблокировал" in n for n in notes)


async def test_two_bot_processes_sharing_the_database_continue_each_others_conversations(tg):
    """Webhook mode behind two backend workers: consecutive updates of one chat land in different processes."""
    from telegram import Update

    from crystal_bay.bot.app import build_application

    url, sandbox = tg
    first, second = (build_application(token=sandbox.token, base_url=f"{url}/bot", polling=False) for _ in range(2))
    for app in (first, second):
        await app.initialize()
        await app.start()
    p = Person(sandbox)
    key = ("telegram", "conversation", "main", f"[{p.chat_id}, {p.chat_id}]")

    def stored() -> str | None:
        with session_scope() as session:
            state = session.get(BotState, key)
            return state.data.get("state") if state else None

    async def via(app, action, value: str, then: str) -> None:
        mark = sandbox.chat_activity(p.chat_id)
        update_id = action(p.chat_id, value)
        update = next(u for u in sandbox.pending if u["update_id"] == update_id)
        sandbox.pending.remove(update)
        await app.update_queue.put(Update.de_json(update, app.bot))
        await sandbox.wait_for_reply(p.chat_id, mark, timeout=10, settle=0.15)
        await sandbox.wait_for(lambda: stored() == then, timeout=3)  # written before the customer's next tap

    try:
        await via(first, sandbox.send_text, "/start", "menu")
        await via(second, sandbox.press, "Подобрать тур", "departure")
        await via(first, sandbox.press, "Алматы", "country")  # the first process knows the second one's step
        assert "Куда хотите поехать?" in p.last()
        await via(second, sandbox.press, "Вьетнам", "dates")  # and the second one the first one's answer
        assert "Когда?" in p.last()
    finally:
        for app in (first, second):
            await app.stop()
            await app.shutdown()
    with session_scope() as session:
        draft = session.get(BotState, ("telegram", "chat", "", str(p.chat_id))).data["draft"]
    assert (draft["departure"], draft["country"]) == ("Алматы", "Вьетнам")
    assert first.persistence.conflicts == second.persistence.conflicts == 0
