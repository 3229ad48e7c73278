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

from crystal_bay.api.deps import body_doc, client_address, json_body, rate_limit
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


@router.post("/api/widget/leads", status_code=201, summary="A website form submission",
             dependencies=[Depends(widget_client_limit)], openapi_extra=body_doc(WidgetIn))
async def widget_submit(data: Annotated[WidgetIn, Depends(json_body(WidgetIn, MAX_WIDGET_BODY))]) -> JSONResponse:
    """Creates or attaches a website lead and answers a thank-you in Russian."""
    if data.key not in public_keys():
        raise ApiError(403, "unknown_widget_key", "This widget key is not configured.", field="key")
    await run_in_threadpool(_submit, data)
    return JSONResponse({"ok": True, "message": thanks_text(data.name)}, status_code=201)
