"""The OpenAI engine: structured extraction and short texts through the official SDK.

One `AsyncOpenAI` per configuration (see `get_engine`), pointed at `base_url` (the real API, a
compatible gateway, or `crystal_bay.sandbox.openai` in tests and demos), with a 20 s timeout and two
retries (the SDK retries connection errors, 408/409/429 and 5xx, honouring retry-after). Extraction
uses Chat Completions with a pydantic `response_format` (strict JSON schema). Every call — answered or
failed — goes to the usage sink (cost and latency per day). Failures raise `EngineError`; the
interface in `crystal_bay.services.ai` then falls back to the rules engine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import time
import weakref
from collections.abc import Callable

import openai
import phonenumbers
from pydantic import ValidationError

from crystal_bay.integrations.openai import OpenAISettings
from crystal_bay.services.ai import gazetteer, prompts, rules_engine, usage
from crystal_bay.services.ai.schema import AIText, Extraction, InquiryExtraction

TIMEOUT_S = 20.0
MAX_RETRIES = 2
UsageSink = Callable[[usage.CallRecord], None]


class EngineError(Exception):
    """OpenAI did not give a usable answer; `temporary` when trying again later may help."""

    def __init__(self, message: str, *, temporary: bool = False):
        super().__init__(message)
        self.message = message
        self.temporary = temporary


def _describe(exc: Exception) -> EngineError:
    if isinstance(exc, openai.APITimeoutError):
        return EngineError("OpenAI did not answer in time.", temporary=True)
    if isinstance(exc, openai.APIConnectionError):
        return EngineError("Could not connect to OpenAI.", temporary=True)
    if isinstance(exc, openai.RateLimitError):
        return EngineError("OpenAI is rate limiting (HTTP 429).", temporary=True)
    if isinstance(exc, openai.APIStatusError):
        return EngineError(f"OpenAI answered HTTP {exc.status_code}.", temporary=exc.status_code >= 500)
    if isinstance(exc, openai.LengthFinishReasonError):
        return EngineError("OpenAI's answer was cut off (length).")
    if isinstance(exc, openai.ContentFilterFinishReasonError):
        return EngineError("OpenAI's content filter stopped the answer.")
    if isinstance(exc, ValidationError | json.JSONDecodeError):
        return EngineError("OpenAI's answer did not match the schema.")
    return EngineError(f"OpenAI failed: {type(exc).__name__}.")


class OpenAIEngine:
    """Extraction and text operations against one OpenAI configuration."""

    def __init__(self, config: OpenAISettings, *, timeout_s: float | None = None, max_retries: int = MAX_RETRIES,
                 usage_sink: UsageSink | None = None, default_headers: dict[str, str] | None = None):
        self.config = config
        self.model = config.model
        self.usage_sink: UsageSink = usage_sink or usage.log_call
        self._sdk = openai.AsyncOpenAI(
            api_key=config.api_key.get_secret_value(), base_url=config.api_base,
            timeout=timeout_s if timeout_s is not None else min(config.timeout_s, TIMEOUT_S),
            max_retries=max_retries, default_headers=default_headers,
        )

    async def aclose(self) -> None:
        await self._sdk.close()

    def _record(self, operation: str, started: float, *, ok: bool, tokens=None, error: str = "") -> None:
        self.usage_sink(usage.CallRecord(
            operation=operation, model=self.model, ok=ok, latency_ms=round((time.perf_counter() - started) * 1000),
            prompt_tokens=getattr(tokens, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(tokens, "completion_tokens", 0) or 0, error=error))

    async def extract(self, text: str, *, today: dt.date) -> Extraction:
        """The inquiry read by the model into `InquiryExtraction`, normalised like the rules engine's."""
        lang = rules_engine._language(text) or "ru"
        system = prompts.load("extract", lang, today=today.isoformat(),
                              countries=", ".join(gazetteer.country_names()),
                              resorts=", ".join(gazetteer.resort_names()))
        messages = [{"role": "system", "content": system}, {"role": "user", "content": text[:4000]}]
        started = time.perf_counter()
        try:
            completion = await self._sdk.chat.completions.parse(
                model=self.model, messages=messages, response_format=InquiryExtraction, temperature=0)
        except (openai.OpenAIError, ValidationError, json.JSONDecodeError) as exc:
            error = _describe(exc)
            self._record("extract", started, ok=False, error=error.message)
            raise error from exc
        message = completion.choices[0].message
        if message.refusal or message.parsed is None:
            self._record("extract", started, ok=False, tokens=completion.usage, error="refused")
            raise EngineError("OpenAI refused to read the message.")
        self._record("extract", started, ok=True, tokens=completion.usage)
        return _normalise(message.parsed, text)

    async def write(self, operation: str, *, system: str, messages: list[dict[str, str]],
                    language: str = "ru", temperature: float = 0.4) -> AIText:
        """A short text (reply, translation, polish, shortening) from a system prompt and a chat."""
        started = time.perf_counter()
        try:
            completion = await self._sdk.chat.completions.create(
                model=self.model, messages=[{"role": "system", "content": system}, *messages],  # type: ignore[list-item]
                temperature=temperature)
        except openai.OpenAIError as exc:
            error = _describe(exc)
            self._record(operation, started, ok=False, error=error.message)
            raise error from exc
        text = (completion.choices[0].message.content or "").strip()
        if not text or completion.choices[0].finish_reason not in ("stop", None):
            self._record(operation, started, ok=False, tokens=completion.usage, error="empty or cut off")
            raise EngineError("OpenAI gave no usable text.")
        self._record(operation, started, ok=True, tokens=completion.usage)
        return AIText(text=text, engine="openai", language=language)


