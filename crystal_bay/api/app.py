"""The FastAPI application mounted on the Reflex backend; OpenAPI at /docs."""

from __future__ import annotations

from fastapi import FastAPI

from crystal_bay import __version__
from crystal_bay.api import health


def create_api() -> FastAPI:
    """Build the API app with every router."""
    api = FastAPI(
        title="Crystal Bay Travel API",
        version=__version__,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    api.include_router(health.router)
    return api


api = create_api()
