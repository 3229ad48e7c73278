"""The lead workspace page (/lead/<id>): customer, timeline, travel request, assignment, tags, reminders."""

from __future__ import annotations

import reflex as rx

from crystal_bay.components.ai_panel import ai_panel
from crystal_bay.components.lead_card import channel_icon, icon_text
from crystal_bay.components.lead_reply import reply_box
from crystal_bay.components.poller import poller
from crystal_bay.components.shell import shell
from crystal_bay.components.tours_panel import tours_panel
from crystal_bay.state.lead import LeadState, OtherLead, ReminderRow, TimelineRow

T = LeadState.t
NOBODY = "__nobody__"


def _field(label_key: str, name: str, value, **props) -> rx.Component:
    return rx.vstack(
        rx.text(T[label_key], size="1", color_scheme="gray"),
        rx.input(name=name, default_value=value, size="1", width="100%", **props),
        spacing="0",
        width="100%",
    )


def header() -> rx.Component:
    return rx.hstack(
        rx.link(icon_text("arrow-left", T["nav.board"]), href="/"),
        rx.heading(LeadState.title, size="6", data_testid="lead-title"),
        channel_icon(LeadState.source),
        rx.badge(LeadState.stage_name, size="2", data_testid="lead-stage"),
        rx.cond(LeadState.outcome == "lost", rx.badge(T["card.lost_badge"], color_scheme="gray")),
        rx.cond(LeadState.score != "", rx.badge(T["card.score"], ": ", LeadState.score, variant="soft",
                                                title=LeadState.score_reasons.join("; "))),
        rx.spacer(),
        rx.select.root(
            rx.select.trigger(placeholder=T["card.move_to"]),
            rx.select.content(rx.foreach(LeadState.stages, lambda o: rx.select.item(o.label, value=o.value))),
            value=LeadState.stage_id,
            on_change=LeadState.move_to,
            size="1",
        ),
        align="center",
        spacing="3",
        width="100%",
        wrap="wrap",
    )


def customer_view() -> rx.Component:
    c = LeadState.customer
    return rx.vstack(
        rx.hstack(rx.icon("user", size=14), rx.text(c["name"], weight="bold"), spacing="2", align="center"),
        rx.cond(c["phones"] != "", icon_text("phone", c["phones_display"], data_testid="customer-phones")),
        rx.cond(c["email"] != "", icon_text("mail", c["email"])),
        rx.cond(c["telegram_username"] != "", icon_text("send", "@" + c["telegram_username"])),
        rx.cond(c["whatsapp_id"] != "", icon_text("message-circle", c["whatsapp_id"])),
        rx.text(T["lead.language"], ": ", c["language_name"], size="1", color_scheme="gray",
                data_testid="customer-language"),
        spacing="1",
    )


