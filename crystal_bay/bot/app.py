"""Wiring: the python-telegram-bot Application with our handlers, persistence, flood control and per-chat order.

- Updates of different chats are processed concurrently (up to MAX_CONCURRENT), updates of one chat one after
  the other (`PerChatUpdateProcessor`): a slow operator search or a flood-control wait in one chat never holds
  up the others, and one customer's quick taps never race each other.
- `PatientRateLimiter` honours Telegram's 429 `retry_after` (waits and retries, up to MAX_RETRY_WAIT_S).
- `DatabasePersistence` keeps chat data and the conversation state in the database; in webhook mode (no polling) it
  re-reads a chat's state before each of its updates, so several backend workers can serve one bot.
- `set_commands` (the post-init hook) lists /start, /help, /cancel, /language in Telegram's command menu, in
  Russian (the default) and English.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import httpx
from telegram import BotCommand, Update
from telegram.error import RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBUserWarning

from crystal_bay.bot import booking, common, search, states
from crystal_bay.bot.backends import Backends
from crystal_bay.bot.backends import default as default_backends
from crystal_bay.bot.persistence import DatabasePersistence
from crystal_bay.bot.texts import t

log = logging.getLogger("crystal_bay.bot")
MAX_CONCURRENT = 256  # updates processed at once (different chats)
MAX_CONNECTIONS = 32  # HTTP connections to the Bot API
MAX_RETRY_WAIT_S = 30.0
MAX_RETRIES = 3
POLL_TIMEOUT_S = 10
KEEPALIVE_S = 2.5
COMMANDS = ("start", "help", "cancel", "language")  # shown in Telegram's menu; they work in every state


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats, in order within a chat."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT):
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock, users = self._locks.get(chat.id, (asyncio.Lock(), 0))
        self._locks[chat.id] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._locks[chat.id]
            if users <= 1:
                del self._locks[chat.id]
            else:
                self._locks[chat.id] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""


def _seconds(value: int | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class PatientRateLimiter(BaseRateLimiter[None]):
    """Calls go out at once; a 429 makes this call wait `retry_after` and try again (other chats go on)."""

    def __init__(self, *, max_retries: int = MAX_RETRIES, max_wait_s: float = MAX_RETRY_WAIT_S):
        self.max_retries = max_retries
        self.max_wait_s = max_wait_s

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: None) -> Any:
        for attempt in range(self.max_retries + 1):
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = _seconds(exc._retry_after)  # noqa: SLF001 - the public property warns about its type
                if attempt >= self.max_retries or wait > self.max_wait_s:
                    raise
                log.warning("Telegram flood control on %s (chat %s): waiting %.1f s, then retrying", endpoint,
                            data.get("chat_id"), wait)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")


def conversation() -> ConversationHandler:
    """The one conversation: states → handlers; commands, the menu and free text work in every state."""
    new = filters.UpdateType.MESSAGE  # edited messages are not answers
    text = filters.TEXT & ~filters.COMMAND & new
    number = filters.Regex(r"^\s*\d{1,3}\s*$") & new
    amount = filters.Regex(r"^\s*\d[\d\s.,]*\s*$") & new

    def cq(callback, pattern: str) -> CallbackQueryHandler:
        return CallbackQueryHandler(callback, pattern=pattern)

    def step(*handlers, back=True, name: str = "") -> list:
        tail = [cq(search.back(name), r"^back$")] if back else []
        return [*handlers, *tail, cq(common.cancel, r"^cancel$")]

    anywhere = [
        CommandHandler("start", common.start),
        CommandHandler("cancel", common.cancel),
        CommandHandler("help", common.help_command),
        CommandHandler("language", common.language),
        cq(common.menu_action, r"^m:"),
        cq(common.set_language, r"^lang:(ru|en)$"),
        cq(common.resume, r"^resume$"),
        cq(booking.want, r"^want:\d+$"),
        cq(search.more, r"^more$"),
        cq(search.edit_field, r"^edit:\w+$"),
        cq(common.cancel, r"^cancel$"),
        MessageHandler(text, search.free_text),
        cq(common.stale_button, r".*"),
    ]
    # Buttons in a per-chat conversation are expected: PTB's warning about per_message tracking does not apply.
    warnings.filterwarnings("ignore", message=".*per_message.*", category=PTBUserWarning)
    return ConversationHandler(
        entry_points=anywhere,
        states={
            states.MENU: [],
            states.DEPARTURE: step(cq(search.pick_departure, r"^dep:\d+$"), cq(search.page, r"^pg:dep:\d+$"),
                                   name=states.DEPARTURE),
            states.COUNTRY: step(cq(search.pick_country, r"^cty:\d+$"), cq(search.page, r"^pg:cty:\d+$"),
                                 name=states.COUNTRY),
            states.DATES: step(cq(search.pick_month, r"^mon:\d{4}-\d{2}$"), name=states.DATES),
            states.NIGHTS: step(cq(search.pick_nights, r"^ngt:\d+-\d+$"),
                                MessageHandler(number, search.typed_number(states.NIGHTS)), name=states.NIGHTS),
            states.ADULTS: step(cq(search.pick_adults, r"^adl:\d$"),
                                MessageHandler(number, search.typed_number(states.ADULTS)), name=states.ADULTS),
            states.CHILDREN: step(cq(search.pick_children, r"^chn:\d$"),
                                  MessageHandler(number, search.typed_number(states.CHILDREN)), name=states.CHILDREN),
            states.CHILD_AGE: step(cq(search.pick_age, r"^age:\d+$"),
                                   MessageHandler(number, search.typed_number(states.CHILD_AGE)),
                                   name=states.CHILD_AGE),
            states.BUDGET: step(cq(search.pick_budget, r"^bud:\d+(:[A-Z]{3})?$"),
                                MessageHandler(amount, search.typed_number(states.BUDGET)), name=states.BUDGET),
            states.SUMMARY: step(cq(search.go, r"^go$"), cq(search.edit, r"^edit$"), name=states.SUMMARY),
            states.EDIT: step(cq(search.edit_field, r"^edit:\w+$"), name=states.EDIT),
            states.RESULTS: step(cq(search.edit, r"^edit$"), name=states.RESULTS),
            states.BOOK_NAME: [cq(booking.name_from_telegram, r"^name:tg$"), MessageHandler(text, booking.typed_name),
                               cq(booking.back(states.BOOK_NAME), r"^back$"), cq(common.cancel, r"^cancel$")],
            states.BOOK_PHONE: [MessageHandler(filters.CONTACT & new, booking.shared_contact),
                                MessageHandler(text, booking.typed_phone), cq(common.cancel, r"^cancel$")],
            states.BOOK_COMMENT: [cq(booking.skip_comment, r"^skip$"), MessageHandler(text, booking.typed_comment),
                                  cq(booking.back(states.BOOK_COMMENT), r"^back$"), cq(common.cancel, r"^cancel$")],
            states.BOOK_CONFIRM: [cq(booking.send_request, r"^send$"),
                                  cq(booking.back(states.BOOK_CONFIRM), r"^back$"), cq(common.cancel, r"^cancel$")],
        },
        fallbacks=anywhere,
        name=states.CONVERSATION,
        persistent=True,
        per_chat=True,
        per_user=True,
        per_message=False,
        allow_reentry=False,
    )


def register_handlers(app: Application) -> ConversationHandler:
    """The gate, the conversation, persisting after each update, the error handler; returns the conversation."""
    app.add_handler(TypeHandler(Update, common.gate), group=-1)
    app.add_handler(main := conversation(), group=0)
    app.add_handler(TypeHandler(Update, common.persist), group=1)
    app.add_error_handler(common.on_error)
    return main


async def set_commands(app: Application) -> None:
    """Post-init: the commands in Telegram's menu — Russian for everyone, English for English-speaking users.
    A failure is logged; the bot works without the menu."""
    def commands(lang: str) -> list[BotCommand]:
        return [BotCommand(name, t(lang, f"command.{name}")) for name in COMMANDS]

    try:
        await app.bot.set_my_commands(commands("ru"))
        await app.bot.set_my_commands(commands("ru"), language_code="ru")
        await app.bot.set_my_commands(commands("en"), language_code="en")
    except TelegramError as exc:
        log.warning("could not set the bot's command menu: %s", exc)


def _file_url(base_url: str) -> str | None:
    return base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else None


def build_application(*, token: str, base_url: str = "https://api.telegram.org/bot", namespace: str = "telegram",
                      transport: httpx.AsyncBaseTransport | None = None, backends: Backends | None = None,
                      persistence: DatabasePersistence | None = None, polling: bool = True,
                      handoff_hours: int = 0) -> Application:
    """The bot as a PTB Application pointed at any Bot API server (`base_url` in PTB's form: the token is
    appended). `transport` lets it talk to an in-process server (the dashboard's preview). `handoff_hours`: after
    a handoff, the bot answers again once neither the handoff nor a manager's message is that recent (0: never).
    `run_polling` runs the post-init hook (`set_commands`); whoever starts the Application otherwise calls
    `app.post_init(app)` after `initialize()`."""
    extra = {"transport": transport} if transport is not None else {}
    # Idle connections are dropped before a server's usual 5 s keep-alive ends, so a reply never goes out on a
    # connection the server is closing at that moment (httpx's default is also 5 s: a race under load).
    # A modest pool: httpcore scans every pooled connection on each request, so a pool of hundreds costs more CPU
    # than it saves; 32 connections carry far more than Telegram's ~30 messages/s per bot.
    limits = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS,
                          keepalive_expiry=KEEPALIVE_S)
    # Long polling has one consumer per bot (Telegram refuses a second getUpdates), so state is shared with no one;
    # webhook mode may run in several backend workers: each re-reads a chat's state before its update.
    persistence = persistence or DatabasePersistence(namespace, shared=not polling)
    builder = (
        ApplicationBuilder().token(token).base_url(base_url)
        .request(HTTPXRequest(connection_pool_size=MAX_CONNECTIONS, read_timeout=15, write_timeout=15,
                              connect_timeout=10, pool_timeout=30, httpx_kwargs={**extra, "limits": limits}))
        .get_updates_request(HTTPXRequest(connection_pool_size=2, read_timeout=POLL_TIMEOUT_S + 10,
                                          connect_timeout=10, httpx_kwargs=extra or None))
        .concurrent_updates(PerChatUpdateProcessor())
        .rate_limiter(PatientRateLimiter())
        .persistence(persistence)
        .post_init(set_commands)
        .arbitrary_callback_data(False)
        .job_queue(None)  # no timed jobs in the bot (the app's scheduler runs those)
    )
    if (file_url := _file_url(base_url)) is not None:
        builder = builder.base_file_url(file_url)
    if not polling:
        builder = builder.updater(None)
    app = builder.build()
    app.bot_data["namespace"] = namespace
    app.bot_data["backends"] = backends or default_backends()
    app.bot_data["handoff_hours"] = handoff_hours
    persistence.watch(register_handlers(app))
    return app
