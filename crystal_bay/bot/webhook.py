"""The bot inside the backend for webhook mode: `POST /api/webhooks/telegram` hands updates to an Application
built and started in the backend's event loop on the first update (no polling)."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import Application

from crystal_bay.bot.app import build_application
from crystal_bay.integrations.telegram import TelegramSettings

log = logging.getLogger("crystal_bay.bot")
_RUNNING: dict[int, tuple[str, str, Application]] = {}  # event loop id → (token, base url, application)
_LOCK: dict[int, asyncio.Lock] = {}


async def application(config: TelegramSettings) -> Application:
    """The running Application for this configuration in this event loop (built and started once)."""
    loop_id = id(asyncio.get_running_loop())
    token, base = config.bot_token.get_secret_value(), config.api_base_url
    lock = _LOCK.setdefault(loop_id, asyncio.Lock())
    async with lock:
        running = _RUNNING.get(loop_id)
        if running is not None and running[:2] == (token, base):
            running[2].bot_data["handoff_hours"] = config.handoff_hours  # a setting changed meanwhile
            return running[2]
        if running is not None:
            await _stop(running[2])
        app = build_application(token=token, base_url=base, polling=False, handoff_hours=config.handoff_hours)
        await app.initialize()
        if app.post_init is not None:  # the command menu (run_polling would call it; here we start the app ourselves)
            await app.post_init(app)
        await app.start()
        _RUNNING[loop_id] = (token, base, app)
        log.info("Telegram bot started in webhook mode as @%s", app.bot.username)
        return app


async def feed(config: TelegramSettings, data: dict) -> None:
    """Queue one update from Telegram for processing (the route answers at once)."""
    app = await application(config)
    await app.update_queue.put(Update.de_json(data, app.bot))


async def _stop(app: Application) -> None:
    try:
        await app.stop()
        await app.shutdown()
    except Exception:  # noqa: BLE001 - stopping must not fail the caller
        log.exception("the webhook bot did not stop cleanly")


async def stop() -> None:
    """Stop this event loop's webhook bot (tests, shutdown)."""
    running = _RUNNING.pop(id(asyncio.get_running_loop()), None)
    if running is not None:
        await _stop(running[2])
