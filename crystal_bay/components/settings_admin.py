"""The Users, API keys and Pipeline tabs of the settings panel."""

from __future__ import annotations

import reflex as rx

from crystal_bay.state.settings_admin import (
    ApiKeysState,
    KeyView,
    PipelineAdminState,
    StageView,
    UsersAdminState,
    UserView,
)

T = UsersAdminState.t
CATEGORIES = ("new", "in_progress", "pending", "confirmed", "closed")


def confirm(trigger: rx.Component, title, text, action_label, on_confirm, color: str = "red") -> rx.Component:
    """A button that asks before doing something that cannot be undone."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(text, size="2"),
            rx.flex(
                rx.alert_dialog.cancel(rx.button(T["common.cancel"], variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button(action_label, color_scheme=color, on_click=on_confirm,
                                                 data_testid="confirm")),
                spacing="3", justify="end", margin_top="1em",
            ),
            max_width="28em",
        ),
    )


def shown_once(value, label, on_dismiss, testid: str) -> rx.Component:
    """A secret shown once (a generated password or a new API key) with copy and dismiss."""
    return rx.callout.root(
        rx.callout.icon(rx.icon("key-round")),
        rx.vstack(
            rx.text(label, weight="bold", size="2"),
            rx.hstack(
                rx.code(value, size="3", data_testid=testid, word_break="break-all"),
                rx.icon_button(rx.icon("copy", size=14), variant="soft", size="1", on_click=rx.set_clipboard(value)),
                align="center",
            ),
            rx.text(T["settings.shown_once"], size="1"),
            rx.button(T["settings.done"], size="1", variant="soft", on_click=on_dismiss),
            spacing="2",
        ),
        color_scheme="green",
        width="100%",
    )


# --- users ---


def user_row(u: UserView) -> rx.Component:
    S = UsersAdminState
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(u.name, weight="medium"), rx.text(u.email, size="1", color_scheme="gray"),
                                spacing="0")),
        rx.table.cell(rx.badge(rx.cond(u.role == "admin", T["role.admin"], T["role.manager"]),
                               color_scheme=rx.cond(u.role == "admin", "violet", "blue"))),
        rx.table.cell(rx.cond(u.active, rx.badge(T["settings.active_yes"], color_scheme="green"),
                              rx.badge(T["settings.active_no"], color_scheme="gray"))),
        rx.table.cell(
            rx.form(
                rx.hstack(
                    rx.el.input(type="hidden", name="user_id", value=u.user_id),
                    rx.text(u.open_leads, " /", size="2", white_space="nowrap"),
                    rx.input(name="cap", default_value=u.cap, placeholder="∞", width="4.5em", size="1"),
                    rx.tooltip(rx.checkbox(name="available", default_checked=u.available),
                               content=T["settings.available"]),
                    rx.icon_button(rx.icon("check", size=14), type="submit", size="1", variant="soft"),
                    align="center",
                    spacing="2",
                ),
                on_submit=S.save_assignment,
                reset_on_submit=False,
                key=f"{S.form_key}-{u.user_id}",
            )
        ),
        rx.table.cell(u.last_login, white_space="nowrap"),
        rx.table.cell(rx.hstack(
            confirm(rx.button(rx.icon("key-round", size=14), T["settings.reset_password"], size="1", variant="soft"),
                    T["settings.reset_password"], T["settings.reset_password_text"], T["settings.reset_password"],
                    S.reset_password(u.user_id), color="blue"),
            rx.cond(
                u.active,
                rx.cond(~u.is_self, confirm(
                    rx.button(rx.icon("user-x", size=14), T["settings.deactivate"], size="1", variant="soft",
                              color_scheme="red"),
                    T["settings.deactivate"], T["settings.deactivate_text"], T["settings.deactivate"],
                    S.set_active(u.user_id, False))),
                rx.button(rx.icon("user-check", size=14), T["settings.activate"], size="1", variant="soft",
                          color_scheme="green", on_click=S.set_active(u.user_id, True)),
            ),
            spacing="2",
        )),
        align="center",
        data_testid="user-row",
    )


def create_user_dialog() -> rx.Component:
    S = UsersAdminState
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("user-plus", size=16), T["settings.new_user"],
                                    data_testid="new-user")),
        rx.dialog.content(
            rx.dialog.title(T["settings.new_user"]),
            rx.form(
                rx.vstack(
                    rx.input(name="name", placeholder=T["settings.name"], required=True, width="100%"),
                    rx.input(name="email", type="email", placeholder=T["settings.email"], required=True, width="100%"),
                    rx.select.root(
                        rx.select.trigger(width="100%"),
                        rx.select.content(rx.select.item(T["role.manager"], value="manager"),
                                          rx.select.item(T["role.admin"], value="admin")),
                        name="role", default_value="manager",
                    ),
                    rx.input(name="password", type="password", placeholder=T["settings.password_optional"],
                             auto_complete="new-password", width="100%"),
                    rx.text(T["settings.password_hint"], size="1", color_scheme="gray"),
                    rx.cond(S.create_error != "", rx.callout(S.create_error, color_scheme="red", size="1")),
                    rx.hstack(
                        rx.dialog.close(rx.button(T["common.cancel"], type="button", variant="soft",
                                                  color_scheme="gray")),
                        rx.button(T["settings.create"], type="submit"),
                        justify="end", width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=S.create_user,
                reset_on_submit=False,
            ),
            max_width="28em",
        ),
        open=S.create_open,
        on_open_change=S.set_create_open,
    )


def users_tab() -> rx.Component:
    S = UsersAdminState
    return rx.vstack(
        rx.hstack(rx.text(T["settings.users_text"], size="2", color_scheme="gray"), rx.spacer(), create_user_dialog(),
                  width="100%", align="center"),
        rx.cond(S.shown_password != "", shown_once(S.shown_password, T["settings.password_for"] + " " +
                                                   S.shown_password_for, S.dismiss_password, "shown-password")),
        rx.table.root(
            rx.table.header(rx.table.row(
                rx.table.column_header_cell(T["settings.name"]),
                rx.table.column_header_cell(T["settings.role"]),
                rx.table.column_header_cell(T["settings.active"]),
                rx.table.column_header_cell(T["settings.open_leads_cap"]),
                rx.table.column_header_cell(T["settings.last_login"]),
                rx.table.column_header_cell(""),
            )),
            rx.table.body(rx.foreach(S.users, user_row)),
            width="100%",
            variant="surface",
        ),
        spacing="4",
        width="100%",
    )


# --- API keys ---


def key_row(k: KeyView) -> rx.Component:
    S = ApiKeysState
    return rx.table.row(
        rx.table.cell(rx.text(k.name, weight="medium")),
        rx.table.cell(rx.code("cbk_", k.prefix, "_…")),
        rx.table.cell(rx.hstack(rx.foreach(k.scopes, lambda s: rx.badge(s, variant="soft")), spacing="1")),
        rx.table.cell(k.created, white_space="nowrap"),
        rx.table.cell(k.last_used, white_space="nowrap"),
        rx.table.cell(rx.cond(
            k.revoked, rx.badge(T["settings.revoked"], color_scheme="gray"),
            confirm(rx.button(rx.icon("ban", size=14), T["settings.revoke"], size="1", variant="soft",
                              color_scheme="red"),
                    T["settings.revoke"], T["settings.revoke_text"], T["settings.revoke"], S.revoke(k.key_id)),
        )),
        align="center",
    )


def api_keys_tab() -> rx.Component:
    S = ApiKeysState
    return rx.vstack(
        rx.text(T["settings.keys_text"], size="2", color_scheme="gray"),
        rx.card(rx.form(
            rx.hstack(
                rx.input(name="name", placeholder=T["settings.key_name"], width="18em", required=True),
                rx.checkbox(T["settings.scope.leads_write"], name="scope:leads:write", default_checked=True),
                rx.checkbox(T["settings.scope.leads_read"], name="scope:leads:read"),
                rx.button(rx.icon("plus", size=16), T["settings.create_key"], type="submit", data_testid="create-key"),
                align="center", spacing="4", wrap="wrap",
            ),
            rx.cond(S.create_error != "", rx.text(S.create_error, color=rx.color("red", 11), size="1")),
            on_submit=S.create_key,
            key=S.form_key,
        ), width="100%"),
        rx.cond(S.new_key != "", shown_once(S.new_key, T["settings.new_key_for"] + " " + S.new_key_name,
                                            S.dismiss_key, "new-key")),
        rx.cond(
            S.keys.length() > 0,
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[k]) for k in (
                    "settings.key_name", "settings.key_prefix", "settings.scopes", "settings.created",
                    "settings.last_used")], rx.table.column_header_cell(""))),
                rx.table.body(rx.foreach(S.keys, key_row)),
                width="100%",
                variant="surface",
            ),
            rx.text(T["settings.no_keys"], size="2", color_scheme="gray"),
        ),
        spacing="4",
        width="100%",
    )


# --- pipeline ---


def stage_row(s: StageView) -> rx.Component:
    S = PipelineAdminState
    return rx.form(
        rx.hstack(
            rx.el.input(type="hidden", name="stage_id", value=s.stage_id),
            rx.vstack(
                rx.icon_button(rx.icon("chevron-up", size=14), type="button", size="1", variant="ghost",
                               disabled=s.first, on_click=S.move(s.stage_id, -1)),
                rx.icon_button(rx.icon("chevron-down", size=14), type="button", size="1", variant="ghost",
                               disabled=s.last, on_click=S.move(s.stage_id, 1)),
                spacing="1",
            ),
            rx.input(name="name_ru", default_value=s.name_ru, flex="2", required=True),
            rx.input(name="name_en", default_value=s.name_en, flex="2", required=True),
            rx.select.root(
                rx.select.trigger(width="11em"),
                rx.select.content(*[rx.select.item(T[f"status.{c}"], value=c) for c in CATEGORIES]),
                name="category", default_value=s.category,
            ),
            rx.input(name="bitrix", default_value=s.bitrix, placeholder="C1:NEW", width="12em"),
            rx.badge(s.leads, variant="soft", color_scheme="gray", min_width="3em", justify_content="center"),
            rx.icon_button(rx.icon("check", size=14), type="submit", size="2", variant="soft"),
            align="center",
            spacing="2",
            width="100%",
        ),
        on_submit=S.save_stage,
        reset_on_submit=False,
        key=f"{S.form_key}-{s.stage_id}",
        width="100%",
    )


def pipeline_tab() -> rx.Component:
    return rx.vstack(
        rx.text(T["settings.pipeline_text"], size="2", color_scheme="gray"),
        rx.card(rx.vstack(
            rx.hstack(
                rx.box(width="2em"),
                rx.text(T["settings.stage_ru"], size="1", color_scheme="gray", flex="2"),
                rx.text(T["settings.stage_en"], size="1", color_scheme="gray", flex="2"),
                rx.text(T["settings.category"], size="1", color_scheme="gray", width="11em"),
                rx.text("Bitrix24", size="1", color_scheme="gray", width="12em"),
                rx.text(T["settings.open_leads"], size="1", color_scheme="gray", min_width="3em"),
                rx.box(width="2.5em"),
                spacing="2", width="100%",
            ),
            rx.foreach(PipelineAdminState.stages, stage_row),
            spacing="2",
            width="100%",
        ), width="100%"),
        spacing="4",
        width="100%",
    )
