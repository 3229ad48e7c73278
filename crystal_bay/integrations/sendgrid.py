"""SendGrid: the settings schema, a typed async v3 client, test_connection(), domain errors.

Inbound mail (Inbound Parse → `api/webhooks_sendgrid.py`) needs only the inbound secret; sending needs
the API key and a verified from address. Protocol (/work/shared/protocols/sendgrid.md): bearer auth
on `https://api.sendgrid.com` (EU accounts: `https://api.eu.sendgrid.com`), `POST /v3/mail/send`
answers 202 with an `X-Message-Id` header, errors are `{"errors": [{"message", "field", "help"}]}`.

The connection test calls `GET /v3/scopes`: it sends nothing, proves the key is accepted and says
whether it may send mail (`mail.send`). That endpoint is not in the protocol notes; it is in SendGrid's
OpenAPI description (sendgrid/sendgrid-oai `spec/paths/security/api_keys.json`: 200
`{"scopes": [...]}`, 401 `{"errors": [{"field": null, "message": "authorization required"}]}`).
Tests talk to `crystal_bay.sandbox.sendgrid` through `transport=httpx.ASGITransport(...)`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, EmailStr, SecretStr, field_validator

from crystal_bay.integrations.base import (
    ClientCache,
    ConnectionResult,
    IntegrationError,
    Stopwatch,
    describe_transport_error,
    setting,
)

DEFAULT_API_BASE_URL = "https://api.sendgrid.com"
SEND_SCOPE = "mail.send"


class SendGridError(IntegrationError):
    """SendGrid refused or failed. `status` is the HTTP status (0: no answer); `errors` SendGrid's error list.

    `kind`: not_configured | auth (401) | forbidden (403) | invalid (400, 413: fix the request) |
    rate_limited (429) | server (5xx) | http (another status) | timeout | connection | malformed.
    """

    def __init__(self, message: str, *, kind: str, status: int = 0, errors: list[dict] | None = None,
                 retry_after: float | None = None, detail: str = ""):
        temporary = kind in ("rate_limited", "server", "timeout", "connection") or status == 408
        super().__init__(message, detail=detail, temporary=temporary)
        self.kind = kind
        self.status = status
        self.errors = errors or []
        self.retry_after = retry_after

    @property
    def fields(self) -> list[str]:
        """The request fields SendGrid named (e.g. `personalizations.0.to`)."""
        return [str(e["field"]) for e in self.errors if e.get("field")]


class SendGridSettings(BaseModel):
    """Inbound Parse and outgoing mail through SendGrid."""

    model_config = ConfigDict(title="SendGrid", extra="forbid")

    inbound_secret: SecretStr = setting(
        title=("Секрет входящей почты", "Inbound Parse secret"),
        help=("Пароль в адресе Inbound Parse: https://parse:<секрет>@<адрес>/api/webhooks/sendgrid/inbound "
              "(или ?secret=<секрет>). От 8 символов; он попадает в адрес — берите латиницу, цифры, - и _.",
              "The password in the Inbound Parse URL: https://parse:<secret>@<host>/api/webhooks/sendgrid/inbound "
              "(or ?secret=<secret>). At least 8 characters; it goes into a URL, so use letters, digits, - and _."),
        env="sendgrid_inbound_secret", min_length=8, max_length=200,
    )
    api_key: SecretStr | None = setting(
        None, title=("Ключ API (отправка писем)", "API key (sending)"),
        help=("Пока необязательно. SendGrid → Settings → API Keys, право Mail Send; начинается с SG.",
              "Optional for now. SendGrid → Settings → API Keys with the Mail Send permission; starts with SG."),
        env="sendgrid_api_key", min_length=10, max_length=300,
    )
    from_email: EmailStr | None = setting(
        None, title=("Адрес отправителя", "From address"),
        help=("Подтверждённый в SendGrid адрес или домен, например tours@crystalbay.kz.",
              "An address (or domain) verified in SendGrid, e.g. tours@crystalbay.kz."),
        env="sendgrid_from_email", max_length=254,
    )
    from_name: str | None = setting(
        None, title=("Имя отправителя", "From name"),
        help=("Как клиент видит отправителя, например «Crystal Bay Travel».",
              "How customers see the sender, e.g. \"Crystal Bay Travel\"."),
        max_length=100,
    )
    api_base_url: str = setting(
        DEFAULT_API_BASE_URL, title=("Адрес API", "API base URL"),
        help=("https://api.sendgrid.com; для аккаунтов в регионе EU — https://api.eu.sendgrid.com.",
              "https://api.sendgrid.com; for EU regional accounts https://api.eu.sendgrid.com."),
        min_length=8, max_length=300,
    )
    timeout_s: float = setting(
        15.0, title=("Тайм-аут, с", "Timeout, s"),
        help=("Сколько ждать ответа SendGrid.", "How long to wait for SendGrid to answer."), ge=1, le=120,
    )

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http:// for a local server)")
        return value

    @property
    def api_base(self) -> str:
        return self.api_base_url.rstrip("/")


@dataclass(frozen=True)
class OutgoingMail:
    """One e-mail to one recipient (text and/or HTML; SendGrid wants text/plain before text/html)."""

    to_email: str
    subject: str
    text: str = ""
    html: str = ""
    to_name: str = ""
    reply_to: str = ""
    custom_args: dict[str, str] = field(default_factory=dict)

    def body(self, config: SendGridSettings, *, sandbox_mode: bool = False) -> dict[str, Any]:
        """The /v3/mail/send request body."""
        if not config.from_email:
            raise SendGridError("No from address is configured for SendGrid.", kind="not_configured")
        to = {"email": self.to_email, **({"name": self.to_name} if self.to_name else {})}
        sender = {"email": str(config.from_email), **({"name": config.from_name} if config.from_name else {})}
        content = [{"type": t, "value": v} for t, v in (("text/plain", self.text), ("text/html", self.html)) if v]
        body: dict[str, Any] = {"personalizations": [{"to": [to]}], "from": sender, "subject": self.subject,
                                "content": content}
        if self.reply_to:
            body["reply_to"] = {"email": self.reply_to}
        if self.custom_args:
            body["custom_args"] = dict(self.custom_args)
        if sandbox_mode:
            body["mail_settings"] = {"sandbox_mode": {"enable": True}}
        return body


@dataclass(frozen=True)
class SentMail:
    """SendGrid accepted the mail: `message_id` (X-Message-Id) matches the Event Webhook's sg_message_id."""

    status: int
    message_id: str


