"""The Reflex app: pages, the mounted API. Kept tiny; everything lives in its own module."""

from __future__ import annotations

import reflex as rx

import crystal_bay.models  # noqa: F401  (registers every table)
from crystal_bay import jobs
from crystal_bay.api.app import api
from crystal_bay.pages.board import board_page
from crystal_bay.pages.bookings import bookings_page
from crystal_bay.pages.bot_preview import bot_preview_page
from crystal_bay.pages.import_page import import_page
from crystal_bay.pages.lead import lead_page
from crystal_bay.pages.login import login_page
from crystal_bay.pages.sections import analytics_page, inbox_page
from crystal_bay.pages.settings import settings_page
from crystal_bay.state.auth import LoginState
from crystal_bay.state.base import AppState
from crystal_bay.state.board import BoardState
from crystal_bay.state.bookings import BookingsState
from crystal_bay.state.bot_preview import BotPreviewState
from crystal_bay.state.import_state import ImportState
from crystal_bay.state.lead import LeadState
from crystal_bay.state.settings import SettingsState

app = rx.App(
    api_transformer=api,
    head_components=[rx.el.link(rel="icon", href="/favicon.svg")],
)
app.register_lifespan_task(jobs.lifespan)

app.add_page(login_page, route="/login", title="Вход — Crystal Bay", on_load=LoginState.redirect_if_logged_in)
app.add_page(board_page, route="/", title="Доска — Crystal Bay", on_load=BoardState.load)
app.add_page(lead_page, route="/lead/[lead_key]", title="Заявка — Crystal Bay", on_load=LeadState.load)
app.add_page(inbox_page, route="/inbox", title="Входящие — Crystal Bay", on_load=AppState.check_access)
app.add_page(bookings_page, route="/bookings", title="Бронирования — Crystal Bay", on_load=BookingsState.load)
app.add_page(analytics_page, route="/analytics", title="Аналитика — Crystal Bay", on_load=AppState.check_access)
app.add_page(settings_page, route="/settings", title="Настройки — Crystal Bay", on_load=SettingsState.check)
app.add_page(import_page, route="/import", title="Импорт заявок — Crystal Bay", on_load=ImportState.check)
app.add_page(bot_preview_page, route="/bot-preview", title="Бот (демо) — Crystal Bay", on_load=BotPreviewState.load)