def _phone(raw: str | None) -> str | None:
    try:
        number = phonenumbers.parse(raw or "", "KZ")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _in(value: int | None, low: int, high: int) -> int | None:
    return value if value is not None and low <= value <= high else None


def _normalise(found: InquiryExtraction, text: str) -> Extraction:
    """The model's answer checked like a manager's input: canonical places, E.164, sane ranges."""
    data = found.model_dump()
    data.update(
        country=gazetteer.canonical(found.country, kind="country"),
        resort=gazetteer.canonical(found.resort, kind="resort"),
        departure_city=gazetteer.canonical(found.departure_city, kind="city"),
        phone=_phone(found.phone), nights_min=_in(found.nights_min, 1, 60), nights_max=_in(found.nights_max, 1, 60),
        adults=_in(found.adults, 1, 20), children=_in(found.children, 0, 10), hotel_stars=_in(found.hotel_stars, 1, 5),
        budget=found.budget if found.budget and 0 < found.budget < 10**12 else None,
        language=found.language if found.language in ("ru", "en") else rules_engine._language(text),
    )
    ages = [a for a in found.children_ages if 0 <= a <= 17]
    data["children_ages"] = ages if data["children"] and len(ages) == data["children"] else []
    if data["date_from"] and data["date_to"] and data["date_to"] < data["date_from"]:
        data["date_to"] = None
    if data["nights_min"] and data["nights_max"] and data["nights_min"] > data["nights_max"]:
        data["nights_max"] = data["nights_min"]
    return Extraction(**data, engine="openai")


# engines per event loop (an SDK client's connection pool belongs to the loop it was used in), per config
_ENGINES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, OpenAIEngine]] = weakref.WeakKeyDictionary()


def get_engine(config: OpenAISettings) -> OpenAIEngine:
    """The engine for this configuration in the running event loop, created on first use and then reused."""
    key = hashlib.sha256(json.dumps([config.api_key.get_secret_value(), config.api_base, config.model,
                                     config.timeout_s]).encode()).hexdigest()
    engines = _ENGINES.setdefault(asyncio.get_running_loop(), {})
    engine = engines.get(key)
    if engine is None:
        engine = engines[key] = OpenAIEngine(config)
    return engine


async def close_engines() -> None:
    """Close the running loop's cached engines (on shutdown, or at the end of a CLI command)."""
    engines = list(_ENGINES.pop(asyncio.get_running_loop(), {}).values())
    for engine in engines:
        await engine.aclose()
