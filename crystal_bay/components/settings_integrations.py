"""The Integrations tab: the demo-mode switch and one card per registry entry, rendered from its schema."""

from __future__ import annotations

import reflex as rx

from crystal_bay.components.settings_ai_usage import ai_usage_block
from crystal_bay.state.settings import CardRow, FieldRow, IntegrationsState, ResultRow

S = IntegrationsState
T = S.t
ICONS = {"samo": "plane", "openai": "sparkles", "telegram": "send", "wazzup": "message-circle",
         "sendgrid": "mail", "bitrix24": "building-2"}


def lang_text(ru, en):
    """The Russian or English variant of a text that comes from the registry or a schema."""
    return rx.cond(S.lang == "en", en, ru)


def integration_icon(slug) -> rx.Component:
    return rx.match(slug, *[(s, rx.icon(icon, size=20)) for s, icon in ICONS.items()], rx.icon("plug", size=20))


def source_badge(f: FieldRow) -> rx.Component:
    return rx.match(
        f.source,
        ("env", rx.badge(rx.icon("server", size=12), T["settings.source.env"], " ", f.env_var, color_scheme="violet",
                         variant="soft", size="1")),
        ("database", rx.badge(rx.icon("database", size=12), T["settings.source.database"], color_scheme="green",
                              variant="soft", size="1")),
        ("default", rx.badge(T["settings.source.default"], color_scheme="gray", variant="soft", size="1")),
        rx.badge(T["settings.source.unset"], color_scheme="orange", variant="soft", size="1"),
    )


def secret_input(slug, f: FieldRow) -> rx.Component:
    return rx.hstack(
        rx.input(name=f.name, type="password", auto_complete="new-password", disabled=f.locked, width="100%",
                 placeholder=rx.cond(f.masked != "", T["settings.secret_replace"], T["settings.secret_enter"]),
                 data_testid=f"input-{f.name}"),
        rx.cond(f.masked != "", rx.code(f.masked, size="2", white_space="nowrap", data_testid=f"masked-{f.name}")),
        rx.cond(
            f.stored_secret,
            rx.tooltip(rx.icon_button(rx.icon("trash-2", size=14), type="button", variant="soft", color_scheme="red",
                                      size="2", on_click=S.clear_secret(slug, f.name)),
                       content=T["settings.secret_remove"]),
        ),
        width="100%",
        align="center",
    )


def field_input(slug, f: FieldRow) -> rx.Component:
    control = rx.match(
        f.kind,
        ("secret", secret_input(slug, f)),
        ("bool", rx.checkbox(name=f.name, default_checked=f.checked, disabled=f.locked)),
        ("select", rx.select.root(
            rx.select.trigger(width="100%"),
            rx.select.content(rx.foreach(f.choices, lambda c: rx.select.item(c, value=c))),
            name=f.name, default_value=f.value, disabled=f.locked)),
        rx.input(name=f.name, default_value=f.value, type=f.input_type, disabled=f.locked, width="100%",
                 placeholder=rx.cond(f.kind == "url", "https://…", ""), data_testid=f"input-{f.name}"),
    )
    return rx.vstack(
        rx.hstack(
            rx.text(lang_text(f.title_ru, f.title_en), weight="medium", size="2"),
            rx.cond(f.required, rx.text("*", color=rx.color("red", 9), size="2")),
            rx.spacer(),
            rx.box(source_badge(f), data_testid=f"source-{f.name}"),
            width="100%",
            align="center",
        ),
        control,
        rx.cond(f.error != "", rx.text(f.error, color=rx.color("red", 11), size="1", data_testid=f"error-{f.name}")),
        rx.cond(lang_text(f.help_ru, f.help_en) != "",
                rx.text(lang_text(f.help_ru, f.help_en), size="1", color_scheme="gray")),
        spacing="1",
        width="100%",
    )


def status_badge(card: CardRow) -> rx.Component:
    return rx.cond(
        card.configured,
        rx.badge(rx.icon("circle-check", size=12), T["settings.configured"], color_scheme="green", size="2"),
        rx.badge(rx.icon("circle-dashed", size=12), T["settings.not_configured"], color_scheme="orange", size="2"),
    )


def history_row(r: ResultRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(r.at, white_space="nowrap"),
        rx.table.cell(rx.cond(r.ok, rx.badge("ok", color_scheme="green"), rx.badge(T["settings.failed"],
                                                                                      color_scheme="red"))),
        rx.table.cell(r.latency, white_space="nowrap"),
        rx.table.cell(rx.text(r.message, size="1")),
    )


