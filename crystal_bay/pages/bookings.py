"""The Bookings page (/bookings): list, payments, one booking, and booking an offer."""

from __future__ import annotations

import reflex as rx

from crystal_bay.components.shell import shell
from crystal_bay.state.bookings import BookingListRow, BookingsState, DuePaymentRow, PaymentRow, TravellerRow

T = BookingsState.t
STATUS_COLORS = (("requested", "amber"), ("confirmed", "blue"), ("paid", "green"), ("documents_issued", "cyan"),
                 ("travelled", "gray"), ("cancelled", "red"))


def _status_badge(status, text) -> rx.Component:
    return rx.badge(text, color_scheme=rx.match(status, *STATUS_COLORS, "gray"), data_testid="booking-status")


def tabs() -> rx.Component:
    def tab(view: str, key: str, icon: str) -> rx.Component:
        return rx.button(rx.icon(icon, size=14), T[key], size="2",
                         variant=rx.cond(BookingsState.view == view, "solid", "soft"),
                         on_click=BookingsState.show(view), data_testid=f"tab-{view}")

    return rx.hstack(tab("list", "bookings.tab_list", "list"), tab("payments", "bookings.tab_payments", "wallet"),
                     spacing="2")


def _list_row(r: BookingListRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link("№", r.booking_id, on_click=BookingsState.open_booking(r.booking_id), cursor="pointer")),
        rx.table.cell(rx.link(r.customer, href="/lead/" + r.lead_id.to_string())),
        rx.table.cell(r.hotel),
        rx.table.cell(r.dates),
        rx.table.cell(_status_badge(r.status, r.status_text)),
        rx.table.cell(r.claim),
        rx.table.cell(r.client_price),
        rx.table.cell(r.paid),
        rx.table.cell(rx.text(r.due, color_scheme="amber")),
        class_name="booking-row",
    )


def bookings_list() -> rx.Component:
    statuses = [("all", "bookings.all"), *[(s, f"bookings.status.{s}") for s, _ in STATUS_COLORS]]
    return rx.vstack(
        rx.select.root(
            rx.select.trigger(),
            rx.select.content(*[rx.select.item(T[key], value=value) for value, key in statuses]),
            value=BookingsState.status_filter,
            on_change=BookingsState.set_filter,
            size="1",
        ),
        rx.cond(
            BookingsState.rows.length() == 0,
            rx.text(T["bookings.empty"], color_scheme="gray"),
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[k]) for k in (
                    "bookings.col.no", "bookings.col.customer", "bookings.col.hotel", "bookings.col.dates",
                    "bookings.col.status", "bookings.col.claim", "bookings.col.price", "bookings.col.paid",
                    "bookings.col.due")])),
                rx.table.body(rx.foreach(BookingsState.rows, _list_row)),
                size="1",
                width="100%",
                data_testid="bookings-table",
            ),
        ),
        spacing="3",
        width="100%",
    )


def _due_row(r: DuePaymentRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(r.due, color_scheme=rx.cond(r.overdue, "red", "gray"), weight="bold")),
        rx.table.cell(rx.badge(r.days_text, color_scheme=rx.cond(r.overdue, "red", "amber"))),
        rx.table.cell(r.kind_text),
        rx.table.cell(rx.text(r.amount, weight="bold")),
        rx.table.cell(rx.link(r.customer, href="/lead/" + r.lead_id.to_string())),
        rx.table.cell(r.hotel),
        rx.table.cell(rx.link("№", r.booking_id, on_click=BookingsState.open_booking(r.booking_id), cursor="pointer")),
        class_name="due-row",
        data_overdue=r.overdue,
    )


def payments_view() -> rx.Component:
    return rx.vstack(
        rx.text(T["bookings.payments_hint"], size="2", color_scheme="gray"),
        rx.cond(
            BookingsState.due_rows.length() == 0,
            rx.text(T["bookings.no_payments"], color_scheme="gray"),
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[k]) for k in (
                    "bookings.col.due_date", "bookings.col.when", "bookings.col.kind", "bookings.col.amount",
                    "bookings.col.customer", "bookings.col.hotel", "bookings.col.no")])),
                rx.table.body(rx.foreach(BookingsState.due_rows, _due_row)),
                size="1",
                width="100%",
                data_testid="payments-table",
            ),
        ),
        spacing="3",
        width="100%",
    )


