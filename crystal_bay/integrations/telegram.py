"""Telegram: the bot's settings schema, a small typed async Bot API client, test_connection(), errors.

The conversation itself runs on python-telegram-bot (`crystal_bay.bot`); this client is for what
happens outside it: the outbox sending a manager's reply, the settings panel's connection test
(getMe + getWebhookInfo) and `bot_runner.py` registering the webhook. Calls are POSTs with
form-encoded fields, as PTB sends them (non-string values JSON-encoded).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator, model_validator

from crystal_bay.integrations.base import (
    ConnectionResult,
    IntegrationError,
    Stopwatch,
    describe_transport_error,
    setting,
)

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
WEBHOOK_PATH = "/api/webhooks/telegram"
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class TelegramError(IntegrationError):
    """The Bot API refused or failed. `status` is the HTTP status (0: no answer), `retry_after` set on 429."""

    def __init__(self, message: str, *, status: int = 0, retry_after: float | None = None, detail: str = "",
                 description: str = ""):
        temporary = status == 0 or status == 429 or status >= 500
        super().__init__(message, detail=detail, temporary=temporary)
        self.status = status
        self.retry_after = retry_after
        self.description = description or message  # Telegram's own words: "Forbidden: bot was blocked by the user"

    @property
    def reason(self) -> str | None:
        """Why a message cannot reach the chat, from Telegram's description: "blocked" (the customer blocked the
        bot), "not_started" (they never started the bot: a bot cannot write first), "deactivated" (the account is
        gone), "chat_not_found"; None for other errors."""
        text = self.description.lower()
        if self.status == 403:
            if "blocked" in text:
                return "blocked"
            if "can't initiate" in text or "cannot initiate" in text:
                return "not_started"
            if "deactivated" in text:
                return "deactivated"
            return "forbidden"
        if self.status == 400 and "chat not found" in text:
            return "chat_not_found"
        return None

    @property
    def blocked(self) -> bool:
        """The customer blocked the bot: sending again will not help until they unblock it."""
        return self.reason == "blocked"


class TelegramSettings(BaseModel):
    """How the customer bot reaches Telegram."""

    model_config = ConfigDict(title="Telegram", extra="forbid")

    bot_token: SecretStr = setting(
        title=("Токен бота", "Bot token"),
        help=("Токен от @BotFather, вида 123456789:AA…", "The token from @BotFather, like 123456789:AA…"),
        env="telegram_bot_token", min_length=10, max_length=200,
    )
    mode: Literal["auto", "polling", "webhook"] = setting(
        "auto", title=("Режим", "Mode"),
        help=("auto — вебхук, если задан адрес вебхука, иначе long polling (python bot_runner.py).",
              "auto: webhook when a webhook URL is set, long polling otherwise (python bot_runner.py)."),
    )
    webhook_url: str | None = setting(
        None, title=("Адрес вебхука", "Webhook URL"),
        help=(f"Публичный HTTPS-адрес бэкенда с путём {WEBHOOK_PATH}, например https://crm.agency.kz{WEBHOOK_PATH}.",
              f"The backend's public HTTPS address with the path {WEBHOOK_PATH}, e.g. "
              f"https://crm.agency.kz{WEBHOOK_PATH}."),
        env="telegram_webhook_url", max_length=500,
    )
    webhook_secret: SecretStr | None = setting(
        None, title=("Секрет вебхука", "Webhook secret"),
        help=("Необязательно: 1–256 символов A-Z a-z 0-9 _ -. Пусто — выводится из SECRET_KEY.",
              "Optional: 1–256 characters A-Z a-z 0-9 _ -. Empty: derived from SECRET_KEY."),
        env="telegram_webhook_secret",
    )
    handoff_hours: int = setting(
        0, title=("Возврат диалога боту, ч", "Hand back to the bot after, h"),
        help=("После «Связаться с менеджером» бот молчит, пока менеджер не вернёт диалог. Если задано — бот снова "
              "отвечает, когда столько часов нет ни запроса, ни ответа менеджера. 0 — только вручную.",
              "After “Contact a manager” the bot is quiet until a manager hands the chat back. If set, the bot answers "
              "again once neither the request nor a manager's reply is that many hours old. 0: by hand only."),
        ge=0, le=720,
    )
    api_base_url: str = setting(
        DEFAULT_API_BASE_URL, title=("Адрес Bot API", "Bot API base URL"),
        help=("Куда бот обращается; к адресу добавляется токен (как base_url в python-telegram-bot).",
              "Where the bot calls; the token is appended (python-telegram-bot's base_url)."),
        env="telegram_api_base_url", min_length=8, max_length=300,
    )

    @field_validator("webhook_url", "api_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http:// for a local server)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not SECRET_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("1–256 characters from A-Z a-z 0-9 _ -")
        return value

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> TelegramSettings:
        if self.mode == "webhook" and not self.webhook_url:
            raise ValueError("webhook mode needs a webhook URL")
        return self

    @property
    def effective_mode(self) -> str:
        """polling or webhook."""
        if self.mode == "auto":
            return "webhook" if self.webhook_url else "polling"
        return self.mode

    def method_url(self, method: str) -> str:
        """The URL of one Bot API method (base URL with the token, PTB's rules)."""
        token = self.bot_token.get_secret_value()
        base = self.api_base_url
        base = base.format(token=token) if "{token}" in base else base + token
        return f"{base}/{method}"

    def secret_token(self, secret_key: str) -> str:
        """The X-Telegram-Bot-Api-Secret-Token the webhook expects: the configured one, or one derived from
        SECRET_KEY and the bot token (stable across restarts, different per bot)."""
        if self.webhook_secret is not None:
            return self.webhook_secret.get_secret_value()
        digest = hmac.new(secret_key.encode(), b"telegram-webhook:" + self.bot_token.get_secret_value().encode(),
                          hashlib.sha256).hexdigest()
        return digest[:48]


def _redact(text: str, config: TelegramSettings) -> str:
    return text.replace(config.bot_token.get_secret_value(), "<token>")


class TelegramClient:
    """A typed async Bot API client for one configuration (one httpx.AsyncClient)."""

    def __init__(self, config: TelegramSettings, *, transport: httpx.AsyncBaseTransport | None = None,
                 timeout_s: float = 15.0):
        self.config = config
        self.timeout_s = timeout_s
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> TelegramClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def call(self, method: str, **params: Any) -> Any:
        """One Bot API call; the `result`, or TelegramError with Telegram's description."""
        form = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                for k, v in params.items() if v is not None}
        url = self.config.method_url(method)
        try:
            response = await self._http.post(url, data=form)
        except httpx.HTTPError as exc:
            message, detail, _code, _params = describe_transport_error(exc, url=_redact(url, self.config),
                                                                      timeout_s=self.timeout_s)
            raise TelegramError(message, detail=_redact(detail, self.config)) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "ok" not in body:
            raise TelegramError(f"Telegram answered HTTP {response.status_code} without a Bot API body.",
                                status=response.status_code or 502, detail=response.text[:500])
        if body.get("ok") and response.status_code < 300:
            return body.get("result")
        retry_after = (body.get("parameters") or {}).get("retry_after")
        description = str(body.get("description") or f"HTTP {response.status_code}")
        raise TelegramError(f"Telegram refused {method}: {description}", status=response.status_code,
                            description=description,
                            retry_after=float(retry_after) if retry_after is not None else None,
                            detail=json.dumps(body, ensure_ascii=False)[:500])

    async def get_me(self) -> dict:
        return await self.call("getMe")

    async def get_webhook_info(self) -> dict:
        return await self.call("getWebhookInfo")

    async def send_message(self, chat_id: int, text: str, **extra: Any) -> dict:
        return await self.call("sendMessage", chat_id=chat_id, text=text, **extra)

    async def set_webhook(self, url: str, *, secret_token: str, allowed_updates: list[str] | None = None,
                          drop_pending_updates: bool = False) -> bool:
        return await self.call("setWebhook", url=url, secret_token=secret_token, allowed_updates=allowed_updates,
                               drop_pending_updates=drop_pending_updates)

    async def delete_webhook(self, *, drop_pending_updates: bool = False) -> bool:
        return await self.call("deleteWebhook", drop_pending_updates=drop_pending_updates)


