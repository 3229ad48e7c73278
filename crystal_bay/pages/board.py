"""The board page: filters, the Kanban (drag and drop or card menu), today's reminders, new lead."""

from __future__ import annotations

import reflex as rx
import reflex_pragmatic_dnd as dnd

from crystal_bay.components.lead_card import lead_card
from crystal_bay.components.shell import shell
from crystal_bay.state.board import BoardState, ColumnView, TodayItem

ALL = "__all__"


def _select(key: str, value, options, placeholder_key: str, extra: list[tuple[str, str]] | None = None):
    t = BoardState.t
    return _labelled(
        placeholder_key,
        rx.select.root(
            rx.select.trigger(placeholder=t[placeholder_key], min_width="8em"),
            rx.select.content(
                rx.select.item(t["filter.all"], value=ALL),
                *[rx.select.item(t[label_key], value=v) for v, label_key in (extra or [])],
                rx.foreach(options, lambda o: rx.select.item(o.label, value=o.value)),
            ),
            value=rx.cond(value == "", ALL, value),
            on_change=lambda v: BoardState.set_filter(key, v),
            size="1",
            name=f"filter-{key}",
        ),
    )


def _labelled(label_key: str, control: rx.Component) -> rx.Component:
    return rx.hstack(
        rx.text(BoardState.t[label_key], size="1", color_scheme="gray"), control, spacing="1", align="center"
    )


def _tag_options():
    return rx.foreach(BoardState.tags, lambda tag: rx.select.item(tag, value=tag))


def filters_bar() -> rx.Component:
    t = BoardState.t
    return rx.flex(
        rx.debounce_input(
            rx.input(
                rx.input.slot(rx.icon("search", size=14)),
                placeholder=t["filter.search"],
                value=BoardState.f_search,
                on_change=lambda v: BoardState.set_filter("q", v),
                size="1",
                min_width="20em",
                name="q",
            ),
            debounce_timeout=400,
        ),
        _select(
            "assignee",
            BoardState.f_assignee,
            BoardState.managers,
            "filter.assignee",
            extra=[("mine", "filter.mine"), ("unassigned", "filter.unassigned")],
        ),
        _select("channel", BoardState.f_channel, BoardState.channel_options, "filter.channel"),
        _labelled(
            "filter.tag",
            rx.select.root(
                rx.select.trigger(placeholder=t["filter.tag"], min_width="8em"),
                rx.select.content(rx.select.item(t["filter.all"], value=ALL), _tag_options()),
                value=rx.cond(BoardState.f_tag == "", ALL, BoardState.f_tag),
                on_change=lambda v: BoardState.set_filter("tag", v),
                size="1",
                name="filter-tag",
            ),
        ),
        _select("status", BoardState.f_status, BoardState.status_options, "filter.status"),
        rx.hstack(
            rx.text(t["filter.created"], size="1"),
            rx.input(
                type="date",
                value=BoardState.f_from,
                on_change=lambda v: BoardState.set_filter("from", v),
                size="1",
                name="from",
            ),
            rx.text("—", size="1"),
            rx.input(
                type="date",
                value=BoardState.f_to,
                on_change=lambda v: BoardState.set_filter("to", v),
                size="1",
                name="to",
            ),
            align="center",
            spacing="1",
        ),
        rx.text(
            rx.switch(
                checked=BoardState.f_overdue, on_change=lambda v: BoardState.toggle_filter("overdue", v), size="1"
            ),
            " ",
            t["filter.overdue"],
            as_="label",
            size="1",
        ),
        rx.text(
            rx.switch(checked=BoardState.f_lost, on_change=lambda v: BoardState.toggle_filter("lost", v), size="1"),
            " ",
            t["filter.lost"],
            as_="label",
            size="1",
        ),
        rx.cond(
            BoardState.filters_active,
            rx.button(
                rx.icon("x", size=14), t["filter.clear"], size="1", variant="ghost", on_click=BoardState.clear_filters
            ),
        ),
        spacing="2",  # `gap="2"` would be the CSS gap 2 (invalid, so none): Radix's scale is `spacing`
        wrap="wrap",
        align="center",
    )


def column(col: ColumnView) -> rx.Component:
    t = BoardState.t
    return dnd.drop_target(
        rx.vstack(
            rx.vstack(
                rx.hstack(
                    rx.text(col.title, weight="bold", size="2"),
                    rx.badge(col.count, variant="soft", radius="full", data_testid="column-count"),
                    align="center",
                    spacing="2",
                ),
                rx.text(rx.cond(col.totals != "", col.totals, "—"), size="1", color_scheme="gray"),
                spacing="0",
                padding_bottom="0.25em",
            ),
            rx.foreach(col.cards, lead_card),
            rx.cond(
                col.has_more,
                rx.button(
                    t["board.load_more"], size="1", variant="soft", width="100%", on_click=BoardState.load_more(col.key)
                ),
            ),
            spacing="2",
            width="17em",
            min_width="17em",
            min_height="60vh",
            padding="0.5em",
            background=rx.color("gray", 2),
            border_radius="10px",
        ),
        drop_id="column-" + col.key,
        target_data={"stage_id": col.stage_id, "key": col.key, "kind": "stage"},
        data_stage_id=col.key,
    )


