"""Request plumbing shared by the API routes: API-key auth with scopes, rate limits, bounded bodies.

- API key: `Authorization: Bearer <key>` or `X-API-Key: <key>`. No or unknown/revoked key → 401;
  a key without the route's scope → 403. Then the key's rate limit (429 + Retry-After).
- Bodies are read with a limit: a Content-Length over it is refused at once (413), and the
  stream is counted too (a body that lies about its length, or sends none, gets 413 as well).
- JSON bodies must be `application/json` (415 otherwise) and are validated in pydantic's JSON
  mode: strict types, unknown fields refused.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from crystal_bay.api import ratelimit
from crystal_bay.api.errors import ApiError, validation_error
from crystal_bay.db import session_scope
from crystal_bay.services import api_keys
from crystal_bay.services.audit import Actor
from crystal_bay.settings import get_settings

MAX_JSON_BODY = 1024 * 1024  # 1 MiB
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,100}$")


@dataclass(frozen=True)
class Caller:
    """The API key a request came with."""

    key_id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]

    @property
    def actor(self) -> Actor:
        return Actor(type="api", id=self.key_id, label=f"API: {self.name}")


def raw_api_key(request: Request) -> str | None:
    """The key from `Authorization: Bearer ...` or `X-API-Key`."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key") or None


def rate_limit(key: str, per_minute: int) -> None:
    """Take a token from the bucket `key`, or refuse with 429 and Retry-After."""
    decision = ratelimit.limiter(get_settings().redis_url).hit(key, per_minute)
    if not decision.allowed:
        raise ApiError(429, "rate_limited", f"Too many requests: the limit is {per_minute} per minute.",
                       headers={"Retry-After": str(decision.retry_after_s)})


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="crystal-bay"'})


def _verify(raw: str) -> Caller | None:
    with session_scope() as session:
        key = api_keys.verify_api_key(session=session, raw_key=raw)
        return key and Caller(key_id=key.id, name=key.name, prefix=key.prefix, scopes=tuple(key.scopes or ()))


def require_scope(scope: str) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency: the request's live API key, which must have `scope`, within its rate limit. A key verified
    in the last few seconds is answered from memory (`api_keys.cached_key`); otherwise the database is asked in
    a worker thread."""

    async def dependency(request: Request) -> Caller:
        raw = raw_api_key(request)
        if raw is None:
            raise _unauthorized("Send an API key: Authorization: Bearer <key>, or X-API-Key: <key>.")
        cached = api_keys.cached_key(raw)
        if cached is not None:
            caller = Caller(key_id=cached.id, name=cached.name, prefix=cached.prefix, scopes=cached.scopes)
        else:
            caller = await run_in_threadpool(_verify, raw)
        if caller is None:
            raise _unauthorized("The API key is unknown or revoked.")
        if scope not in caller.scopes:
            raise ApiError(403, "insufficient_scope", f"This API key lacks the {scope!r} scope.")
        settings = get_settings()
        if settings.redis_url:  # a network call: off the event loop
            await run_in_threadpool(rate_limit, f"key:{caller.key_id}", settings.api_rate_limit_per_minute)
        else:
            rate_limit(f"key:{caller.key_id}", settings.api_rate_limit_per_minute)
        return caller

    return dependency


async def idempotency_key(request: Request) -> str | None:
    """The optional Idempotency-Key header (1–100 printable ASCII characters)."""
    value = request.headers.get("idempotency-key")
    if value is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise ApiError(422, "invalid_idempotency_key", "Idempotency-Key must be 1–100 printable ASCII characters.",
                       field="Idempotency-Key")
    return value


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "bad_content_length", "Content-Length is not a number.")
        if int(declared) > limit:
            raise ApiError(413, "payload_too_large", f"The body exceeds {limit} bytes.")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, "payload_too_large", f"The body exceeds {limit} bytes.")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "client_disconnected", "The client went away before sending the whole body.") from None
    return b"".join(chunks)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def parse_json[M: BaseModel](model: type[M], raw: bytes) -> M:
    """The body validated as `model` (strict JSON mode), or 400/422 naming the problem."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise validation_error(exc.errors(include_input=False)) from None


def json_body[M: BaseModel](model: type[M], limit: int = MAX_JSON_BODY) -> Callable[[Request], Any]:
    """A dependency: the request's JSON body as `model`."""

    async def dependency(request: Request) -> M:
        kind = media_type(request)
        if kind != "application/json" and not kind.endswith("+json"):
            raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
        return parse_json(model, await read_body(request, limit))

    return dependency


def _inline_refs(node: Any, defs: dict) -> Any:
    """The schema with local `#/$defs/...` references replaced by their definitions (none are recursive)."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


def body_doc(model: type[BaseModel], *, content_type: str = "application/json") -> dict:
    """OpenAPI `requestBody` for a route that reads its body itself."""
    schema = model.model_json_schema()
    schema = _inline_refs(schema, schema.get("$defs", {}))
    return {"requestBody": {"required": True, "content": {content_type: {"schema": schema}}}}


def client_address(request: Request) -> str:
    """The client's address (behind a proxy: run uvicorn/granian with the proxy headers trusted)."""
    return request.client.host if request.client else "unknown"
