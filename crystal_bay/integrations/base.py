"""The contract every integration follows: a registry entry, a settings schema, test_connection().

An integration module declares:

- a pydantic settings schema whose fields are made with `setting(...)` (Russian and English titles
  and help, the environment variable that overrides the field); `SecretStr` fields are secrets;
- `async def test_connection(config) -> ConnectionResult`, a live check that never raises;
- a typed async client raising its own `IntegrationError` subclass (never a bare vendor error);
- an `IntegrationSpec` added to `crystal_bay.integrations.registry`.

The settings panel renders its card from the spec and the schema alone (`schema_fields`).
"""

from __future__ import annotations

import errno
import hashlib
import json
import socket
import time
import types
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from pydantic import AnyUrl, BaseModel, Field, SecretStr


class IntegrationError(Exception):
    """An external system refused or failed; `message` is plain words, `detail` the raw answer."""

    def __init__(self, message: str, *, detail: str = "", temporary: bool = False):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.temporary = temporary


@dataclass(frozen=True)
class ConnectionResult:
    """What a connection test found: ok or not, how long it took, why in plain words, the raw detail.

    `code` and `params` let the panel say the same in the user's language (i18n key `conn.<code>`);
    `message` is the English text, used when there is no translation.
    """

    ok: bool
    latency_ms: int | None
    message: str
    detail: str = ""
    code: str = ""
    params: dict[str, Any] = field(default_factory=dict)


ConnectionTest = Callable[[Any], Awaitable[ConnectionResult]]


@dataclass(frozen=True)
class IntegrationSpec:
    """A registry entry. `schema=None` means "coming soon": the card shows, nothing can be set."""

    slug: str
    title_ru: str
    title_en: str
    description_ru: str
    description_en: str
    icon: str = "plug"
    schema: type[BaseModel] | None = None
    test_connection: ConnectionTest | None = None

    @property
    def coming_soon(self) -> bool:
        return self.schema is None


def setting(
    default: Any = ..., *, title: tuple[str, str], help: tuple[str, str] = ("", ""), env: str | None = None,
    **constraints: Any,
) -> Any:
    """A schema field with (ru, en) title and help; `env` names the Settings attribute that overrides it."""
    extra = {"title_en": title[1], "help_en": help[1], "env": env}
    return Field(default, title=title[0], description=help[0] or None, json_schema_extra=extra, **constraints)


FieldKind = Literal["text", "secret", "url", "number", "integer", "bool", "select"]


@dataclass(frozen=True)
class SchemaField:
    """One field of a settings schema, as the panel needs it."""

    name: str
    kind: FieldKind
    title_ru: str
    title_en: str
    help_ru: str
    help_en: str
    required: bool
    default: Any
    env: str | None
    choices: tuple[str, ...] = field(default_factory=tuple)

    @property
    def secret(self) -> bool:
        return self.kind == "secret"

    @property
    def env_var(self) -> str:
        return self.env.upper() if self.env else ""


def _kind(annotation: Any) -> tuple[FieldKind, tuple[str, ...]]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _kind(inner[0]) if len(inner) == 1 else ("text", ())
    if origin is Literal:
        return "select", tuple(str(a) for a in typing.get_args(annotation))
    if isinstance(annotation, type):
        if issubclass(annotation, SecretStr):
            return "secret", ()
        if issubclass(annotation, AnyUrl):
            return "url", ()
        if issubclass(annotation, bool):
            return "bool", ()
        if issubclass(annotation, int):
            return "integer", ()
        if issubclass(annotation, float):
            return "number", ()
    return "text", ()


def schema_fields(schema: type[BaseModel]) -> list[SchemaField]:
    """The fields of a settings schema in declaration order, with their kind and texts."""
    fields = []
    for name, info in schema.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        kind, choices = _kind(info.annotation)
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        fields.append(SchemaField(
            name=name, kind=kind, title_ru=info.title or name, title_en=str(extra.get("title_en") or info.title or name),
            help_ru=info.description or "", help_en=str(extra.get("help_en") or ""), required=info.is_required(),
            default=default, env=extra.get("env"), choices=choices,
        ))
    return fields


# --- helpers for test_connection() implementations ---


class Stopwatch:
    """Milliseconds since it was created."""

    def __init__(self) -> None:
        self._started = time.perf_counter()

    @property
    def ms(self) -> int:
        return max(0, round((time.perf_counter() - self._started) * 1000))


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it was raised from (async transports wrap the OSError)."""
    chain, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def describe_transport_error(exc: httpx.HTTPError, *, url: str, timeout_s: float) -> tuple[str, str, str, dict]:
    """(message, detail, code, params) for a request that got no HTTP answer: timeout, refused, DNS, TLS."""
    target = httpx.URL(url)
    where = f"{target.host}:{target.port or (443 if target.scheme == 'https' else 80)}"
    causes = _causes(exc)
    detail = "\n".join(dict.fromkeys(f"{type(c).__name__}: {c}".strip().rstrip(":") for c in causes))
    params = {"where": where, "host": target.host, "timeout": f"{timeout_s:g}"}
    if isinstance(exc, httpx.TimeoutException):
        return f"The service did not answer within {timeout_s:g} s ({where}).", detail, "timeout", params
    text = " ".join(str(c) for c in causes).lower()
    if any(isinstance(c, ConnectionRefusedError) or getattr(c, "errno", None) == errno.ECONNREFUSED for c in causes):
        return (f"Connection refused by {where}: nothing is listening there. Check the address.", detail,
                "conn_refused", params)
    if any(isinstance(c, socket.gaierror) for c in causes) or "name or service not known" in text:
        return f"The host name {target.host} could not be resolved. Check the address.", detail, "dns", params
    if "certificate" in text or "ssl" in text:
        return f"The secure connection to {where} failed (TLS certificate).", detail, "tls", params
    if isinstance(exc, httpx.ConnectError):
        return f"Could not connect to {where}.", detail, "connect_failed", params
    return f"The request to {where} failed before an answer came.", detail, "request_failed", params


class ClientCache[C]:
    """One client per distinct configuration, created on first use and reused; `close()` on shutdown.
    `fingerprint(config)` must cover every value the client is built from (secrets are hashed, never kept)."""

    def __init__(self, factory: Callable[[Any], C], fingerprint: Callable[[Any], list]) -> None:
        self._factory, self._fingerprint = factory, fingerprint
        self._clients: dict[str, C] = {}

    def get(self, config: Any) -> C:
        raw = json.dumps(self._fingerprint(config), default=str)
        key = hashlib.sha256(raw.encode()).hexdigest()
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self._factory(config)
        return client

    async def close(self) -> None:
        clients = list(self._clients.values())
        self._clients.clear()
        for client in clients:
            await client.aclose()  # type: ignore[attr-defined]

