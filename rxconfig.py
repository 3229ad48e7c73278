"""Reflex configuration. The database URL comes from crystal_bay.settings (DATABASE_URL)."""

import os

import reflex as rx

from crystal_bay.settings import get_settings

_settings = get_settings()

config = rx.Config(
    app_name="crystal_bay",
    db_url=_settings.sqlalchemy_url(),
    redis_url=os.environ.get("REFLEX_REDIS_URL") or _settings.redis_url or None,
    backend_host=os.environ.get("REFLEX_BACKEND_HOST", "127.0.0.1"),
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="cyan", gray_color="slate", radius="medium"))],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
