"""The board page: filters, the Kanban (drag and drop or card menu), today's reminders, new lead."""

from __future__ import annotations

import reflex as rx
import reflex_pragmatic_dnd as dnd

from crystal_bay.components.lead_card import CARD_CSS, lead_card
from crystal_bay.components.poller import poller
from crystal_bay.components.shell import shell
from crystal_bay.state.board import BoardState, ColumnView, TodayItem

ALL = "__all__"

# The board is a fixed-height area: the columns scroll sideways together, each column's cards scroll on
# their own, so the page itself never becomes one tall, wide box. The page's height leaves room for the
# shell's padding (3em) and, in demo mode, its banner (one line, ~4em with the gap).
BOARD_CSS = CARD_CSS + """
.cb-page{height:calc(100vh - 3.25em);display:flex;flex-direction:column;gap:12px;min-width:0;width:100%}
.cb-page.cb-demo{height:calc(100vh - 7.5em)}
.cb-page > *{flex-shrink:0}
.cb-page > .cb-board{flex:1 1 auto;min-height:16em;overflow-x:auto;overflow-y:hidden;padding-bottom:6px}
.cb-columns{display:flex;gap:12px;height:100%;align-items:stretch;width:max-content}
.cb-col-drop{height:100%}
.cb-col{width:17.5em;height:100%;display:flex;flex-direction:column;background:var(--gray-2);border-radius:10px;
  border:1px solid var(--gray-a3);content-visibility:auto;contain-intrinsic-size:17.5em 30em}
.cb-col-head{padding:8px 10px 6px;border-bottom:1px solid var(--gray-a4)}
.cb-col-title{display:flex;align-items:center;gap:6px;font-weight:600;font-size:14px}
.cb-count{background:var(--accent-a3);color:var(--accent-11);border-radius:999px;padding:0 7px;font-size:12px;
  line-height:18px;font-weight:500}
.cb-totals{font-size:12px;color:var(--gray-11);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.cb-col-body{flex:1 1 auto;overflow-y:auto;padding:8px;display:flex;flex-direction:column;gap:8px}
.cb-more{all:unset;cursor:pointer;text-align:center;font-size:12px;padding:4px;border-radius:6px;
  background:var(--accent-a3);color:var(--accent-11)}
.cb-more:hover{background:var(--accent-a4)}
.cb-lost{width:8em;height:100%;border:2px dashed var(--red-6);border-radius:10px;display:flex;flex-direction:column;
  align-items:center;justify-content:center;gap:6px;font-size:12px;text-align:center;padding:8px;color:var(--gray-11)}
.cb-lost > svg{color:var(--red-9)}
[data-over="true"] > .cb-col{outline:2px solid var(--accent-8)}
[data-over="true"] > .cb-lost{background:var(--red-a2)}
.cb-today{max-height:9em;overflow-y:auto}
"""


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


def _tag_filter() -> rx.Component:
    """Type to find a tag (looked up as you type); picking or typing an existing tag filters by it.
    A tag from the URL shows as typed even when it is not among the suggestions."""
    return _labelled(
        "filter.tag",
        rx.fragment(
            rx.debounce_input(
                rx.input(
                    value=BoardState.tag_query,
                    on_change=BoardState.type_tag,
                    on_focus=BoardState.type_tag(BoardState.tag_query),
                    placeholder=BoardState.t["filter.tag_hint"],
                    list="board-tag-options",
                    size="1",
                    width="11em",
                    name="filter-tag",
                    auto_complete="off",
                ),
                debounce_timeout=250,
            ),
            rx.el.datalist(rx.foreach(BoardState.tag_matches, lambda tag: rx.el.option(value=tag)),
                           id="board-tag-options"),
        ),
    )


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
        _tag_filter(),
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
    return dnd.drop_target(
        rx.el.div(
            rx.el.div(
                rx.el.div(
                    rx.el.span(col.title),
                    rx.el.span(col.count, class_name="cb-count", data_testid="column-count"),
                    class_name="cb-col-title",
                ),
                rx.el.div(rx.cond(col.totals != "", col.totals, "—"), class_name="cb-totals",
                          data_testid="column-totals"),
                class_name="cb-col-head",
            ),
            dnd.scroll_container(
                rx.foreach(col.cards, lead_card),
                rx.cond(
                    col.has_more,
                    rx.el.button(BoardState.t["board.load_more"], type="button", class_name="cb-more",
                                 on_click=BoardState.load_more(col.key)),
                ),
                allowed_axis="vertical",
                class_name="cb-col-body",
            ),
            class_name="cb-col",
        ),
        drop_id="column-" + col.key,
        target_data={"stage_id": col.stage_id, "key": col.key, "kind": "stage"},
        data_stage_id=col.key,
        class_name="cb-col-drop",
    )


