"""Settings & integrations (admins only). Users now; integrations arrive with the platform issue."""

from __future__ import annotations

import reflex as rx

from crystal_bay.components.shell import shell
from crystal_bay.state.pages import SettingsState, UserRow


def _user_row(row: UserRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.name),
        rx.table.cell(row.email),
        rx.table.cell(
            rx.badge(rx.cond(row.role == "admin", SettingsState.t["role.admin"], SettingsState.t["role.manager"]))
        ),
        rx.table.cell(rx.cond(row.active, "✓", "—")),
        rx.table.cell(row.last_login),
    )


def settings_content() -> rx.Component:
    t = SettingsState.t
    return rx.vstack(
        rx.heading(t["settings.title"], size="7", data_testid="settings-title"),
        rx.text(t["settings.text"], color_scheme="gray"),
        rx.heading(t["settings.users"], size="4"),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell(t["settings.name"]),
                    rx.table.column_header_cell(t["settings.email"]),
                    rx.table.column_header_cell(t["settings.role"]),
                    rx.table.column_header_cell(t["settings.active"]),
                    rx.table.column_header_cell(t["settings.last_login"]),
                )
            ),
            rx.table.body(rx.foreach(SettingsState.users, _user_row)),
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def settings_page() -> rx.Component:
    return shell(settings_content)
