"""OpenAI: the settings schema, a typed async client created once, and test_connection().

The chat client wraps the official SDK (`openai` 3.x, which talks through httpx2 — tests point
`base_url` at `crystal_bay.sandbox.openai` instead of mocking). `test_connection()` calls
`GET {base_url}/models` with plain httpx: cheap, needs no model, and proves the key is accepted.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
from pydantic import BaseModel, ConfigDict, HttpUrl, SecretStr

from crystal_bay.integrations.base import (
    ClientCache,
    ConnectionResult,
    IntegrationError,
    Stopwatch,
    describe_transport_error,
    setting,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIError(IntegrationError):
    """OpenAI refused or failed (wraps the SDK's errors)."""


class OpenAISettings(BaseModel):
    """How to reach OpenAI (or a compatible endpoint)."""

    model_config = ConfigDict(title="OpenAI", extra="forbid")

    api_key: SecretStr = setting(
        title=("Ключ API", "API key"),
        help=("Секретный ключ из platform.openai.com → API keys (начинается с sk-).",
              "The secret key from platform.openai.com → API keys (starts with sk-)."),
        env="openai_api_key", min_length=8, max_length=300,
    )
    base_url: HttpUrl | None = setting(
        None, title=("Адрес API", "API base URL"),
        help=(f"Пусто — {DEFAULT_BASE_URL}. Для совместимого шлюза укажите адрес с /v1.",
              f"Empty means {DEFAULT_BASE_URL}. For a compatible gateway give its URL including /v1."),
        env="openai_base_url",
    )
    model: str = setting(
        "gpt-4o-mini", title=("Модель", "Model"),
        help=("Модель для ответов клиентам и разбора заявок.", "The model that answers customers and reads inquiries."),
        env="openai_model", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:/-]+$",
    )
    timeout_s: float = setting(
        30.0, title=("Тайм-аут, с", "Timeout, s"),
        help=("Сколько ждать ответа, прежде чем считать запрос неудачным.",
              "How long to wait for an answer before the request counts as failed."),
        ge=1, le=600,
    )

    @property
    def api_base(self) -> str:
        return str(self.base_url or DEFAULT_BASE_URL).rstrip("/")


# --- the chat client ---


class OpenAIClient:
    """A typed async wrapper around the SDK client; one per configuration (see `get_client`)."""

    def __init__(self, config: OpenAISettings):
        self.config = config
        self._sdk = openai.AsyncOpenAI(api_key=config.api_key.get_secret_value(), base_url=config.api_base,
                                       timeout=config.timeout_s, max_retries=2)

    async def complete(self, messages: list[dict[str, str]], *, model: str | None = None,
                       temperature: float = 0.3) -> str:
        """The assistant's reply text to a chat; OpenAIError with plain words when it fails."""
        try:
            response = await self._sdk.chat.completions.create(
                model=model or self.config.model, messages=messages, temperature=temperature)  # type: ignore[arg-type]
        except openai.AuthenticationError as exc:
            raise OpenAIError("The API key was refused by OpenAI.", detail=_sdk_detail(exc)) from exc
        except openai.RateLimitError as exc:
            raise OpenAIError("OpenAI is rate limiting us (or the quota is used up).", detail=_sdk_detail(exc),
                              temporary=True) from exc
        except openai.APITimeoutError as exc:
            raise OpenAIError(f"OpenAI did not answer within {self.config.timeout_s:g} s.", temporary=True) from exc
        except openai.APIConnectionError as exc:
            raise OpenAIError("Could not connect to OpenAI.", detail=str(exc), temporary=True) from exc
        except openai.APIStatusError as exc:
            raise OpenAIError(f"OpenAI answered with an error (HTTP {exc.status_code}).", detail=_sdk_detail(exc),
                              temporary=exc.status_code >= 500) from exc
        return response.choices[0].message.content or ""

    async def aclose(self) -> None:
        await self._sdk.close()


