"""Webhook mode: POST /api/webhooks/telegram checks the secret (403), the body (400), processes each update once;
bot_runner.py registers the webhook, and says plainly when the bot is not configured."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

import bot_runner
from crystal_bay.api.app import create_api
from crystal_bay.bot import webhook
from crystal_bay.integrations.telegram import WEBHOOK_PATH, TelegramSettings
from crystal_bay.sandbox.telegram import TelegramSandbox, create_app
from crystal_bay.settings import get_settings
from tests.servers import serve

REPO = Path(__file__).resolve().parents[1]
HOOK_URL = f"https://crm.crystalbay.example{WEBHOOK_PATH}"


@pytest.fixture()
def tg(app_db, settings_env):
    sandbox = TelegramSandbox()
    with serve(create_app(sandbox)) as url:
        settings_env(TELEGRAM_BOT_TOKEN=sandbox.token, TELEGRAM_API_BASE_URL=f"{url}/bot", TELEGRAM_WEBHOOK_URL=HOOK_URL)
        yield url, sandbox


def _secret(sandbox: TelegramSandbox) -> str:
    settings = get_settings()
    config = TelegramSettings(bot_token=settings.telegram_bot_token, webhook_url=HOOK_URL)
    return config.secret_token(settings.secret_key.get_secret_value())


def _update(sandbox: TelegramSandbox, chat_id: int, text: str) -> dict:
    """An update as Telegram would POST it (built by the sandbox, then taken out of its queue)."""
    sandbox.user(chat_id, first_name="Ерлан")
    sandbox.send_text(chat_id, text)
    return sandbox.pending.pop()


async def _post(body, headers: dict) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()), base_url="http://backend") as http:
        content = body if isinstance(body, bytes | str) else json.dumps(body)
        return await http.post(WEBHOOK_PATH, content=content, headers={"Content-Type": "application/json", **headers})


@pytest.mark.asyncio
async def test_wrong_or_missing_secret_is_refused_with_403(tg):
    _url, sandbox = tg
    update = _update(sandbox, 881001, "/start")
    assert (await _post(update, {})).status_code == 403
    response = await _post(update, {"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"})
    assert response.status_code == 403 and "Secret-Token" in response.json()["detail"]
    assert sandbox.bot_messages(881001) == []


@pytest.mark.asyncio
@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"message": {}}', b'{"update_id": "7"}',
                                  b'{"update_id": 5, "message": {"text": "no chat"}}'])
async def test_a_body_that_is_not_an_update_is_refused_with_400(tg, body):
    _url, sandbox = tg
    response = await _post(body, {"X-Telegram-Bot-Api-Secret-Token": _secret(sandbox)})
    assert response.status_code == 400, response.text
    assert response.json()["ok"] is False


@pytest.mark.asyncio
async def test_an_update_is_processed_once_even_when_delivered_twice(tg):
    _url, sandbox = tg
    headers = {"X-Telegram-Bot-Api-Secret-Token": _secret(sandbox)}
    update = _update(sandbox, 881002, "/start")
    try:
        first = await _post(update, headers)
        assert first.status_code == 200 and first.json() == {"ok": True}
        await sandbox.wait_for(lambda: len(sandbox.bot_messages(881002)) >= 2)
        again = await _post(update, headers)
        assert again.status_code == 200 and again.json()["duplicate"] is True
        await asyncio.sleep(0.4)
        greetings = [m for m in sandbox.bot_messages(881002) if m.text.startswith("Здравствуйте")]
        assert len(greetings) == 1
    finally:
        await webhook.stop()


@pytest.mark.asyncio
async def test_without_a_token_the_route_says_not_configured(app_db, settings_env):
    settings_env(TELEGRAM_BOT_TOKEN=None)
    response = await _post({"update_id": 1}, {"X-Telegram-Bot-Api-Secret-Token": "x"})
    assert response.status_code == 404 and "not configured" in response.json()["detail"]


def test_bot_runner_without_a_token_says_so_and_exits_non_zero(app_db, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "CRYSTAL_BAY_DEMO": "1", "DATABASE_URL": get_settings().database_url,
           "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "bot_runner.py"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert "not configured" in proc.stderr and "TELEGRAM_BOT_TOKEN" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_bot_runner_registers_the_webhook_with_its_secret(tg, capsys):
    _url, sandbox = tg
    assert bot_runner.main([]) == 0
    assert sandbox.webhook["url"] == HOOK_URL and sandbox.webhook["secret_token"] == _secret(sandbox)
    assert "Webhook set for @crystalbay_sandbox_bot" in capsys.readouterr().out
    assert bot_runner.main(["--delete-webhook"]) == 0
    assert sandbox.webhook is None


@pytest.mark.asyncio
async def test_an_update_not_sent_as_json_is_refused_with_403_like_ptbs_own_server(tg):
    _url, sandbox = tg
    headers = {"X-Telegram-Bot-Api-Secret-Token": _secret(sandbox)}
    update = _update(sandbox, 881003, "/start")
    try:
        for content_type in ("text/plain", "application/x-www-form-urlencoded"):
            response = await _post(update, {**headers, "Content-Type": content_type})
            assert response.status_code == 403 and "application/json" in response.json()["detail"]
        assert sandbox.bot_messages(881003) == []
        charset = await _post(update, {**headers, "Content-Type": "application/json; charset=utf-8"})
        assert charset.status_code == 200 and charset.json() == {"ok": True}
        await sandbox.wait_for(lambda: len(sandbox.bot_messages(881003)) >= 2)
    finally:
        await webhook.stop()


@pytest.mark.asyncio
async def test_the_webhook_bot_sets_its_command_menu_in_both_languages(tg):
    _url, sandbox = tg
    try:
        assert (await _post(_update(sandbox, 881004, "/help"), {"X-Telegram-Bot-Api-Secret-Token": _secret(sandbox)})
                ).status_code == 200
        await sandbox.wait_for(lambda: bool(sandbox.bot_messages(881004)))
    finally:
        await webhook.stop()
    names = ["start", "help", "cancel", "language"]
    assert [c["command"] for c in sandbox.my_commands("en")] == names
    assert sandbox.my_commands("en")[1]["description"] == "What the bot can do"
    assert sandbox.my_commands("ru") == sandbox.my_commands() and sandbox.my_commands()[1]["description"] == \
        "Что умеет бот"  # Russian also for every other language


@pytest.mark.asyncio
async def test_repeats_are_recognised_per_bot_and_old_events_are_pruned(tg, settings_env, monkeypatch):
    import datetime as dt

    from crystal_bay.api import telegram_webhook
    from crystal_bay.db import session_scope
    from crystal_bay.models import WebhookEvent

    url, sandbox = tg
    now = dt.datetime.now(dt.UTC)
    with session_scope() as session:
        for days, key in ((8, "old"), (6, "recent")):
            session.add(WebhookEvent(source="telegram", event_key=f"prune-test-{key}", payload={},
                                     received_at=now - dt.timedelta(days=days)))
    monkeypatch.setattr(telegram_webhook, "_pruned_at", 0.0)
    update = _update(sandbox, 881005, "/start")
    other = TelegramSandbox(token="7000000002:another-sandbox-bot-of-the-same-agency")
    same_id = {**_update(other, 881006, "/start"), "update_id": update["update_id"]}  # another bot's update, same id
    try:
        assert (await _post(update, {"X-Telegram-Bot-Api-Secret-Token": _secret(sandbox)})).json() == {"ok": True}
        await sandbox.wait_for(lambda: len(sandbox.bot_messages(881005)) >= 2)
        with serve(create_app(other)) as other_url:  # the agency switches to another bot; its update ids are its own
            settings_env(TELEGRAM_BOT_TOKEN=other.token, TELEGRAM_API_BASE_URL=f"{other_url}/bot")
            again = await _post(same_id, {"X-Telegram-Bot-Api-Secret-Token": _secret(other)})
            assert again.json() == {"ok": True}  # not taken for a repeat of the first bot's update
            await other.wait_for(lambda: len(other.bot_messages(881006)) >= 2)
            await webhook.stop()
    finally:
        await webhook.stop()
    with session_scope() as session:
        keys = {e.event_key for e in session.exec(select(WebhookEvent).where(WebhookEvent.source == "telegram"))}
    assert "prune-test-old" not in keys and "prune-test-recent" in keys
