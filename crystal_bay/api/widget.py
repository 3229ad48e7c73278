"""The website widget: GET /widget (a standalone Russian form for an iframe), POST /api/widget/leads.

A site is identified by a *public* key from WIDGET_PUBLIC_KEYS (comma-separated; empty turns the
widget off). A public key is not a secret — it is in every visitor's page — so it only allows
this one thing: posting a website inquiry. Abuse is held back by the honeypot field (a bot that
fills it gets the same thank-you and nothing is written) and a per-client-address rate limit
(WIDGET_RATE_LIMIT_PER_MINUTE). `assets/widget.js` injects the iframe (docs/api.md).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from crystal_bay.api.deps import body_doc, client_address, media_type, parse_json, rate_limit, read_body
from crystal_bay.api.errors import ApiError
from crystal_bay.db import session_scope
from crystal_bay.services import intake
from crystal_bay.services.audit import Actor
from crystal_bay.services.intake_schemas import WidgetIn
from crystal_bay.settings import get_settings

router = APIRouter(tags=["widget"])

MAX_WIDGET_BODY = 16 * 1024
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,100}$")
ACTOR = Actor.system("website-widget")
NOT_CONFIGURED_HTML = ("<!doctype html><html lang=\"ru\"><meta charset=\"utf-8\"><title>Виджет</title>"
                       "<p style=\"font-family:sans-serif\">Форма заявки не настроена.</p></html>")


def public_keys() -> frozenset[str]:
    """The configured public keys (malformed entries are ignored)."""
    raw = get_settings().widget_public_keys or ""
    return frozenset(k.strip() for k in raw.split(",") if KEY_PATTERN.fullmatch(k.strip()))


def widget_enabled() -> bool:
    return bool(public_keys())


@lru_cache(maxsize=1)
def _template() -> str:
    return (Path(__file__).with_name("widget_page.html")).read_text(encoding="utf-8")


def thanks_text(name: str) -> str:
    first = (name or "").strip().split(" ")[0][:50]
    return f"{first}, спасибо за заявку! Менеджер Crystal Bay Travel свяжется с вами в ближайшее время."


@router.get("/widget", response_class=HTMLResponse, summary="The website form (for an iframe)")
def widget_page(key: Annotated[str, Query(max_length=100)] = "") -> HTMLResponse:
    """The form for the site with this public key; 404 when the key is not configured."""
    if key not in public_keys():
        return HTMLResponse(NOT_CONFIGURED_HTML, status_code=404)
    page = _template().replace('"__WIDGET_KEY__"', json.dumps(key)).replace("__ENDPOINT__", "/api/widget/leads")
    return HTMLResponse(page, headers={"Cache-Control": "public, max-age=300"})


def widget_client_limit(request: Request) -> None:
    """A dependency: the per-client-address limit, before anything else is read."""
    rate_limit(f"widget:{client_address(request)}", get_settings().widget_rate_limit_per_minute)


def _submit(data: WidgetIn) -> None:
    with session_scope() as session:
        intake.submit_widget(session=session, data=data, actor=ACTOR)


def honeypot_name(raw: bytes) -> str | None:
    """The submitted name when the honeypot `website` is filled (a bot), else None.

    Read from the raw JSON before any validation, so a bot that also sends a bad phone or unknown
    fields still gets the ordinary thank-you instead of a 422 telling it what to fix."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("website") in (None, ""):
        return None
    name = body.get("name")
    return name if isinstance(name, str) else ""


def _thanks(name: str) -> JSONResponse:
    return JSONResponse({"ok": True, "message": thanks_text(name)}, status_code=201)


@router.post("/api/widget/leads", status_code=201, summary="A website form submission",
             dependencies=[Depends(widget_client_limit)], openapi_extra=body_doc(WidgetIn))
async def widget_submit(request: Request) -> JSONResponse:
    """Creates or attaches a website lead and answers a thank-you in Russian (a filled honeypot: the same
    thank-you, nothing written, checked before the form is validated)."""
    kind = media_type(request)
    if kind != "application/json" and not kind.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    raw = await read_body(request, MAX_WIDGET_BODY)
    bot_name = honeypot_name(raw)
    if bot_name is not None:
        return _thanks(bot_name)
    data = parse_json(WidgetIn, raw)
    if data.key not in public_keys():
        raise ApiError(403, "unknown_widget_key", "This widget key is not configured.", field="key")
    await run_in_threadpool(_submit, data)
    return _thanks(data.name)
