"""The Telegram sandbox speaks the Bot API as python-telegram-bot uses it (protocols/telegram.md), and the Telegram
integration's client and connection test work against it."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from pydantic import SecretStr
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter

from crystal_bay.integrations import telegram as telegram_integration
from crystal_bay.integrations.telegram import TelegramClient, TelegramError, TelegramSettings
from crystal_bay.sandbox.telegram import DEFAULT_TOKEN, TelegramSandbox, create_app


@pytest.fixture()
def sandbox() -> TelegramSandbox:
    return TelegramSandbox()


def _http(sandbox: TelegramSandbox) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(sandbox)), base_url="http://tg")


def _bot(sandbox: TelegramSandbox, token: str = DEFAULT_TOKEN) -> Bot:
    from telegram.request import HTTPXRequest

    request = HTTPXRequest(httpx_kwargs={"transport": httpx.ASGITransport(app=create_app(sandbox))})
    return Bot(token, base_url="http://tg/bot", request=request, get_updates_request=request)


@pytest.mark.asyncio
async def test_form_encoded_json_body_and_query_string_all_work(sandbox):
    sandbox.user(42)
    markup = {"inline_keyboard": [[{"text": "Вьетнам", "callback_data": "cty:95"}]]}
    async with _http(sandbox) as http:
        form = await http.post(f"/bot{DEFAULT_TOKEN}/sendMessage",
                               data={"chat_id": "42", "text": "Куда?", "reply_markup": json.dumps(markup)})
        body = await http.post(f"/bot{DEFAULT_TOKEN}/SENDMESSAGE", json={"chat_id": 42, "text": "<b>Да</b>",
                                                                          "parse_mode": "HTML"})
        query = await http.get(f"/bot{DEFAULT_TOKEN}/getMe")
    assert form.json()["result"]["reply_markup"] == markup
    assert body.json()["result"]["text"] == "Да"  # HTML parse mode: the text without the tags
    assert query.json()["result"]["username"] == "crystalbay_sandbox_bot"
    assert [m.text for m in sandbox.bot_messages(42)] == ["Куда?", "Да"]


@pytest.mark.asyncio
async def test_errors_use_telegrams_envelope_and_statuses(sandbox):
    sandbox.user(42)
    async with _http(sandbox) as http:
        wrong = await http.post("/bot1:wrong/getMe")
        unknown = await http.post(f"/bot{DEFAULT_TOKEN}/sendPigeon")
        long = await http.post(f"/bot{DEFAULT_TOKEN}/sendMessage", data={"chat_id": "42", "text": "x" * 4097})
        empty = await http.post(f"/bot{DEFAULT_TOKEN}/sendMessage", data={"chat_id": "42", "text": " "})
        nochat = await http.post(f"/bot{DEFAULT_TOKEN}/sendMessage", data={"chat_id": "43", "text": "hi"})
        data = await http.post(f"/bot{DEFAULT_TOKEN}/sendMessage", data={
            "chat_id": "42", "text": "hi", "reply_markup": json.dumps({"inline_keyboard": [[
                {"text": "x", "callback_data": "d" * 65}]]})})
        sandbox.fail_next("sendMessage", status=429, retry_after=3)
        flood = await http.post(f"/bot{DEFAULT_TOKEN}/sendMessage", data={"chat_id": "42", "text": "hi"})
        sandbox.block(42)
        blocked = await http.post(f"/bot{DEFAULT_TOKEN}/sendMessage", data={"chat_id": "42", "text": "hi"})
    assert (wrong.status_code, wrong.json()) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    assert unknown.status_code == 404
    assert long.json()["description"] == "Bad Request: message is too long"
    assert empty.json()["description"] == "Bad Request: message text is empty"
    assert nochat.json()["description"] == "Bad Request: chat not found"
    assert data.json()["description"] == "Bad Request: BUTTON_DATA_INVALID"
    assert flood.status_code == 429 and flood.json()["parameters"] == {"retry_after": 3}
    assert (blocked.status_code, blocked.json()["description"]) == (403, "Forbidden: bot was blocked by the user")


@pytest.mark.asyncio
async def test_get_updates_confirms_by_offset_and_long_polls(sandbox):
    sandbox.user(7)
    first = sandbox.send_text(7, "/start")
    second = sandbox.send_text(7, "привет")
    async with _http(sandbox) as http:
        async def updates(**params):
            response = await http.post(f"/bot{DEFAULT_TOKEN}/getUpdates", data={k: str(v) for k, v in params.items()})
            return [u["update_id"] for u in response.json()["result"]]

        assert await updates() == [first, second]
        assert await updates(limit=1) == [first]
        assert await updates(offset=-1) == [second]  # a negative offset takes from the end
        assert await updates(offset=second + 1) == []  # confirmed: gone for good
        started = time.perf_counter()
        assert await updates(timeout=0.3) == []
        assert time.perf_counter() - started >= 0.25  # it waited

        async def later():
            await asyncio.sleep(0.1)
            sandbox.send_text(7, "ещё")

        started = time.perf_counter()
        waiting = asyncio.create_task(updates(timeout=5))
        await later()
        assert len(await waiting) == 1 and time.perf_counter() - started < 2  # woken by the new update
    message = sandbox.pending[0]["message"]
    assert message["chat"] == {"id": 7, "type": "private", "first_name": "Айгерим"}
    assert "entities" not in message and sandbox.delivered[first]["message"]["entities"][0]["type"] == "bot_command"


@pytest.mark.asyncio
async def test_webhook_excludes_get_updates_and_reports_its_state(sandbox):
    async with _http(sandbox) as http:
        bad = await http.post(f"/bot{DEFAULT_TOKEN}/setWebhook", data={"url": "https://x.kz/h", "secret_token": "a b"})
        ok = await http.post(f"/bot{DEFAULT_TOKEN}/setWebhook", data={"url": "https://x.kz/h", "secret_token": "s_1"})
        conflict = await http.post(f"/bot{DEFAULT_TOKEN}/getUpdates")
        info = await http.post(f"/bot{DEFAULT_TOKEN}/getWebhookInfo")
        await http.post(f"/bot{DEFAULT_TOKEN}/deleteWebhook")
        after = await http.post(f"/bot{DEFAULT_TOKEN}/getWebhookInfo")
    assert bad.status_code == 400 and ok.json()["result"] is True
    assert conflict.status_code == 409 and conflict.json()["description"].startswith("Conflict")
    assert info.json()["result"]["url"] == "https://x.kz/h" and info.json()["result"]["pending_update_count"] == 0
    assert after.json()["result"]["url"] == ""


@pytest.mark.asyncio
async def test_python_telegram_bot_maps_the_sandbox_errors(sandbox):
    sandbox.user(9)
    bot = _bot(sandbox)
    async with bot:
        assert bot.username == "crystalbay_sandbox_bot"
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Да", callback_data="yes")]])
        sent = await bot.send_message(9, "Едем?", reply_markup=keyboard)
        assert await bot.send_chat_action(9, "typing") is True
        query = sandbox.press(9, "Да")
        updates = await bot.get_updates(offset=query - 1, timeout=0)
        assert updates[-1].callback_query.data == "yes"
        assert await updates[-1].callback_query.answer()
        await bot.edit_message_text("Едем!", chat_id=9, message_id=sent.message_id)
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text("Едем!", chat_id=9, message_id=sent.message_id)
        sandbox.fail_next("sendMessage", status=429, retry_after=2)
        with pytest.raises(RetryAfter):
            await bot.send_message(9, "раз")
        sandbox.block(9)
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(9, "два")
    assert sandbox.unanswered_callbacks() == []
    with pytest.raises(InvalidToken):
        async with _bot(sandbox, token="1:nope"):
            pass


@pytest.mark.asyncio
async def test_client_and_connection_test_report_the_bot_and_the_webhook(sandbox):
    transport = httpx.ASGITransport(app=create_app(sandbox))
    config = TelegramSettings(bot_token=SecretStr(DEFAULT_TOKEN), api_base_url="http://tg/bot")
    result = await telegram_integration.test_connection(config, transport=transport)
    assert result.ok and result.code == "telegram_ok"
    assert result.params["username"] == "@crystalbay_sandbox_bot" and result.params["pending"] == 0
    assert DEFAULT_TOKEN not in result.detail

    sandbox.webhook = {"url": "https://crm.kz/api/webhooks/telegram", "secret_token": None, "max_connections": 40}
    sandbox.webhook_last_error = (1735689600, "Wrong response from the webhook: 502 Bad Gateway")
    result = await telegram_integration.test_connection(config, transport=transport)
    assert not result.ok and "502 Bad Gateway" in result.message and result.params["mode"] == "webhook"

    refused = await telegram_integration.test_connection(config.model_copy(update={"bot_token": SecretStr("1:wrong-token-x")}),
                                    transport=transport)
    assert not refused.ok and refused.code == "telegram_token_refused"

    sandbox.user(5)
    async with TelegramClient(config, transport=transport) as client:
        assert (await client.send_message(5, "Добрый день"))["text"] == "Добрый день"
        sandbox.fail_next("sendMessage", status=429, retry_after=4)
        with pytest.raises(TelegramError) as flood:
            await client.send_message(5, "ещё")
        assert flood.value.retry_after == 4 and flood.value.temporary


def test_settings_schema_rules():
    with pytest.raises(ValueError, match="webhook mode needs"):
        TelegramSettings(bot_token=SecretStr(DEFAULT_TOKEN), mode="webhook")
    config = TelegramSettings(bot_token=SecretStr(DEFAULT_TOKEN), webhook_url="https://crm.kz/api/webhooks/telegram")
    assert config.effective_mode == "webhook"
    assert TelegramSettings(bot_token=SecretStr(DEFAULT_TOKEN)).effective_mode == "polling"
    assert config.method_url("getMe") == f"https://api.telegram.org/bot{DEFAULT_TOKEN}/getMe"
    formatted = config.model_copy(update={"api_base_url": "http://127.0.0.1:8081/bot{token}/test"})
    assert formatted.method_url("getMe") == f"http://127.0.0.1:8081/bot{DEFAULT_TOKEN}/test/getMe"
    with pytest.raises(ValueError, match="A-Z a-z 0-9"):
        TelegramSettings(bot_token=SecretStr(DEFAULT_TOKEN), webhook_secret=SecretStr("no spaces, please"))
    assert config.model_copy(update={"webhook_secret": SecretStr("s_1")}).secret_token("k" * 32) == "s_1"
    secret = config.secret_token("k" * 32)
    assert secret == config.secret_token("k" * 32) != config.secret_token("j" * 32) and len(secret) == 48


@pytest.mark.asyncio
async def test_a_bot_cannot_write_first_and_unknown_chats_are_not_found(sandbox):
    sandbox.user(11, started=False)  # known to Telegram, never opened the bot
    bot = _bot(sandbox)
    async with bot:
        with pytest.raises(Forbidden, match="(?i)bot can.t initiate conversation with a user"):
            await bot.send_message(11, "Здравствуйте!")
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.send_message(12, "Здравствуйте!")
        sandbox.send_text(11, "/start")  # they open the bot: now it may answer
        assert (await bot.send_message(11, "Здравствуйте!")).text == "Здравствуйте!"

    transport = httpx.ASGITransport(app=create_app(sandbox))
    config = TelegramSettings(bot_token=SecretStr(DEFAULT_TOKEN), api_base_url="http://tg/bot")
    sandbox.user(13, started=False)
    sandbox.block(11)
    async with TelegramClient(config, transport=transport) as client:
        reasons = {}
        for chat_id in (11, 12, 13):
            with pytest.raises(TelegramError) as refused:
                await client.send_message(chat_id, "Ау")
            reasons[chat_id] = (refused.value.reason, refused.value.blocked, refused.value.temporary)
    assert reasons == {11: ("blocked", True, False), 12: ("chat_not_found", False, False),
                       13: ("not_started", False, False)}


@pytest.mark.asyncio
async def test_command_menus_are_kept_per_language(sandbox):
    from telegram import BotCommand

    bot = _bot(sandbox)
    async with bot:
        await bot.set_my_commands([BotCommand("start", "Начало"), BotCommand("help", "Справка")])
        await bot.set_my_commands([BotCommand("start", "Start")], language_code="en")
        assert [c.description for c in await bot.get_my_commands()] == ["Начало", "Справка"]
        assert [c.description for c in await bot.get_my_commands(language_code="en")] == ["Start"]
        assert await bot.get_my_commands(language_code="de") == ()  # no list of its own
        with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Not A Command", "x")])
        await bot.delete_my_commands(language_code="en")
    assert sandbox.my_commands("en") == [] and sandbox.my_commands()[0] == {"command": "start", "description": "Начало"}
