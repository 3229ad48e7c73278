"""A local fake of the OpenAI HTTP API (GET /v1/models, POST /v1/chat/completions).

Speaks the wire format in /work/shared/protocols/openai.md: bearer auth (any key starting with
"sk-" is accepted, anything else gets OpenAI's 401 error body), JSON answers with an
`x-request-id` header, deterministic replies. Used by tests (through `base_url`) and mounted on the
backend under /sandbox/openai in demo mode. `app.state.requests` records the last 200 requests.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "text-embedding-3-small")
CREATED = 1_735_689_600  # 2025-01-01, a fixed timestamp keeps answers deterministic


def _error(status: int, message: str, *, type_: str, code: str | None, param: str | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status)


# --- structured outputs and failure modes (used by the AI engine's tests and demos) ---
#
# A chat request with response_format {"type": "json_schema"} gets JSON content matching the schema:
# for the AI engine's "InquiryExtraction" it is the rules engine's reading of the last user message
# (the reference date is the first ISO date in the system message), for any other schema a minimal
# instance (nulls, empty lists, first enum values). Failure modes are chosen by the header
# `x-sandbox-fault` or a model suffix ("gpt-4o-mini:rate_limit"): rate_limit (429 with retry-after-ms,
# default 10, or `x-sandbox-retry-after-ms`), server_error (500), slow[-seconds] (answers after a delay,
# default 2 s), invalid_json, refusal, length. `x-sandbox-fault-times: N` fails only the first N attempts
# (counted by the SDK's x-stainless-retry-count header).
FAULTS = ("rate_limit", "server_error", "slow", "invalid_json", "refusal", "length")


def _fault(request: Request, model: str) -> tuple[str, str]:
    """(base model, fault or "") from the model suffix or the x-sandbox-fault header."""
    base, _, suffix = model.partition(":")
    fault = request.headers.get("x-sandbox-fault", "") or suffix
    if fault and fault.split("-")[0] not in FAULTS:
        return model, ""
    times = request.headers.get("x-sandbox-fault-times")
    attempt = int(request.headers.get("x-stainless-retry-count", "0") or 0)
    if fault and times is not None and times.isdigit() and attempt >= int(times):
        fault = ""
    return base, fault


def _minimal(schema: dict, defs: dict) -> object:
    """A minimal value that validates against a (strict) JSON schema."""
    if "$ref" in schema:
        return _minimal(defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), defs)
    if "anyOf" in schema:
        options = schema["anyOf"]
        return None if any(o.get("type") == "null" for o in options) else _minimal(options[0], defs)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: _minimal(sub, defs) for name, sub in schema.get("properties", {}).items()}
    return {"array": [], "string": "", "integer": 0, "number": 0, "boolean": False, "null": None}.get(kind)


def _structured(response_format: dict, messages: list) -> str:
    """The JSON content for a json_schema response format."""
    spec = response_format.get("json_schema") or {}
    schema = spec.get("schema") or {}
    user = next((str(m.get("content", "")) for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"),
                "")
    if spec.get("name") == "InquiryExtraction":
        import datetime as dt
        import re

        from crystal_bay.services.ai import rules_engine

        system = " ".join(str(m.get("content", "")) for m in messages if isinstance(m, dict) and m.get("role") == "system")
        found = re.search(r"\d{4}-\d{2}-\d{2}", system)
        today = dt.date.fromisoformat(found.group(0)) if found else dt.date.today()
        reading = rules_engine.extract(user, today=today).model_dump(mode="json")
        return json.dumps({key: reading.get(key) for key in schema.get("properties", reading)}, ensure_ascii=False)
    return json.dumps(_minimal(schema, schema.get("$defs", {})), ensure_ascii=False)


def create_app() -> FastAPI:
    """A fresh sandbox (its own request log and ids)."""
    app = FastAPI(title="OpenAI sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.requests = deque(maxlen=200)
    ids = itertools.count(1)

    @app.middleware("http")
    async def auth_and_request_id(request: Request, call_next):
        request_id = f"req_sandbox_{next(ids)}"
        auth = request.headers.get("authorization", "")
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        app.state.requests.append({"method": request.method, "path": request.url.path})
        if not key.startswith("sk-"):
            shown = f"{key[:3]}****{key[-4:]}" if len(key) > 8 else "****"
            response = _error(401, f"Incorrect API key provided: {shown}. You can find your API key at "
                                   "https://platform.openai.com/account/api-keys.",
                              type_="invalid_request_error", code="invalid_api_key")
        else:
            response = await call_next(request)
        response.headers["x-request-id"] = request_id
        return response

    @app.get("/v1/models")
    async def list_models() -> dict:
        return {"object": "list",
                "data": [{"id": m, "object": "model", "created": CREATED, "owned_by": "system"} for m in MODELS]}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.", type_="invalid_request_error",
                          code=None)
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.", type_="invalid_request_error", code=None)
        model, messages = body.get("model"), body.get("messages")
        if not model:
            return _error(400, "you must provide a model parameter", type_="invalid_request_error", code=None,
                          param="model")
        model, fault = _fault(request, str(model))
        if fault == "rate_limit":
            response = _error(429, "Rate limit reached for requests (sandbox).", type_="requests",
                              code="rate_limit_exceeded")
            response.headers["retry-after-ms"] = request.headers.get("x-sandbox-retry-after-ms", "10")
            return response
        if fault == "server_error":
            return _error(500, "The server had an error while processing your request (sandbox).",
                          type_="server_error", code=None)
        if fault.startswith("slow"):
            await asyncio.sleep(float(fault.split("-", 1)[1]) if "-" in fault else 2.0)
        if model not in MODELS:
            return _error(404, f"The model `{model}` does not exist or you do not have access to it.",
                          type_="invalid_request_error", code="model_not_found")
        if not isinstance(messages, list) or not messages:
            return _error(400, "'messages' must be a non-empty array.", type_="invalid_request_error", code=None,
                          param="messages")
        app.state.requests[-1]["body"] = body
        last_user = next((str(m.get("content", "")) for m in reversed(messages)
                          if isinstance(m, dict) and m.get("role") == "user"), "")
        content = f"Демо-ответ (песочница OpenAI): получено сообщение «{last_user[:200]}»."
        response_format = body.get("response_format")
        if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
            content = _structured(response_format, messages)
        if fault == "invalid_json":
            content = '{"intent": "tour_search", '
        refusal = "I can't help with that (sandbox)." if fault == "refusal" else None
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages if isinstance(m, dict))
        completion_tokens = len(content.split())
        return {
            "id": f"chatcmpl-sandbox-{len(app.state.requests)}", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": "length" if fault == "length" else "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": None if refusal else content,
                                     "refusal": refusal}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }

    return app


app = create_app()


DEMO_MOUNT = "/sandbox/openai"


class DemoOnly:
    """ASGI wrapper: the sandbox answers only while demo mode is on (checked per request, cached 5 s); else 404."""

    def __init__(self, inner, *, ttl_s: float = 5.0):
        self.inner = inner
        self.ttl_s = ttl_s
        self._checked = (-ttl_s, False)

    def _allowed(self) -> bool:
        at, ok = self._checked
        if time.monotonic() - at < self.ttl_s:
            return ok
        try:
            from crystal_bay.db import session_scope
            from crystal_bay.services.integrations import effective_demo

            with session_scope() as session:
                ok = effective_demo(session)
        except Exception:  # noqa: BLE001 - no database yet: the sandbox stays shut
            ok = False
        self._checked = (time.monotonic(), ok)
        return ok

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not self._allowed():
            await JSONResponse({"detail": "Not Found"}, status_code=404)(scope, receive, send)
            return
        await self.inner(scope, receive, send)


def mount_demo(api) -> None:
    """Mount the sandbox on the backend's API app at /sandbox/openai (answers in demo mode only)."""
    api.mount(DEMO_MOUNT, DemoOnly(create_app()))