def _kv(key: str, value) -> rx.Component:
    return rx.hstack(rx.text(T[key], size="2", color_scheme="gray", min_width="11em"), rx.text(value, size="2"),
                     spacing="2")


def _traveller(t: TravellerRow) -> rx.Component:
    return rx.table.row(rx.table.cell(t.name), rx.table.cell(t.birth),
                        rx.table.cell(rx.code(t.passport), data_testid="passport-masked"), rx.table.cell(t.expires))


def _payment(p: PaymentRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(p.kind_text),
        rx.table.cell(p.amount),
        rx.table.cell(rx.text(p.due, color_scheme=rx.cond(p.overdue, "red", "gray"))),
        rx.table.cell(rx.cond(
            p.is_paid,
            rx.badge("✓ ", p.paid, color_scheme="green"),
            rx.form(
                rx.hstack(
                    rx.el.input(type="hidden", name="payment_id", value=p.payment_id.to_string()),
                    rx.input(name="amount", default_value=p.amount_raw, size="1", width="8em"),
                    rx.input(name="paid_on", type="date", size="1"),
                    rx.button(T["bookings.record"], size="1", type="submit", variant="soft"),
                    spacing="1",
                ),
                on_submit=BookingsState.record_payment,
                reset_on_submit=False,
            ),
        )),
    )


def booking_detail() -> rx.Component:
    d = BookingsState.detail
    return rx.vstack(
        rx.hstack(
            rx.button(rx.icon("arrow-left", size=14), T["bookings.back"], size="1", variant="soft",
                      on_click=BookingsState.show("list")),
            rx.heading(T["bookings.booking_no"], d["id"], size="5", data_testid="booking-title"),
            _status_badge(d["status"], d["status_text"]),
            rx.spacer(),
            rx.link(d["customer"], href="/lead/" + d["lead_id"]),
            align="center",
            spacing="3",
            width="100%",
        ),
        rx.cond(BookingsState.detail_error != "",
                rx.callout(BookingsState.detail_error, color_scheme="red", size="1", data_testid="booking-error")),
        rx.grid(
            rx.card(rx.vstack(
                rx.text(T["bookings.tour"], weight="bold"),
                _kv("bookings.col.hotel", d["hotel"]), _kv("bookings.resort", d["resort"]),
                _kv("bookings.col.dates", d["dates"]), _kv("bookings.meal", d["meal"]), _kv("bookings.room", d["room"]),
                rx.form(
                    rx.hstack(rx.text(T["bookings.col.claim"], size="2", color_scheme="gray", min_width="11em"),
                              rx.input(name="claim", default_value=d["claim"], size="1"),
                              rx.button(T["common.save"], size="1", type="submit", variant="soft"), spacing="2"),
                    on_submit=BookingsState.save_claim,
                    key=d["id"] + d["claim"],
                ),
                spacing="2",
            )),
            rx.card(rx.vstack(
                rx.text(T["bookings.money"], weight="bold"),
                _kv("bookings.client_price", rx.text(d["client_price"], " · ", d["client_kzt"])),
                _kv("bookings.net_price", rx.text(d["net_price"], " · ", d["net_kzt"])),
                _kv("bookings.margin", rx.text(d["margin"], " (", d["margin_pct"], ") · ", d["margin_kzt"],
                                               data_testid="booking-margin")),
                _kv("bookings.rate", rx.text("1 ", d["currency"], " = ", d["rate"], " KZT")),
                spacing="2",
            )),
            columns="2",
            spacing="3",
            width="100%",
        ),
        rx.card(rx.vstack(
            rx.text(T["bookings.status_change"], weight="bold"),
            rx.cond(
                BookingsState.next_statuses.length() > 0,
                rx.form(
                    rx.hstack(
                        rx.select.root(
                            rx.select.trigger(placeholder=T["bookings.next_status"]),
                            rx.select.content(rx.foreach(BookingsState.next_statuses,
                                                         lambda o: rx.select.item(o.label, value=o.value))),
                            name="status",
                            size="1",
                        ),
                        rx.input(name="reason", placeholder=T["bookings.reason"], size="1", width="20em"),
                        rx.button(T["bookings.apply"], size="1", type="submit", data_testid="status-apply"),
                        spacing="2",
                        align="center",
                    ),
                    on_submit=BookingsState.change_status,
                    key=d["status"],
                ),
                rx.text(T["bookings.final"], size="2", color_scheme="gray"),
            ),
            rx.cond(d["cancel_reason"] != "", rx.text(T["bookings.reason"], ": ", d["cancel_reason"], size="2")),
            spacing="2",
        ), width="100%"),
        rx.card(rx.vstack(
            rx.text(T["bookings.travellers"], weight="bold"),
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[k]) for k in (
                    "bookings.t_name", "bookings.t_birth", "bookings.t_passport", "bookings.t_expires")])),
                rx.table.body(rx.foreach(BookingsState.detail_travellers, _traveller)),
                size="1",
                width="100%",
            ),
            spacing="2",
        ), width="100%"),
        rx.card(rx.vstack(
            rx.text(T["bookings.schedule"], weight="bold"),
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[k]) for k in (
                    "bookings.col.kind", "bookings.col.amount", "bookings.col.due_date", "bookings.col.paid")])),
                rx.table.body(rx.foreach(BookingsState.detail_payments, _payment)),
                size="1",
                width="100%",
                data_testid="schedule-table",
            ),
            spacing="2",
        ), width="100%"),
        spacing="3",
        width="100%",
        data_testid="booking-detail",
    )