def lost_zone() -> rx.Component:
    return dnd.drop_target(
        rx.el.div(
            rx.icon("circle-x", size=20),
            rx.el.span(BoardState.t["board.drop_lost"]),
            class_name="cb-lost",
        ),
        drop_id="column-lost",
        target_data={"kind": "lost"},
        data_stage_id="lost",
        class_name="cb-col-drop",
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


def _form_field(label, control: rx.Component, control_id: str) -> rx.Component:
    """A labelled control: the label sits above and is tied to the control (clicking it focuses it)."""
    return rx.vstack(
        rx.el.label(label, html_for=control_id, class_name="rt-Text rt-r-size-2 rt-r-weight-medium"),
        control,
        spacing="1",
        width="100%",
    )


def create_dialog() -> rx.Component:
    t = BoardState.t
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("plus", size=16), t["board.new_lead"], size="2", data_testid="new-lead")),
        rx.dialog.content(
            rx.dialog.title(t["create.title"]),
            rx.form(
                rx.vstack(
                    _form_field(t["create.name"], rx.input(id="create-name", name="name", required=True, width="100%"),
                                "create-name"),
                    _form_field(t["create.phone_label"], rx.input(id="create-phone", name="phone", type="tel",
                                                                  placeholder=t["create.phone_hint"], width="100%"),
                                "create-phone"),
                    _form_field(t["create.email_label"], rx.input(id="create-email", name="email", type="email",
                                                                  width="100%"), "create-email"),
                    _form_field(t["create.source"], rx.select.root(
                        rx.select.trigger(id="create-source", width="100%"),
                        rx.select.content(
                            rx.select.item(t["channel.phone"], value="phone"),
                            rx.select.item(t["channel.walk_in"], value="walk_in"),
                            rx.select.item(t["channel.email"], value="email"),
                            rx.select.item(t["channel.whatsapp"], value="whatsapp"),
                            rx.select.item(t["channel.telegram"], value="telegram"),
                        ),
                        name="source",
                        default_value="phone",
                    ), "create-source"),
                    _form_field(t["create.message_label"],
                                rx.text_area(id="create-message", name="message", width="100%"), "create-message"),
                    rx.checkbox(t["create.assign_to_me"], name="assign_to_me", default_checked=True, size="2"),
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
        rx.link(item.customer_name, href=item.href, size="2", weight="medium"),
        rx.text(item.text, size="2"),
        align="center",
        spacing="2",
    )


def today_panel() -> rx.Component:
    return rx.cond(
        BoardState.today.length() > 0,
        rx.card(
            rx.vstack(
                rx.hstack(rx.icon("bell", size=14), rx.text(BoardState.t["board.today"], weight="bold", size="2"),
                          spacing="1", align="center"),
                rx.foreach(BoardState.today, _today_item),
                spacing="1",
            ),
            size="1",
            class_name="cb-today",
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
    return rx.el.div(
        rx.el.style(BOARD_CSS),
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
        dnd.scroll_container(
            dnd.monitor(on_drop=BoardState.on_drop),
            rx.el.div(
                rx.foreach(BoardState.columns, column),
                rx.cond(BoardState.group_by == "stage", lost_zone()),
                class_name="cb-columns",
            ),
            allowed_axis="horizontal",
            class_name="cb-board",
            data_testid="board",
        ),
        lost_dialog(),
        poller(on_tick=BoardState.poll, interval_ms=3000),
        class_name=rx.cond(BoardState.demo_mode, "cb-page cb-demo", "cb-page"),
    )


def board_page() -> rx.Component:
    return shell(board_content)