def _redact(text: str, config: SendGridSettings) -> str:
    key = config.api_key.get_secret_value() if config.api_key else ""
    return text.replace(key, "<api key>") if key else text


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from Retry-After, else SendGrid's X-RateLimit-Reset (a unix time)."""
    value = response.headers.get("retry-after") or ""
    if value.replace(".", "", 1).isdigit():
        return float(value)
    reset = response.headers.get("x-ratelimit-reset") or ""
    return max(0.0, float(reset) - time.time()) if reset.isdigit() else None


_KINDS = {400: "invalid", 401: "auth", 403: "forbidden", 413: "invalid", 429: "rate_limited"}
_TEXTS = {
    "invalid": "SendGrid refused the request",
    "auth": "SendGrid refused the API key (wrong, revoked or deleted)",
    "forbidden": "SendGrid denied access (the key lacks a permission, or the account is blocked)",
    "rate_limited": "SendGrid is rate limiting us",
    "server": "SendGrid is having trouble",
}


class SendGridClient:
    """A typed async client of SendGrid's v3 API for one configuration (one httpx.AsyncClient)."""

    def __init__(self, config: SendGridSettings, *, transport: httpx.AsyncBaseTransport | None = None):
        if config.api_key is None:
            raise SendGridError("No SendGrid API key is configured.", kind="not_configured")
        self.config = config
        self._http = httpx.AsyncClient(
            base_url=f"{config.api_base}/v3", timeout=config.timeout_s, transport=transport, follow_redirects=False,
            headers={"Authorization": f"Bearer {config.api_key.get_secret_value()}", "Accept": "application/json",
                     "User-Agent": "crystal-bay-crm"})

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> SendGridClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _request(self, method: str, path: str, *, body: dict | None = None) -> httpx.Response:
        """One call; the 2xx response, or SendGridError with SendGrid's own error list."""
        url = f"{self.config.api_base}/v3{path}"
        try:
            response = await self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            message, detail, code, _ = describe_transport_error(exc, url=url, timeout_s=self.config.timeout_s)
            raise SendGridError(message, kind="timeout" if code == "timeout" else "connection",
                                detail=_redact(detail, self.config)) from exc
        if response.is_success:
            return response
        status = response.status_code
        try:
            errors = [e for e in response.json().get("errors", []) if isinstance(e, dict)]
        except (ValueError, AttributeError):
            errors = []
        kind = _KINDS.get(status) or ("server" if status >= 500 else "http")
        said = "; ".join(str(e.get("message") or "") + (f" ({e['field']})" if e.get("field") else "")
                         for e in errors)
        text = _TEXTS.get(kind, "SendGrid answered with an error")
        raise SendGridError(f"{text} (HTTP {status}){': ' + said if said else '.'}", kind=kind, status=status,
                            errors=errors, retry_after=_retry_after(response) if status == 429 else None,
                            detail=_redact(f"HTTP {status} from {method} {url}\n{response.text[:2000]}", self.config))

    async def scopes(self) -> list[str]:
        """The permissions of the key (GET /v3/scopes)."""
        response = await self._request("GET", "/scopes")
        try:
            scopes = response.json()["scopes"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SendGridError("SendGrid's answer to GET /v3/scopes is not a scope list: check the API base URL.",
                                kind="malformed", status=response.status_code, detail=response.text[:2000]) from exc
        return [str(s) for s in scopes] if isinstance(scopes, list) else []

    async def send(self, mail: OutgoingMail, *, sandbox_mode: bool = False) -> SentMail:
        """POST /v3/mail/send: SentMail with the X-Message-Id, or SendGridError naming the refused fields."""
        response = await self._request("POST", "/mail/send", body=mail.body(self.config, sandbox_mode=sandbox_mode))
        return SentMail(status=response.status_code, message_id=response.headers.get("x-message-id", ""))


_CLIENTS: ClientCache[SendGridClient] = ClientCache(SendGridClient, lambda config: [config.api_key.get_secret_value() if config.api_key else "", config.api_base, config.timeout_s,
                      str(config.from_email or ""), config.from_name or ""])


def get_client(config: SendGridSettings) -> SendGridClient:
    """The client for this configuration, created on first use and then reused."""
    return _CLIENTS.get(config)


async def close_clients() -> None:
    """Close every client (on shutdown)."""
    await _CLIENTS.close()


async def test_connection(config: SendGridSettings, *,
                          transport: httpx.AsyncBaseTransport | None = None) -> ConnectionResult:
    """The inbound secret is set (the schema requires it); with an API key, GET /v3/scopes checks the key."""
    if config.api_key is None:
        return ConnectionResult(
            ok=True, latency_ms=None, code="sendgrid_inbound_only",
            message="The inbound secret is set: SendGrid can post inbound mail. No API key, so sending is not set up.")
    watch = Stopwatch()
    try:
        async with SendGridClient(config, transport=transport) as client:
            scopes = await client.scopes()
    except SendGridError as exc:
        code = {"auth": "sendgrid_key_refused", "forbidden": "sendgrid_forbidden", "rate_limited": "rate_limited",
                "server": "server_error", "timeout": "timeout", "connection": "connect_failed",
                "malformed": "sendgrid_bad_answer"}.get(exc.kind, "http_error")
        params = {"status": exc.status, "url": f"{config.api_base}/v3/scopes", "where": config.api_base,
                  "timeout": f"{config.timeout_s:g}"}
        return ConnectionResult(ok=False, latency_ms=watch.ms, message=exc.message, detail=exc.detail, code=code,
                                params=params)
    latency = watch.ms
    detail = f"GET {config.api_base}/v3/scopes → 200, {len(scopes)} scopes: {', '.join(sorted(scopes)[:40])}"
    params = {"count": len(scopes), "sender": str(config.from_email or "—")}
    if SEND_SCOPE not in scopes:
        return ConnectionResult(ok=False, latency_ms=latency, detail=detail, code="sendgrid_no_mail_send",
                                params=params, message="The key is accepted but may not send mail: give it the "
                                                       "Mail Send permission in SendGrid → Settings → API Keys.")
    if not config.from_email:
        return ConnectionResult(ok=True, latency_ms=latency, detail=detail, code="sendgrid_ok_no_from", params=params,
                                message="Connected: the key may send mail. Set the from address before sending.")
    return ConnectionResult(ok=True, latency_ms=latency, detail=detail, code="sendgrid_ok", params=params,
                            message=f"Connected: the key may send mail from {config.from_email}.")
