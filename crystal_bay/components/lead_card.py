"""A lead's card on the board: what a manager needs at a glance, a menu to move it, draggable."""

from __future__ import annotations

import reflex as rx
import reflex_pragmatic_dnd as dnd

from crystal_bay.state.board import BoardState, CardView, Option

CHANNEL_ICONS = {
    "telegram": "send",
    "whatsapp": "message-circle",
    "email": "mail",
    "website": "globe",
    "api": "plug",
    "phone": "phone",
    "walk_in": "footprints",
}


def channel_icon(channel) -> rx.Component:
    return rx.match(
        channel,
        *[(name, rx.icon(icon, size=14, color=rx.color("accent", 10))) for name, icon in CHANNEL_ICONS.items()],
        rx.icon("circle-help", size=14),
    )


def icon_text(icon: str, text, **props) -> rx.Component:
    """A small icon followed by text on one line."""
    return rx.hstack(
        rx.icon(icon, size=12, flex_shrink="0"), rx.text(text, size="1", **props), spacing="1", align="center"
    )


def _move_item(card: CardView, stage: Option) -> rx.Component:
    return rx.dropdown_menu.item(
        stage.label,
        on_click=BoardState.move_to(card.id, stage.value),
        disabled=stage.value == card.stage_id.to_string(),
    )


def card_menu(card: CardView) -> rx.Component:
    t = BoardState.t
    return rx.dropdown_menu.root(
        rx.dropdown_menu.trigger(
            rx.icon_button(
                rx.icon("ellipsis-vertical", size=14),
                size="1",
                variant="ghost",
                aria_label=t["card.menu"],
                data_testid="card-menu",
            ),
        ),
        rx.dropdown_menu.content(
            rx.dropdown_menu.item(t["card.open"], on_click=rx.redirect("/lead/" + card.id.to_string())),
            rx.dropdown_menu.sub(
                rx.dropdown_menu.sub_trigger(t["card.move_to"]),
                rx.dropdown_menu.sub_content(rx.foreach(BoardState.stages, lambda s: _move_item(card, s))),
            ),
            rx.dropdown_menu.separator(),
            rx.cond(
                card.lost,
                rx.dropdown_menu.item(t["card.reopen"], on_click=BoardState.reopen(card.id)),
                rx.fragment(
                    rx.dropdown_menu.item(t["card.won"], on_click=BoardState.mark_won(card.id)),
                    rx.dropdown_menu.item(t["card.lost"], color="red", on_click=BoardState.ask_lost(card.id)),
                ),
            ),
        ),
    )


def lead_card(card: CardView) -> rx.Component:
    t = BoardState.t
    body = rx.card(
        rx.vstack(
            rx.hstack(
                channel_icon(card.channel),
                rx.link(
                    card.customer_name,
                    href="/lead/" + card.id.to_string(),
                    weight="bold",
                    size="2",
                    high_contrast=True,
                    draggable=False,
                    data_testid="card-name",
                ),
                rx.spacer(),
                rx.cond(
                    card.has_score,
                    rx.badge(
                        card.score,
                        color_scheme=rx.cond(card.score >= 70, "green", rx.cond(card.score >= 40, "amber", "gray")),
                        variant="soft",
                        size="1",
                        title=t["card.score"],
                    ),
                ),
                card_menu(card),
                align="center",
                spacing="1",
                width="100%",
            ),
            rx.cond(card.destination != "", icon_text("map-pin", card.destination)),
            rx.hstack(
                rx.cond(card.dates != "", rx.text(card.dates, size="1", color_scheme="gray")),
                rx.cond(
                    card.travellers != "",
                    icon_text("users", card.travellers, color_scheme="gray"),
                ),
                spacing="2",
            ),
            rx.hstack(
                rx.cond(card.budget != "", rx.text(card.budget, size="1", weight="medium")),
                rx.spacer(),
                rx.cond(
                    card.since_message != "",
                    rx.tooltip(
                        icon_text("clock", card.since_message, color_scheme="gray"), content=t["card.since_message"]
                    ),
                ),
                rx.cond(
                    card.assignee_initials != "",
                    rx.avatar(fallback=card.assignee_initials, size="1", radius="full"),
                    rx.tooltip(rx.icon("user-x", size=14, color=rx.color("gray", 9)), content=t["card.unassigned"]),
                ),
                width="100%",
                align="center",
                spacing="2",
                data_testid="card-footer",
            ),
            rx.hstack(
                rx.cond(card.overdue, rx.badge(t["card.overdue"], color_scheme="red", size="1", data_testid="overdue")),
                rx.cond(card.needs_human, rx.badge(t["card.needs_human"], color_scheme="orange", size="1")),
                rx.cond(card.lost, rx.badge(t["card.lost_badge"], color_scheme="gray", size="1")),
                rx.foreach(card.tags, lambda tag: rx.badge(tag, variant="outline", size="1")),
                wrap="wrap",
                spacing="1",
            ),
            spacing="1",
            width="100%",
        ),
        size="1",
        width="100%",
        class_name="lead-card",
    )
    return rx.box(
        dnd.draggable(
            body, drag_id="lead-" + card.id.to_string(), item_data={"lead_id": card.id, "stage_id": card.stage_id}
        ),
        data_lead_id=card.id,
        width="100%",
    )
