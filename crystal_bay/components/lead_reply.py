"""The Telegram reply box under the lead's timeline (shown when the customer has a chat with the bot)."""

from __future__ import annotations

import reflex as rx

from crystal_bay.state.lead_reply import LeadReplyState

T = LeadReplyState.t


def reply_box() -> rx.Component:
    return rx.box(
        rx.cond(
            LeadReplyState.reply_chat,
            rx.vstack(
                rx.divider(),
                rx.hstack(rx.icon("send", size=14), rx.text(T["reply.title"], weight="bold", size="2"),
                          spacing="2", align="center"),
                rx.cond(LeadReplyState.reply_paused,
                        rx.callout(
                            rx.hstack(rx.text(T["reply.paused"], size="1"), rx.spacer(),
                                      rx.button(T["reply.hand_back"], size="1", variant="soft",
                                                on_click=LeadReplyState.hand_back, data_testid="hand-back"),
                                      align="center", width="100%"),
                            icon="pause", color_scheme="orange", size="1", width="100%", data_testid="bot-paused")),
                rx.form(
                    rx.vstack(
                        rx.text_area(name="reply", placeholder=T["reply.placeholder"], required=True, width="100%",
                                     max_length=4096, data_testid="reply-text"),
                        rx.cond(LeadReplyState.reply_error != "",
                                rx.callout(LeadReplyState.reply_error, color_scheme="red", size="1",
                                           data_testid="reply-error")),
                        rx.button(rx.icon("send", size=14), T["reply.send"], size="1", type="submit",
                                  data_testid="reply-send"),
                        align="end",
                        width="100%",
                    ),
                    on_submit=LeadReplyState.send_reply,
                    reset_on_submit=True,
                    key=LeadReplyState.reply_key,
                    width="100%",
                ),
                spacing="2",
                width="100%",
            ),
        ),
        key=LeadReplyState.lead_id,
        on_mount=LeadReplyState.load_reply,
        width="100%",
    )