async def test_connection(config: TelegramSettings, *,
                          transport: httpx.AsyncBaseTransport | None = None) -> ConnectionResult:
    """getMe and getWebhookInfo: the bot's @username, the webhook, pending updates, Telegram's last error."""
    watch = Stopwatch()
    async with TelegramClient(config, transport=transport, timeout_s=10) as client:
        try:
            me = await client.get_me()
            info = await client.get_webhook_info()
        except TelegramError as exc:
            code = "telegram_token_refused" if exc.status in (401, 404) else "telegram_failed"
            message = ("Telegram refused the token: check it in @BotFather." if code == "telegram_token_refused"
                       else exc.message)
            return ConnectionResult(ok=False, latency_ms=watch.ms, message=_redact(message, config),
                                    detail=_redact(exc.detail, config), code=code,
                                    params={"error": _redact(exc.message, config)})
    username = f"@{me.get('username', '')}"
    hook = info.get("url") or ""
    pending = int(info.get("pending_update_count") or 0)
    last_error = str(info.get("last_error_message") or "")
    expected = config.effective_mode
    mode = "webhook" if hook else "polling"
    parts = [f"Connected to {username}", f"webhook {hook}" if hook else "no webhook (long polling)",
             f"{pending} pending updates"]
    if last_error:
        parts.append(f"Telegram's last error: {last_error}")
    if expected != mode:
        parts.append(f"configured for {expected}: run bot_runner.py to apply it")
    ok = not last_error
    return ConnectionResult(
        ok=ok, latency_ms=watch.ms, message="; ".join(parts) + ".", code="telegram_ok" if ok else "telegram_hook_error",
        params={"username": username, "pending": pending, "webhook": hook or "—", "error": last_error or "—",
                "mode": mode},
        detail=json.dumps({"getMe": me, "getWebhookInfo": info}, ensure_ascii=False)[:4000],
    )