def result_panel(card: CardRow) -> rx.Component:
    last = card.last
    return rx.cond(
        card.has_result,
        rx.box(
            rx.hstack(
                rx.cond(last.ok,
                        rx.badge(rx.icon("circle-check", size=14), "ok", color_scheme="green", size="2",
                                 data_testid="result-status"),
                        rx.badge(rx.icon("circle-x", size=14), T["settings.failed"], color_scheme="red", size="2",
                                 data_testid="result-status")),
                rx.cond(last.latency != "", rx.badge(rx.icon("timer", size=12), last.latency, variant="soft",
                                                     color_scheme="gray", size="2", data_testid="result-latency")),
                rx.text(last.at, size="1", color_scheme="gray"),
                rx.spacer(),
                rx.cond(card.last_success != "",
                        rx.text(T["settings.last_success"], ": ", card.last_success, size="1", color_scheme="gray",
                                data_testid="last-success")),
                align="center",
                width="100%",
                wrap="wrap",
            ),
            rx.text(last.message, size="2", margin_top="0.5em", data_testid="result-message"),
            rx.cond(last.detail != "", rx.el.details(
                rx.el.summary(T["settings.details"], cursor="pointer", font_size="0.8em", color=rx.color("gray", 11)),
                rx.el.pre(last.detail, font_size="0.75em", white_space="pre-wrap", word_break="break-all",
                          padding="0.5em", margin_top="0.25em", background=rx.color("gray", 3), border_radius="6px"),
                margin_top="0.25em",
            )),
            rx.el.details(
                rx.el.summary(T["settings.history"], " (", card.history.length(), ")", cursor="pointer",
                              font_size="0.8em", color=rx.color("gray", 11)),
                rx.table.root(rx.table.body(rx.foreach(card.history, history_row)), size="1", width="100%"),
                margin_top="0.25em",
            ),
            padding="0.75em",
            border_radius="8px",
            border=f"1px solid {rx.color('gray', 5)}",
            background=rx.cond(last.ok, rx.color("green", 2), rx.color("red", 2)),
            width="100%",
            data_testid="test-result",
        ),
        rx.text(T["settings.never_tested"], size="1", color_scheme="gray"),
    )


def built_card(card: CardRow) -> rx.Component:
    testing = S.testing.contains(card.slug)
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.center(integration_icon(card.slug), width="36px", height="36px", border_radius="8px",
                          background=rx.color("accent", 3), color=rx.color("accent", 11)),
                rx.vstack(rx.heading(lang_text(card.title_ru, card.title_en), size="4"),
                          rx.text(lang_text(card.description_ru, card.description_en), size="2", color_scheme="gray"),
                          spacing="0"),
                rx.spacer(),
                status_badge(card),
                align="center",
                width="100%",
            ),
            rx.form(
                rx.vstack(
                    rx.el.input(type="hidden", name="slug", value=card.slug),
                    rx.grid(rx.foreach(card.fields, lambda f: field_input(card.slug, f)),
                            columns=rx.breakpoints(initial="1", md="2"),
                            spacing="4", width="100%"),
                    rx.hstack(
                        rx.button(rx.icon("save", size=16), T["settings.save"], type="submit",
                                  data_testid="save-integration"),
                        rx.button(rx.icon("plug-zap", size=16), T["settings.test"], type="button", variant="soft",
                                  loading=testing, on_click=S.test_connection(card.slug),
                                  data_testid="test-connection"),
                        rx.cond(testing, rx.text(T["settings.testing"], size="1", color_scheme="gray")),
                        align="center",
                    ),
                    spacing="4",
                    width="100%",
                ),
                on_submit=S.save,
                reset_on_submit=False,
                key=f"{S.form_key}-{card.slug}",
                width="100%",
            ),
            result_panel(card),
            rx.cond(card.slug == "openai", ai_usage_block()),
            spacing="4",
            width="100%",
        ),
        width="100%",
        size="3",
        data_testid=f"integration-{card.slug}",
    )


def soon_card(card: CardRow) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.center(integration_icon(card.slug), width="36px", height="36px", border_radius="8px",
                      background=rx.color("gray", 3), color=rx.color("gray", 11)),
            rx.vstack(
                rx.hstack(rx.text(lang_text(card.title_ru, card.title_en), weight="bold"),
                          rx.badge(T["settings.soon"], color_scheme="gray", variant="surface"), align="center"),
                rx.text(lang_text(card.description_ru, card.description_en), size="1", color_scheme="gray"),
                spacing="1",
            ),
            align="start",
        ),
        data_testid=f"integration-{card.slug}",
    )


def demo_card() -> rx.Component:
    locked = S.demo_source == "env"
    return rx.card(
        rx.hstack(
            rx.center(rx.icon("flask-conical", size=20), width="36px", height="36px", border_radius="8px",
                      background=rx.color("amber", 3), color=rx.color("amber", 11)),
            rx.vstack(
                rx.hstack(rx.heading(T["settings.demo.title"], size="4"),
                          rx.cond(S.demo_enabled, rx.badge(T["settings.demo.on"], color_scheme="amber"),
                                  rx.badge(T["settings.demo.off"], color_scheme="gray")),
                          align="center"),
                rx.text(T["settings.demo.explain"], size="2", color_scheme="gray"),
                rx.cond(locked, rx.hstack(rx.icon("lock", size=12, color=rx.color("violet", 11)),
                                          rx.text(T["settings.demo.locked"], size="1", color_scheme="violet"),
                                          spacing="1", align="center")),
                rx.cond(~S.secret_key_set, rx.callout(T["settings.demo.no_secret_key"], icon="triangle-alert",
                                                      color_scheme="orange", size="1")),
                spacing="1",
                flex="1",
            ),
            rx.switch(checked=S.demo_enabled, on_change=S.set_demo, disabled=locked, size="3",
                      data_testid="demo-switch"),
            align="start",
            spacing="4",
            width="100%",
        ),
        width="100%",
        size="3",
    )


def integrations_tab() -> rx.Component:
    return rx.vstack(
        demo_card(),
        rx.foreach(S.built_cards, built_card),
        rx.heading(T["settings.coming_soon_title"], size="3", margin_top="0.5em"),
        rx.grid(rx.foreach(S.soon_cards, soon_card), columns=rx.breakpoints(initial="1", md="2", lg="3"),
                spacing="3", width="100%"),
        spacing="4",
        width="100%",
    )
