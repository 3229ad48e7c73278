"""A lead's card on the board: what a manager needs at a glance, a menu to move it, draggable.

Cards are plain elements styled by the board's stylesheet (CARD_CSS, class names only): hundreds of
them are drawn at once, so no per-card style props (each would be an Emotion style computed per render),
tooltips, avatars or SVG icon components (icons are CSS masks, see board_icons); hover hints are `title`
attributes; a card out of sight is not styled, laid out or painted (`content-visibility: auto`).
Every text comes formatted from BoardState.
"""

from __future__ import annotations

import reflex as rx
import reflex_pragmatic_dnd as dnd

from crystal_bay.components.board_icons import ICON_CSS
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

CARD_CSS = ICON_CSS + """
.cb-card-box{content-visibility:auto;contain-intrinsic-size:auto 100px}
.cb-card{background:var(--color-panel-solid);border:1px solid var(--gray-a5);border-radius:8px;padding:8px 10px;
  display:flex;flex-direction:column;gap:4px;font-size:12px;line-height:16px;color:var(--gray-12);cursor:grab;
  box-shadow:0 1px 2px var(--black-a2)}
.cb-card:hover{border-color:var(--gray-a7)}
[data-dragging="true"] > .cb-card{opacity:.5}
.cb-card-head{display:flex;align-items:center;gap:6px;min-width:0}
.cb-name{font-weight:600;font-size:14px;line-height:20px;color:var(--gray-12);text-decoration:none;flex:1;min-width:0;
  overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.cb-name:hover{text-decoration:underline}
.cb-ch{color:var(--accent-10);flex-shrink:0}
.cb-line{display:flex;align-items:center;gap:4px;color:var(--gray-11);min-width:0}
.cb-row{display:flex;align-items:center;gap:8px;min-width:0}
.cb-row .cb-push{margin-left:auto}
.cb-budget{font-weight:500;color:var(--gray-12)}
.cb-muted{color:var(--gray-11);display:inline-flex;align-items:center;gap:3px}
.cb-score{border-radius:4px;padding:0 5px;font-weight:600;font-size:12px;line-height:18px;flex-shrink:0}
.cb-score-green{background:var(--green-a3);color:var(--green-11)}
.cb-score-amber{background:var(--amber-a3);color:var(--amber-11)}
.cb-score-gray{background:var(--gray-a3);color:var(--gray-11)}
.cb-avatar{display:inline-flex;align-items:center;justify-content:center;width:22px;height:22px;border-radius:50%;
  background:var(--accent-a3);color:var(--accent-11);font-size:10px;font-weight:600;flex-shrink:0}
.cb-nobody{color:var(--gray-9);display:inline-flex;width:22px;justify-content:center}
.cb-badges{display:flex;flex-wrap:wrap;gap:4px}
.cb-badges:empty{display:none}
.cb-badge{border-radius:4px;padding:0 6px;font-size:11px;line-height:18px;font-weight:500;white-space:nowrap}
.cb-red{background:var(--red-a3);color:var(--red-11)}
.cb-blue{background:var(--blue-a3);color:var(--blue-11)}
.cb-orange{background:var(--orange-a3);color:var(--orange-11)}
.cb-grey{background:var(--gray-a3);color:var(--gray-11)}
.cb-tag{box-shadow:inset 0 0 0 1px var(--accent-a7);color:var(--accent-11)}
.cb-menu{all:unset;cursor:pointer;border-radius:4px;display:inline-flex;padding:3px;color:var(--gray-11)}
.cb-menu:hover,.cb-menu:focus-visible{background:var(--gray-a4)}
.cb-menu:focus-visible{outline:2px solid var(--accent-8)}
"""


def channel_icon(channel) -> rx.Component:
    return rx.match(
        channel,
        *[(name, rx.icon(icon, size=14, class_name="cb-ch")) for name, icon in CHANNEL_ICONS.items()],
        rx.icon("circle-help", size=14, class_name="cb-ch"),
    )


def css_icon(name: str, *, big: bool = False) -> rx.Component:
    """One of board_icons' icons (a Lucide shape), in the text colour."""
    return rx.el.i(class_name=f"cb-i cb-i-{name}" + (" cb-i-14" if big else ""), aria_hidden="true")


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
            rx.el.button(
                css_icon("ellipsis-vertical", big=True),
                type="button",
                class_name="cb-menu",
                aria_label=t["card.menu"],
                data_testid="card-menu",
            ),
        ),
        rx.dropdown_menu.content(
            rx.dropdown_menu.item(t["card.open"], on_click=rx.redirect(card.href)),
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


def _badge(text, tone: str, **props) -> rx.Component:
    return rx.el.span(text, class_name=f"cb-badge cb-{tone}", **props)


def lead_card(card: CardView) -> rx.Component:
    t = BoardState.t
    body = rx.el.div(
        rx.el.div(
            rx.el.i(class_name="cb-i cb-i-14 cb-ch cb-ch-" + card.channel, title=card.channel_label),
            rx.el.a(card.customer_name, href=card.href, class_name="cb-name", draggable=False,
                    data_testid="card-name"),
            rx.cond(
                card.score != "",
                rx.el.span(card.score, class_name="cb-score cb-score-" + card.score_tone, title=card.score_title,
                           data_testid="card-score"),
            ),
            card_menu(card),
            class_name="cb-card-head",
        ),
        rx.cond(card.destination != "",
                rx.el.div(css_icon("map-pin"), rx.el.span(card.destination), class_name="cb-line")),
        rx.cond(
            (card.dates != "") | (card.travellers != ""),
            rx.el.div(
                rx.el.span(card.dates, class_name="cb-muted"),
                rx.cond(card.travellers != "",
                        rx.el.span(css_icon("users"), card.travellers, class_name="cb-muted")),
                class_name="cb-row",
            ),
        ),
        rx.el.div(
            rx.el.span(card.budget, class_name="cb-budget", data_testid="card-budget"),
            rx.el.span(
                rx.cond(card.since_message != "",
                        rx.el.span(css_icon("clock"), card.since_message, class_name="cb-muted",
                                   title=t["card.since_message"])),
                class_name="cb-push",
            ),
            rx.cond(
                card.assignee_initials != "",
                rx.el.span(card.assignee_initials, class_name="cb-avatar"),
                rx.el.span(css_icon("user-x", big=True), class_name="cb-nobody", title=t["card.unassigned"]),
            ),
            class_name="cb-row",
            data_testid="card-footer",
        ),
        rx.el.div(
            rx.cond(card.overdue, _badge(t["card.overdue"], "red", data_testid="overdue")),
            rx.cond(card.today, _badge(t["card.today"], "blue", data_testid="due-today", title=t["card.due_today"])),
            rx.cond(card.needs_human, _badge(t["card.needs_human"], "orange")),
            rx.cond(card.lost, _badge(t["card.lost_badge"], "grey")),
            rx.foreach(card.tags, lambda tag: _badge(tag, "tag")),
            class_name="cb-badges",
        ),
        class_name="lead-card cb-card",
    )
    return rx.el.div(
        dnd.draggable(body, drag_id="lead-" + card.id.to_string(),
                      item_data={"lead_id": card.id, "stage_id": card.stage_id}),
        data_lead_id=card.id,
        class_name="cb-card-box",
    )
