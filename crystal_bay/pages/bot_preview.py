"""The "Bot preview" page (/bot-preview, demo mode): a Telegram-like chat with the real bot through the sandbox."""

from __future__ import annotations

import reflex as rx

from crystal_bay.components.shell import shell
from crystal_bay.state.bot_preview import BotPreviewState, PreviewButton, PreviewLine, ReplyButton

T = BotPreviewState.t


def _button(button: PreviewButton) -> rx.Component:
    return rx.button(
        button.text,
        size="1",
        variant="soft",
        on_click=BotPreviewState.press(button.message_id, button.data),
        disabled=BotPreviewState.busy,
        flex_basis=button.width,
        flex_grow="1",
        white_space="normal",
        height="auto",
        min_height="2em",
        class_name="preview-button",
    )


def _line(line: PreviewLine) -> rx.Component:
    bubble = rx.box(
        rx.text(line.text, size="2", white_space="pre-wrap"),
        background=rx.cond(line.from_bot, rx.color("gray", 3), rx.color("accent", 4)),
        padding="0.5em 0.75em",
        border_radius="12px",
        max_width="85%",
        class_name=rx.cond(line.from_bot, "preview-bot", "preview-user"),
    )
    return rx.vstack(
        bubble,
        rx.cond(line.buttons.length() > 0,
                rx.flex(rx.foreach(line.buttons, _button), wrap="wrap", gap="0.5em", width="85%")),
        align=rx.cond(line.from_bot, "start", "end"),
        spacing="1",
        width="100%",
    )


def _reply_button(button: ReplyButton) -> rx.Component:
    return rx.button(button.text, size="2", variant="outline", disabled=BotPreviewState.busy,
                     on_click=BotPreviewState.reply_button(button.text, button.contact), class_name="preview-reply")


def chat() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.box(
                rx.vstack(
                    rx.cond(BotPreviewState.lines.length() == 0,
                            rx.text(T["preview.empty"], color_scheme="gray", size="2")),
                    rx.foreach(BotPreviewState.lines, _line),
                    rx.cond(BotPreviewState.busy,
                            rx.hstack(rx.spinner(size="1"), rx.text(T["preview.typing"], size="1", color_scheme="gray"),
                                      data_testid="preview-busy")),
                    spacing="3",
                    width="100%",
                ),
                height="62vh",
                overflow_y="auto",
                display="flex",
                flex_direction="column-reverse",  # stays scrolled to the newest message
                width="100%",
                padding="0.5em",
                data_testid="preview-chat",
            ),
            rx.cond(BotPreviewState.reply_buttons.length() > 0,
                    rx.hstack(rx.foreach(BotPreviewState.reply_buttons, _reply_button), spacing="2", wrap="wrap")),
            rx.form(
                rx.hstack(
                    rx.input(name="text", placeholder=T["preview.placeholder"], width="100%", auto_complete="off",
                             max_length=4096, data_testid="preview-input"),
                    rx.button(rx.icon("send", size=16), T["preview.send"], type="submit",
                              disabled=BotPreviewState.busy, data_testid="preview-send"),
                    width="100%",
                ),
                on_submit=BotPreviewState.send,
                reset_on_submit=True,
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        max_width="46em",
    )


def preview_content() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading(T["preview.title"], size="7"),
            rx.spacer(),
            rx.cond(BotPreviewState.lead_id > 0,
                    rx.link(rx.button(rx.icon("external-link", size=14), T["preview.lead"], " №",
                                      BotPreviewState.lead_id.to_string(), variant="soft", size="2"),
                            href="/lead/" + BotPreviewState.lead_id.to_string(), data_testid="preview-lead")),
            rx.button(rx.icon("refresh-cw", size=14), T["preview.refresh"], variant="soft", size="2",
                      on_click=BotPreviewState.refresh),
            rx.button(rx.icon("rotate-ccw", size=14), "/start", variant="outline", size="2",
                      on_click=BotPreviewState.restart, data_testid="preview-start"),
            align="center",
            width="100%",
            max_width="46em",
            spacing="2",
        ),
        rx.text(T["preview.text"], color_scheme="gray", size="2", max_width="46em"),
        rx.cond(BotPreviewState.enabled, chat(),
                rx.callout(T["preview.demo_only"], icon="info", color_scheme="amber", data_testid="preview-off")),
        spacing="3",
        width="100%",
    )


def bot_preview_page() -> rx.Component:
    return shell(preview_content)