def lost_zone() -> rx.Component:
    return dnd.drop_target(
        rx.center(
            rx.vstack(
                rx.icon("circle-x", size=20, color=rx.color("red", 9)),
                rx.text(BoardState.t["board.drop_lost"], size="1", align="center"),
                align="center",
            ),
            width="8em",
            min_height="60vh",
            border=f"2px dashed {rx.color('red', 6)}",
            border_radius="10px",
        ),
        drop_id="column-lost",
        target_data={"kind": "lost"},
        data_stage_id="lost",
    )


def lost_dialog() -> rx.Component:
    t = BoardState.t
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(t["lost.title"]),
            rx.form(
                rx.vstack(
                    rx.text(t["lost.reason"], size="2"),
                    rx.input(name="reason", required=True, placeholder=t["lost.placeholder"], width="100%"),
                    rx.hstack(
                        rx.alert_dialog.cancel(
                            rx.button(
                                t["common.cancel"],
                                variant="soft",
                                color_scheme="gray",
                                type="button",
                                on_click=BoardState.cancel_lost,
                            )
                        ),
                        rx.button(t["lost.confirm"], color_scheme="red", type="submit"),
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=BoardState.confirm_lost,
                reset_on_submit=True,
            ),
        ),
        open=BoardState.lost_dialog_open,
    )


def create_dialog() -> rx.Component:
    t = BoardState.t
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("plus", size=16), t["board.new_lead"], size="2", data_testid="new-lead")),
        rx.dialog.content(
            rx.dialog.title(t["create.title"]),
            rx.form(
                rx.vstack(
                    rx.input(name="name", placeholder=t["create.name"], required=True, width="100%"),
                    rx.input(name="phone", placeholder=t["create.phone"], width="100%"),
                    rx.input(name="email", type="email", placeholder=t["create.email"], width="100%"),
                    rx.select.root(
                        rx.select.trigger(width="100%"),
                        rx.select.content(
                            rx.select.item(t["channel.phone"], value="phone"),
                            rx.select.item(t["channel.walk_in"], value="walk_in"),
                            rx.select.item(t["channel.email"], value="email"),
                            rx.select.item(t["channel.whatsapp"], value="whatsapp"),
                            rx.select.item(t["channel.telegram"], value="telegram"),
                        ),
                        name="source",
                        default_value="phone",
                    ),
                    rx.text_area(name="message", placeholder=t["create.message"], width="100%"),
                    rx.text(
                        rx.checkbox(name="assign_to_me", default_checked=True),
                        " ",
                        t["create.assign_to_me"],
                        as_="label",
                        size="2",
                    ),
                    rx.cond(
                        BoardState.create_error != "",
                        rx.callout(BoardState.create_error, color_scheme="red", icon="triangle-alert", size="1"),
                    ),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button(t["common.cancel"], variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button(t["create.submit"], type="submit"),
                        justify="end",
                        width="100%",
                    ),
                    spacing="2",
                ),
                on_submit=BoardState.create_lead,
            ),
        ),
        open=BoardState.create_open,
        on_open_change=BoardState.open_create,
    )


def _today_item(item: TodayItem) -> rx.Component:
    return rx.hstack(
        rx.checkbox(on_change=lambda _v: BoardState.complete_reminder(item.reminder_id)),
        rx.text(item.due, size="1", color=rx.cond(item.overdue, rx.color("red", 10), rx.color("gray", 10))),
        rx.link(item.customer_name, href="/lead/" + item.lead_id.to_string(), size="2", weight="medium"),
        rx.text(item.text, size="2"),
        align="center",
        spacing="2",
    )


def today_panel() -> rx.Component:
    return rx.cond(
        BoardState.today.length() > 0,
        rx.card(
            rx.vstack(
                rx.text(rx.icon("bell", size=14), " ", BoardState.t["board.today"], weight="bold", size="2"),
                rx.foreach(BoardState.today, _today_item),
                spacing="1",
            ),
            size="1",
            data_testid="today",
        ),
    )


def _group_switch() -> rx.Component:
    t = BoardState.t
    return rx.segmented_control.root(
        rx.segmented_control.item(t["board.by_stage"], value="stage"),
        rx.segmented_control.item(t["board.by_status"], value="status"),
        value=BoardState.group_by,
        on_change=BoardState.set_group,
        size="1",
    )


def board_content() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading(BoardState.t["board.title"], size="6"),
            rx.spacer(),
            _group_switch(),
            create_dialog(),
            align="center",
            width="100%",
        ),
        filters_bar(),
        today_panel(),
        rx.box(
            dnd.monitor(
                rx.hstack(
                    rx.foreach(BoardState.columns, column),
                    rx.cond(BoardState.group_by == "stage", lost_zone()),
                    align="start",
                    spacing="3",
                ),
                on_drop=BoardState.on_drop,
            ),
            width="100%",
            overflow_x="auto",
            padding_bottom="1em",
        ),
        lost_dialog(),
        rx.moment(interval=3000, on_change=BoardState.poll, display="none"),
        spacing="3",
        width="100%",
        min_width="0",
    )


def board_page() -> rx.Component:
    return shell(board_content)