def _field(label_key: str, name: str, value, **props) -> rx.Component:
    return rx.vstack(rx.text(T[label_key], size="1", color_scheme="gray"),
                     rx.input(name=name, default_value=value, size="1", width="100%", **props), spacing="0", width="100%")


def _slot(i) -> rx.Component:
    n = i.to_string()
    return rx.grid(
        rx.text(T["bookings.traveller"], " ", n, size="2", weight="bold", align_self="end"),
        _field("bookings.t_name", "t" + n + "_name", "", placeholder="IVANOV IVAN", required=True),
        _field("bookings.t_birth", "t" + n + "_birth", "", type="date", required=True),
        _field("bookings.t_passport", "t" + n + "_passport", "", placeholder="N12345678", required=True),
        _field("bookings.t_expires", "t" + n + "_expires", "", type="date", required=True),
        columns="5",
        spacing="2",
        width="100%",
        class_name="traveller-slot",
    )


def _recheck_panel() -> rx.Component:
    r = BookingsState.recheck
    return rx.match(
        r["state"],
        ("checking", rx.callout(rx.hstack(rx.spinner(size="1"), rx.text(T["bookings.rechecking"])), size="1")),
        ("same", rx.callout(T["bookings.recheck_same"], color_scheme="green", size="1", icon="circle-check",
                            data_testid="recheck-same")),
        ("accepted", rx.callout(T["bookings.price_updated"], color_scheme="green", size="1", icon="circle-check")),
        ("error", rx.callout(rx.text(T["bookings.recheck_error"], ": ", r["message"]), color_scheme="red",
                             size="1")),
        rx.callout(
            rx.vstack(
                rx.text(rx.cond(r["state"] == "lost", T["bookings.recheck_lost"], T["bookings.recheck_changed"]),
                        weight="bold"),
                rx.table.root(
                    rx.table.header(rx.table.row(rx.table.column_header_cell(""),
                                                 rx.table.column_header_cell(T["tours.recheck_quoted"]),
                                                 rx.table.column_header_cell(T["tours.recheck_now"]))),
                    rx.table.body(
                        rx.table.row(rx.table.cell(T["tours.col.price"]), rx.table.cell(r["old_price"]),
                                     rx.table.cell(rx.text(r["new_price"], weight="bold"))),
                        rx.table.row(rx.table.cell(T["tours.col.availability"]), rx.table.cell(r["old_availability"]),
                                     rx.table.cell(r["new_availability"])),
                    ),
                    size="1",
                ),
                rx.cond(r["state"] == "changed",
                        rx.button(T["bookings.accept_price"], size="1", on_click=BookingsState.accept_new_price,
                                  data_testid="accept-price")),
                spacing="2",
            ),
            color_scheme="amber", size="1", data_testid="recheck-changed",
        ),
    )


