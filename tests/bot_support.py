"""Running the real bot (python-telegram-bot Application, long polling) against the Telegram sandbox, and a
customer who talks to it through the sandbox — the tests never call a handler themselves."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import random
from collections.abc import AsyncIterator

from telegram.ext import Application

from crystal_bay.bot.app import build_application
from crystal_bay.sandbox.telegram import TelegramSandbox

MONTHS_IN = ("январе", "феврале", "марте", "апреле", "мае", "июне", "июле", "августе", "сентябре", "октябре",
             "ноябре", "декабре")
_chat_ids = itertools.count(random.randint(10_000_000, 90_000_000) * 10)


def new_chat_id() -> int:
    return next(_chat_ids)


def month_ahead(months: int = 3) -> tuple[int, int]:
    """(year, month) a few months from now: always in the future, whatever day the tests run."""
    today = dt.date.today()
    total = today.year * 12 + today.month - 1 + months
    return total // 12, total % 12 + 1


@contextlib.asynccontextmanager
async def running_bot(url: str, sandbox: TelegramSandbox, *, namespace: str = "telegram",
                      backends=None) -> AsyncIterator[Application]:
    """The bot polling the sandbox at `url` until the block ends."""
    app = build_application(token=sandbox.token, base_url=f"{url}/bot", namespace=namespace, backends=backends)
    await app.initialize()
    await app.updater.start_polling(timeout=1, poll_interval=0.0)
    await app.start()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


class Customer:
    """A person in a private chat with the bot."""

    def __init__(self, sandbox: TelegramSandbox, chat_id: int | None = None, *, first_name: str = "Айгерим",
                 language: str = "ru"):
        self.sandbox = sandbox
        self.chat_id = sandbox.user(chat_id or new_chat_id(), first_name=first_name, language_code=language)
        self.last_update_id: int | None = None

    async def _act(self, action, *args, until: str | None = None, timeout: float = 10.0) -> None:
        mark = self.sandbox.chat_activity(self.chat_id)
        self.last_update_id = action(self.chat_id, *args)
        if until is not None:
            await self.sandbox.wait_for(lambda: self.has(until), timeout=timeout)
            await self.sandbox.wait_for_reply(self.chat_id, self.sandbox.chat_activity(self.chat_id) - 1,
                                              timeout=timeout, settle=0.1)
        else:
            await self.sandbox.wait_for_reply(self.chat_id, mark, timeout=timeout, settle=0.15)

    async def say(self, text: str, **kw) -> None:
        await self._act(self.sandbox.send_text, text, **kw)

    async def press(self, button: str, **kw) -> None:
        await self._act(self.sandbox.press, button, **kw)

    async def share_phone(self, phone: str, **kw) -> None:
        await self._act(self.sandbox.share_contact, phone, **kw)

    def texts(self) -> list[str]:
        return [m.text for m in self.sandbox.bot_messages(self.chat_id)]

    def last(self) -> str:
        return self.sandbox.last_bot_text(self.chat_id)

    def buttons(self) -> list[str]:
        """The inline buttons of the newest bot message that has any."""
        for message in reversed(self.sandbox.bot_messages(self.chat_id)):
            if message.buttons():
                return [b["text"] for b in message.buttons()]
        return []

    def has(self, fragment: str) -> bool:
        """Some bot message or button contains the fragment."""
        for message in self.sandbox.bot_messages(self.chat_id):
            if fragment in message.text or any(fragment == b.get("text") or fragment == b.get("callback_data")
                                               for b in message.buttons()):
                return True
        return False