def _sdk_detail(exc: openai.APIStatusError) -> str:
    return json.dumps(exc.body, ensure_ascii=False)[:2000] if exc.body is not None else str(exc)[:2000]


_CLIENTS: ClientCache[OpenAIClient] = ClientCache(OpenAIClient, lambda config: [config.api_key.get_secret_value(), config.api_base, config.model, config.timeout_s])


def get_client(config: OpenAISettings) -> OpenAIClient:
    """The client for this configuration, created on first use and then reused."""
    return _CLIENTS.get(config)


async def close_clients() -> None:
    """Close every client (on shutdown)."""
    await _CLIENTS.close()


# --- the connection test ---


def _error_body(response: httpx.Response) -> tuple[str, str]:
    """(OpenAI's error message, the raw body) of an error answer."""
    raw = response.text[:2000]
    try:
        error = response.json().get("error") or {}
        return str(error.get("message") or ""), raw
    except (ValueError, AttributeError):
        return "", raw


_STATUS_MESSAGES: dict[int, tuple[str, str]] = {
    401: ("key_refused", "The API key was refused: it is wrong, revoked or belongs to another organisation."),
    403: ("forbidden", "Access denied: the key may not use this endpoint (project permissions or region)."),
    404: ("not_found", "Nothing at {url}: check the API base URL (it usually ends with /v1)."),
    429: ("rate_limited", "Too many requests or the quota is used up: check billing and limits at OpenAI."),
}


async def test_connection(config: OpenAISettings) -> ConnectionResult:
    """GET {base_url}/models with the key: ok with the latency, or what went wrong in plain words."""
    url = f"{config.api_base}/models"
    headers = {"Authorization": f"Bearer {config.api_key.get_secret_value()}", "Accept": "application/json"}
    watch = Stopwatch()
    try:
        async with httpx.AsyncClient(timeout=config.timeout_s, follow_redirects=False) as client:
            response = await client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        message, detail, code, params = describe_transport_error(exc, url=url, timeout_s=config.timeout_s)
        return ConnectionResult(ok=False, latency_ms=watch.ms, message=message, detail=detail, code=code,
                                params=params)
    latency = watch.ms
    if response.status_code != 200:
        vendor_message, raw = _error_body(response)
        status = response.status_code
        code, template = _STATUS_MESSAGES.get(status) or (
            ("server_error", "The service is having trouble (HTTP {status}).") if status >= 500
            else ("http_error", "The service refused the request (HTTP {status})."))
        detail = f"HTTP {status} from GET {url}\n{vendor_message or raw}".strip()
        return ConnectionResult(ok=False, latency_ms=latency, message=template.format(url=url, status=status),
                                detail=detail, code=code, params={"url": url, "status": status})
    return _models_result(response, config=config, latency=latency, url=url)


def _models_result(response: httpx.Response, *, config: OpenAISettings, latency: int, url: str) -> ConnectionResult:
    try:
        data: Any = response.json()
        models = [str(m.get("id")) for m in data.get("data", [])]
    except (ValueError, AttributeError, TypeError):
        return ConnectionResult(ok=False, latency_ms=latency, detail=response.text[:2000], code="bad_answer",
                                params={"url": url},
                                message=f"The answer from {url} is not an OpenAI model list: check the API base URL.")
    detail = f"GET {url} → 200, {len(models)} models: {', '.join(models[:20])}"
    params = {"model": config.model, "count": len(models)}
    if config.model not in models:
        return ConnectionResult(ok=True, latency_ms=latency, detail=detail, code="ok_model_missing", params=params,
                                message=f"Connected, but the model {config.model} is not in the list of "
                                        f"{len(models)} models available to this key.")
    return ConnectionResult(ok=True, latency_ms=latency, detail=detail, code="ok_model", params=params,
                            message=f"Connected: the key works and {config.model} is available.")
