"""The dashboard's "Bot preview" (demo mode): the real bot, polling an in-process Telegram sandbox.

No token and no network: `crystal_bay.sandbox.telegram` plays Telegram inside the backend, the bot's
Application (the same code as in production, namespace "preview") long-polls it through an ASGI
transport, and the preview page plays the customer through the sandbox's test-side API. Leads it
creates are real leads in the app's database (their customers get no Telegram id); a manager's reply
to such a lead is delivered to the preview chat by the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import httpx
from pydantic import SecretStr
from telegram.ext import Application

from crystal_bay.bot.app import build_application
from crystal_bay.integrations.telegram import TelegramSettings
from crystal_bay.sandbox.telegram import TelegramSandbox, create_app

log = logging.getLogger("crystal_bay.bot")
NAMESPACE = "preview"
BASE_URL = "http://telegram-sandbox/bot"
CHAT_BASE = 700_000  # preview chat id = CHAT_BASE + the dashboard user's id
DEMO_PHONE = "+77011234567"


@dataclass(frozen=True)
class Line:
    """One message of the preview chat, as the page shows it."""

    message_id: int
    from_bot: bool
    text: str
    buttons: list[list[dict]]  # rows of {"text", "data"}


class PreviewRuntime:
    """One sandbox and one polling bot per backend process (started on first use)."""

    def __init__(self) -> None:
        self.sandbox = TelegramSandbox()
        self.asgi = create_app(self.sandbox)
        self.app: Application | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()

    def transport(self) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=self.asgi)

    async def ensure_started(self) -> None:
        loop = asyncio.get_running_loop()
        if self.app is not None and self.loop is loop:
            return
        async with self._lock:
            if self.app is not None and self.loop is loop:
                return
            app = build_application(token=self.sandbox.token, base_url=BASE_URL, namespace=NAMESPACE,
                                    transport=self.transport())
            await app.initialize()
            if app.post_init is not None:  # the command menu, as run_polling would set it
                await app.post_init(app)
            await app.updater.start_polling(timeout=10, poll_interval=0.0)
            await app.start()
            self.app, self.loop = app, loop
            log.info("bot preview started (sandbox bot @%s)", app.bot.username)

    async def stop(self) -> None:
        if self.app is None:
            return
        app, self.app = self.app, None
        await app.updater.stop()
        await app.stop()
        await app.shutdown()

    @staticmethod
    def chat_id(user_id: int) -> int:
        return CHAT_BASE + user_id

    def join(self, user_id: int, first_name: str, language: str) -> int:
        return self.sandbox.user(self.chat_id(user_id), first_name=first_name, language_code=language)

    def lines(self, chat_id: int) -> list[Line]:
        out = []
        for m in self.sandbox.messages(chat_id):
            rows = (m.reply_markup or {}).get("inline_keyboard") or []
            text = m.text or (f"📱 {m.contact['phone_number']}" if m.contact else "")
            out.append(Line(message_id=m.message_id, from_bot=m.from_bot, text=text,
                            buttons=[[{"text": b.get("text", ""), "data": b.get("callback_data", "")} for b in row]
                                     for row in rows]))
        return out

    def reply_buttons(self, chat_id: int) -> list[dict]:
        """The custom keyboard under the input ({"text", "contact": bool}), if the bot showed one."""
        keyboard = self.sandbox.reply_keyboard(chat_id) or {}
        return [{"text": b.get("text", ""), "contact": bool(b.get("request_contact"))}
                for row in keyboard.get("keyboard") or [] for b in row]

    async def act(self, chat_id: int, *, text: str | None = None, button: str | None = None,
                  message_id: int | None = None, contact: str | None = None, timeout: float = 15.0) -> None:
        """Play the customer, then wait until the bot has answered (or the timeout passed)."""
        await self.ensure_started()
        mark = self.sandbox.chat_activity(chat_id)
        if text is not None:
            self.sandbox.send_text(chat_id, text)
        elif button is not None:
            self.sandbox.press(chat_id, button, message_id=message_id)
        elif contact is not None:
            self.sandbox.share_contact(chat_id, contact)
        try:
            await self.sandbox.wait_for_reply(chat_id, mark, timeout=timeout, settle=0.25)
        except TimeoutError:
            log.info("preview chat %s: the bot did not answer within %s s (paused, or still working)", chat_id, timeout)


_RUNTIME: PreviewRuntime | None = None


def runtime() -> PreviewRuntime:
    global _RUNTIME
    if _RUNTIME is None:
        _RUNTIME = PreviewRuntime()
    return _RUNTIME


async def delivery_target() -> tuple[TelegramSettings, httpx.AsyncBaseTransport]:
    """Where the outbox sends a manager's reply to a preview chat: the running preview sandbox."""
    rt = runtime()
    await rt.ensure_started()
    return TelegramSettings(bot_token=SecretStr(rt.sandbox.token), api_base_url=BASE_URL), rt.transport()