def booking_form() -> rx.Component:
    o, dflt = BookingsState.offer, BookingsState.defaults
    return rx.vstack(
        rx.hstack(
            rx.button(rx.icon("arrow-left", size=14), T["bookings.back"], size="1", variant="soft",
                      on_click=BookingsState.show("list")),
            rx.heading(T["bookings.new"], size="5"),
            rx.spacer(),
            rx.link(o["customer"], href="/lead/" + o["lead_id"]),
            align="center",
            spacing="3",
            width="100%",
        ),
        rx.card(rx.vstack(
            rx.text(o["hotel"], weight="bold", size="3"),
            rx.text(o["resort"], ", ", o["country"], " · ", o["dates"], " · ", o["meal"], " · ", o["room"], " · ",
                    o["party"], size="2", color_scheme="gray"),
            rx.text(T["bookings.quoted_price"], ": ", o["price"], size="2", weight="bold"),
            _recheck_panel(),
            spacing="2",
        ), width="100%"),
        rx.form(
            rx.vstack(
                rx.text(T["bookings.travellers_hint"], size="2", color_scheme="gray"),
                rx.foreach(BookingsState.slots, _slot),
                rx.divider(),
                rx.grid(
                    _field("bookings.client_price", "client_price", dflt["client_price"], required=True),
                    _field("bookings.net_price", "net_price", dflt["net_price"], required=True),
                    rx.vstack(rx.text(T["bookings.currency"], size="1", color_scheme="gray"),
                              rx.select.root(rx.select.trigger(width="100%"),
                                             rx.select.content(*[rx.select.item(c, value=c) for c in
                                                                 ("USD", "KZT", "EUR", "RUB")]),
                                             name="currency", default_value=dflt["currency"], size="1"),
                              spacing="0", width="100%"),
                    _field("bookings.rate_field", "exchange_rate", dflt["exchange_rate"]),
                    _field("bookings.deposit", "deposit", dflt["deposit"], required=True),
                    _field("bookings.deposit_due", "deposit_due", dflt["deposit_due"], type="date", required=True),
                    _field("bookings.balance_due", "balance_due", dflt["balance_due"], type="date", required=True),
                    _field("bookings.operator_due", "operator_due", dflt["operator_due"], type="date", required=True),
                    _field("bookings.col.claim", "claim_number", ""),
                    columns="3",
                    spacing="2",
                    width="100%",
                ),
                rx.text_area(name="note", placeholder=T["bookings.note"], width="100%"),
                rx.cond(BookingsState.create_error != "",
                        rx.callout(BookingsState.create_error, color_scheme="red", size="1",
                                   data_testid="booking-create-error")),
                rx.hstack(rx.button(T["bookings.create"], type="submit", size="2", data_testid="booking-submit",
                                    disabled=rx.match(BookingsState.recheck["state"], ("same", False),
                                                      ("accepted", False), ("error", False), True)),
                          justify="end", width="100%"),
                spacing="3",
                width="100%",
            ),
            on_submit=BookingsState.submit_booking,
            key=BookingsState.form_key,
            width="100%",
        ),
        spacing="3",
        width="100%",
        data_testid="booking-form",
    )


def bookings_content() -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.heading(T["bookings.title"], size="7"), rx.spacer(), tabs(), width="100%", align="center"),
        rx.cond(BookingsState.create_error != "",
                rx.cond(BookingsState.view == "list", rx.callout(BookingsState.create_error, color_scheme="red"))),
        rx.match(
            BookingsState.view,
            ("payments", payments_view()),
            ("detail", booking_detail()),
            ("create", booking_form()),
            bookings_list(),
        ),
        spacing="4",
        width="100%",
    )


def bookings_page() -> rx.Component:
    return shell(bookings_content)
