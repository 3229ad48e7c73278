"""The FastAPI application mounted on the Reflex backend; OpenAPI at /docs."""

from __future__ import annotations

from fastapi import FastAPI

from crystal_bay import __version__
from crystal_bay.api import (
    compat,  # lead intake: compat, errors, v1_import, v1_leads, webhooks_sendgrid, widget
    errors,
    health,
    public_quotes,
    telegram_webhook,
    v1_import,
    v1_leads,
    webhooks_sendgrid,
    widget,
)
from crystal_bay.sandbox.openai import mount_demo as mount_openai_sandbox
from crystal_bay.sandbox.samo import mount_demo as mount_samo_sandbox


def create_api() -> FastAPI:
    """Build the API app with every router."""
    api = FastAPI(
        title="Crystal Bay Travel API",
        version=__version__,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    api.include_router(health.router)
    api.include_router(public_quotes.router)
    errors.install(api)  # one JSON error shape; DomainError → 4xx; last-resort 500 logged
    api.include_router(v1_import.router)  # before v1_leads: /api/v1/leads/import
    api.include_router(v1_leads.router)
    api.include_router(widget.router)
    api.include_router(webhooks_sendgrid.router)
    api.include_router(telegram_webhook.router)  # POST /api/webhooks/telegram (bot in webhook mode)
    api.include_router(compat.router)  # aliases of the original system's intake routes
    mount_samo_sandbox(api)  # /sandbox/samo, answers only in demo mode
    mount_openai_sandbox(api)  # /sandbox/openai, answers only in demo mode
    return api


api = create_api()