def customer_form() -> rx.Component:
    c = LeadState.customer
    return rx.form(
        rx.vstack(
            _field("create.name", "name", c["name"], required=True),
            _field("lead.phones", "phones", c["phones"]),
            _field("create.email", "email", c["email"]),
            _field("lead.telegram", "telegram_username", c["telegram_username"]),
            _field("lead.whatsapp", "whatsapp_id", c["whatsapp_id"]),
            rx.select.root(
                rx.select.trigger(),
                rx.select.content(rx.select.item("Русский", value="ru"), rx.select.item("English", value="en")),
                name="language",
                default_value=c["language"],
                size="1",
            ),
            rx.cond(LeadState.customer_error != "",
                    rx.callout(LeadState.customer_error, color_scheme="red", size="1", data_testid="customer-error")),
            rx.hstack(
                rx.button(T["common.cancel"], type="button", variant="soft", color_scheme="gray", size="1",
                          on_click=LeadState.toggle_edit_customer),
                rx.button(T["common.save"], type="submit", size="1"),
                justify="end",
                width="100%",
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=LeadState.save_customer,
        key=LeadState.form_key,
    )


def _other_lead(o: OtherLead) -> rx.Component:
    return rx.link(rx.text("#", o.lead_id, " · ", o.stage, " · ", o.created, size="1"), href="/lead/" + o.lead_id.to_string())


def customer_block() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(T["lead.customer"], weight="bold", size="2"),
                rx.spacer(),
                rx.cond(~LeadState.editing_customer,
                        rx.icon_button(rx.icon("pencil", size=14), size="1", variant="ghost",
                                       on_click=LeadState.toggle_edit_customer, aria_label=T["lead.edit"])),
                width="100%",
            ),
            rx.cond(LeadState.editing_customer, customer_form(), customer_view()),
            rx.cond(LeadState.other_leads.length() > 0,
                    rx.vstack(rx.text(T["lead.other_leads"], size="1", color_scheme="gray"),
                              rx.foreach(LeadState.other_leads, _other_lead), spacing="0")),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def travel_block() -> rx.Component:
    tr = LeadState.travel
    grid = [
        ("travel.departure_city", "departure_city"), ("travel.country", "country"), ("travel.resort", "resort"),
        ("travel.date_from", "date_from"), ("travel.date_to", "date_to"), ("travel.nights_min", "nights_min"),
        ("travel.nights_max", "nights_max"), ("travel.adults", "adults"), ("travel.children", "children"),
        ("travel.children_ages", "children_ages"), ("travel.budget", "budget"), ("travel.currency", "currency"),
        ("travel.hotel_stars", "hotel_stars"), ("travel.meal", "meal"),
    ]
    kinds = {"date_from": "date", "date_to": "date"}
    return rx.card(
        rx.form(
            rx.vstack(
                rx.text(T["lead.travel"], weight="bold", size="2"),
                rx.grid(*[_field(label, name, tr[name], type=kinds.get(name, "text")) for label, name in grid],
                        columns="3", spacing="2", width="100%"),
                rx.cond(LeadState.travel_error != "",
                        rx.callout(LeadState.travel_error, color_scheme="red", size="1", data_testid="travel-error")),
                rx.hstack(rx.button(T["common.save"], type="submit", size="1"), justify="end", width="100%"),
                spacing="2",
                width="100%",
            ),
            on_submit=LeadState.save_travel,
            key=LeadState.form_key,
        ),
        width="100%",
    )


def assignment_block() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(T["lead.assignee"], weight="bold", size="2"),
            rx.hstack(
                rx.select.root(
                    rx.select.trigger(placeholder=T["card.unassigned"], min_width="12em"),
                    rx.select.content(
                        rx.select.item(T["card.unassigned"], value=NOBODY),
                        rx.foreach(LeadState.managers, lambda o: rx.select.item(o.label, value=o.value)),
                    ),
                    value=rx.cond(LeadState.assignee_id == "", NOBODY, LeadState.assignee_id),
                    on_change=LeadState.assign,
                    size="1",
                    name="assignee",
                ),
                rx.button(T["lead.assign_me"], size="1", variant="soft", on_click=LeadState.assign_to_me,
                          data_testid="assign-me"),
                spacing="2",
            ),
            rx.text(T["lead.tags"], weight="bold", size="2"),
            rx.flex(
                rx.foreach(
                    LeadState.tags,
                    lambda tag: rx.badge(tag, rx.icon("x", size=10, cursor="pointer", on_click=LeadState.remove_tag(tag)),
                                         variant="outline"),
                ),
                spacing="1",
                wrap="wrap",
            ),
            rx.form(
                rx.hstack(
                    rx.input(name="tag", placeholder=T["lead.add_tag"], list="tag-suggestions", size="1",
                             auto_complete="off", on_change=LeadState.suggest_tags.debounce(250),
                             on_focus=LeadState.suggest_tags("")),
                    rx.el.datalist(rx.foreach(LeadState.tag_suggestions, lambda t: rx.el.option(value=t)),
                                   id="tag-suggestions"),
                    rx.button(rx.icon("plus", size=12), size="1", type="submit", variant="soft"),
                    spacing="1",
                ),
                on_submit=LeadState.add_tag,
                reset_on_submit=True,
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def _reminder(r: ReminderRow) -> rx.Component:
    return rx.hstack(
        rx.checkbox(checked=r.done, disabled=r.done, on_change=lambda _v: LeadState.complete_reminder(r.reminder_id)),
        rx.text(r.due, size="1", color=rx.cond(r.overdue, rx.color("red", 10), rx.color("gray", 10))),
        rx.text(r.text, size="2", text_decoration=rx.cond(r.done, "line-through", "none")),
        spacing="2",
        align="center",
    )


def reminders_block() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(T["lead.reminders"], weight="bold", size="2"),
            rx.foreach(LeadState.reminders, _reminder),
            rx.form(
                rx.hstack(
                    rx.input(name="due", type="datetime-local", required=True, size="1"),
                    rx.input(name="text", placeholder=T["lead.reminder_text"], required=True, size="1", flex="1"),
                    rx.button(T["lead.remind"], size="1", type="submit"),
                    spacing="1",
                    width="100%",
                ),
                on_submit=LeadState.set_reminder,
                reset_on_submit=True,
                width="100%",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def _timeline_row(item: TimelineRow) -> rx.Component:
    bg = rx.match(item.kind, ("note", rx.color("amber", 3)), ("event", rx.color("gray", 2)),
                  rx.cond(item.direction == "inbound", rx.color("accent", 3), rx.color("green", 3)))
    return rx.box(
        rx.hstack(rx.text(item.author, weight="bold", size="1"), rx.text(item.at, size="1", color_scheme="gray"),
                  rx.cond(item.kind == "message", rx.badge(T["channel." + item.channel], size="1", variant="soft",
                                                           data_testid="message-channel")), spacing="2"),
        rx.text(item.text, size="2", white_space="pre-wrap"),
        background=bg,
        padding="0.5em 0.75em",
        border_radius="8px",
        width="100%",
        class_name="timeline-item",
        data_kind=item.kind,
    )


def timeline_block() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(T["lead.timeline"], weight="bold", size="2"),
            rx.vstack(rx.foreach(LeadState.timeline, _timeline_row), spacing="2", width="100%",
                      data_testid="timeline"),
            rx.form(
                rx.vstack(
                    rx.text_area(name="note", placeholder=T["lead.note_placeholder"], required=True, width="100%"),
                    rx.button(T["lead.add_note"], size="1", type="submit", data_testid="add-note"),
                    align="end",
                    width="100%",
                ),
                on_submit=LeadState.add_note,
                reset_on_submit=True,
                width="100%",
            ),
            reply_box(),  # a reply to the customer's Telegram chat (services.messaging)
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def lead_content() -> rx.Component:
    return rx.cond(
        LeadState.found,
        rx.vstack(
            rx.el.style(".cb-ch{color:var(--accent-10);flex-shrink:0}"),  # the channel icon, as on the board
            header(),
            rx.grid(
                rx.vstack(customer_block(), assignment_block(), reminders_block(), travel_block(), spacing="3"),
                rx.vstack(ai_panel(), timeline_block(), spacing="3"),
                columns="2",
                spacing="4",
                width="100%",
            ),
            tours_panel(),
            poller(on_tick=LeadState.poll, interval_ms=3000),
            spacing="4",
            width="100%",
        ),
        rx.callout(T["error.not_found"], color_scheme="red", icon="triangle-alert"),
    )


def lead_page() -> rx.Component:
    return shell(lead_content)
