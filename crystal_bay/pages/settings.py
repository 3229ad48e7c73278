"""Settings & integrations (admins only): integrations, users, API keys, pipeline, outbox, jobs."""

from __future__ import annotations

import reflex as rx

from crystal_bay.components.settings_admin import api_keys_tab, pipeline_tab, users_tab
from crystal_bay.components.settings_integrations import integrations_tab
from crystal_bay.components.settings_ops import jobs_tab, outbox_tab
from crystal_bay.components.shell import shell
from crystal_bay.state.settings import SettingsState

TABS = (
    ("integrations", "plug", "settings.tab.integrations", integrations_tab),
    ("users", "users", "settings.tab.users", users_tab),
    ("api_keys", "key-round", "settings.tab.api_keys", api_keys_tab),
    ("pipeline", "kanban", "settings.tab.pipeline", pipeline_tab),
    ("outbox", "send", "settings.tab.outbox", outbox_tab),
    ("jobs", "clock", "settings.tab.jobs", jobs_tab),
)


def settings_content() -> rx.Component:
    t = SettingsState.t
    return rx.vstack(
        rx.vstack(
            rx.heading(t["settings.title"], size="7", data_testid="settings-title"),
            rx.text(t["settings.text"], color_scheme="gray"),
            spacing="1",
        ),
        rx.tabs.root(
            rx.tabs.list(*[
                rx.tabs.trigger(rx.hstack(rx.icon(icon, size=15), rx.text(t[key]), spacing="2", align="center"),
                                value=value, data_testid=f"tab-{value}")
                for value, icon, key, _ in TABS
            ], size="2"),
            *[rx.tabs.content(rx.box(body(), padding_top="1.25em"), value=value) for value, _, _, body in TABS],
            value=SettingsState.tab,
            on_change=SettingsState.set_tab,
            width="100%",
        ),
        spacing="4",
        width="100%",
        max_width="72em",
    )


def settings_page() -> rx.Component:
    return shell(settings_content)
