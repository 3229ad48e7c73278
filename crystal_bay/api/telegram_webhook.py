"""POST /api/webhooks/telegram: Telegram's webhook deliveries (webhook mode of the bot).

Checks, as python-telegram-bot's own webhook server does: the body must be sent as `Content-Type:
application/json` (PTB answers 403 otherwise; we do too, and accept parameters such as `; charset=utf-8`),
the `X-Telegram-Bot-Api-Secret-Token` header must match (403 otherwise), the body must be a JSON update
(400 otherwise). Each update is stored in `webhook_events` under "<bot id>:<update_id>" (update ids are
per bot) before it is queued, so a repeated delivery is answered 200 and never processed twice; events
older than KEEP_DAYS are deleted on the way (at most once per PRUNE_EVERY_S per process). The update is
processed by the bot running in this backend (`crystal_bay.bot.webhook`); the route answers at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import json
import logging
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete
from telegram import Update

from crystal_bay.db import session_scope
from crystal_bay.integrations.telegram import WEBHOOK_PATH, TelegramSettings
from crystal_bay.models import WebhookEvent, utcnow
from crystal_bay.settings import get_settings

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])
SOURCE = "telegram"
MAX_BODY = 1024 * 1024
KEEP_DAYS = 7  # Telegram gives up redelivering long before; older events only take space
PRUNE_EVERY_S = 3600
_pruned_at = 0.0


def _config() -> TelegramSettings | None:
    from crystal_bay.services import integrations

    with session_scope() as session:
        try:
            return integrations.load_config(session=session, slug="telegram")  # type: ignore[return-value]
        except integrations.SettingsInvalid:
            return None


def prune(*, now: dt.datetime | None = None) -> int:
    """Delete Telegram's webhook events older than KEEP_DAYS; how many."""
    cutoff = (now or utcnow()) - dt.timedelta(days=KEEP_DAYS)
    with session_scope() as session:
        result = session.exec(delete(WebhookEvent).where(WebhookEvent.source == SOURCE,
                                                         col(WebhookEvent.received_at) < cutoff))
        return result.rowcount or 0


def _first_delivery(bot_id: str, update_id: int, payload: dict) -> bool:
    """Record the update (per bot: update ids are the bot's own); False when it was recorded before (a repeat).
    Old events are pruned now and then on the way."""
    global _pruned_at
    if time.monotonic() - _pruned_at > PRUNE_EVERY_S:
        _pruned_at = time.monotonic()
        try:
            if removed := prune():
                log.info("deleted %s Telegram webhook events older than %s days", removed, KEEP_DAYS)
        except Exception:  # noqa: BLE001 - housekeeping must never refuse an update
            log.exception("old Telegram webhook events could not be deleted")
    try:
        with session_scope() as session:
            session.add(WebhookEvent(source=SOURCE, event_key=f"{bot_id}:{update_id}", payload=payload,
                                     status="processed"))
        return True
    except IntegrityError:
        return False


def _json_content(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json"


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"ok": False, "detail": detail}, status_code=status)


@router.post(WEBHOOK_PATH, summary="Telegram webhook", include_in_schema=True)
async def telegram_webhook(request: Request) -> JSONResponse:
    """One update from Telegram: 403 when not sent as JSON or on a wrong secret, 400 on a bad body, 200 otherwise
    (also for a repeat)."""
    from crystal_bay.bot import webhook

    config = await asyncio.to_thread(_config)
    if config is None:
        return _error(404, "The Telegram bot is not configured.")
    if not _json_content(request):
        return _error(403, "Updates are accepted as Content-Type: application/json only.")
    expected = config.secret_token(get_settings().secret_key.get_secret_value())
    given = request.headers.get("x-telegram-bot-api-secret-token", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return _error(403, "Wrong or missing X-Telegram-Bot-Api-Secret-Token.")
    body = await request.body()
    if len(body) > MAX_BODY:
        return _error(400, "The update is too large.")
    try:
        data = json.loads(body)
    except ValueError:
        return _error(400, "The body is not JSON.")
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return _error(400, "The body is not a Telegram update (no integer update_id).")
    try:
        Update.de_json(data, None)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        return _error(400, f"The body is not a valid Telegram update: {type(exc).__name__}.")
    bot_id = config.bot_token.get_secret_value().split(":", 1)[0]
    if not await asyncio.to_thread(_first_delivery, bot_id, data["update_id"], data):
        log.info("telegram update %s delivered again: ignored", data["update_id"])
        return JSONResponse({"ok": True, "duplicate": True})
    try:
        await webhook.feed(config, data)
    except Exception:  # noqa: BLE001 - Telegram must not retry an update we accepted; the error is logged
        log.exception("telegram update %s could not be queued", data["update_id"])
        return JSONResponse({"ok": True, "queued": False})
    return JSONResponse({"ok": True})
