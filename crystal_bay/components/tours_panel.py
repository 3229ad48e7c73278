"""The "Tours" panel of the lead workspace: search form, sortable results, selection, quotes."""

from __future__ import annotations

import reflex as rx

from crystal_bay.state.tours import (
    BUDGET_CURRENCIES,
    FIELD_PREFIX,
    OfferRow,
    QuoteOfferRow,
    QuoteRow,
    RecheckRow,
    ToursState,
)

T = ToursState.t
ANY = "any"


def _label(label_key: str, name: str) -> rx.Component:
    """The field's label, with a "по умолчанию" mark when the lead did not say and a default was filled in."""
    return rx.hstack(
        rx.text(T[label_key], size="1", color_scheme="gray"),
        rx.cond(ToursState.tf_defaults.contains(name),
                rx.text(T["tours.defaulted"], size="1", color_scheme="amber", title=T["tours.defaulted_hint"],
                        data_testid=f"default-{name}")),
        spacing="1",
        align="baseline",
    )


def _input(label_key: str, name: str, **props) -> rx.Component:
    return rx.vstack(
        _label(label_key, name),
        rx.input(name=FIELD_PREFIX + name, default_value=ToursState.tf[name], size="1", width="100%", **props),
        spacing="0",
        width="100%",
    )


def _select(label_key: str, name: str, options: list[tuple[str, str]], empty: str = ANY) -> rx.Component:
    return rx.vstack(
        _label(label_key, name),
        rx.select.root(
            rx.select.trigger(width="100%"),
            rx.select.content(*[rx.select.item(label, value=value) for value, label in options]),
            name=FIELD_PREFIX + name,
            default_value=rx.cond(ToursState.tf[name] != "", ToursState.tf[name], empty),
            size="1",
        ),
        spacing="0",
        width="100%",
    )


def search_form() -> rx.Component:
    stars = [(ANY, "—"), ("3", "3★+"), ("4", "4★+"), ("5", "5★")]
    meals = [(ANY, "—"), ("RO", "RO"), ("BB", "BB"), ("HB", "HB"), ("FB", "FB"), ("AI", "AI"), ("UAI", "UAI")]
    return rx.form(
        rx.vstack(
            rx.grid(
                _input("tours.departure", "departure", list="tours-departures", required=True),
                _input("tours.country", "country", list="tours-countries", required=True),
                _input("tours.resorts", "resorts", placeholder=T["tours.resorts_hint"]),
                _input("tours.date_from", "date_from", type="date", required=True),
                _input("tours.date_to", "date_to", type="date"),
                rx.hstack(_input("tours.nights_min", "nights_min", type="number", min=1, max=30),
                          _input("tours.nights_max", "nights_max", type="number", min=1, max=30), width="100%"),
                _input("tours.adults", "adults", type="number", min=1, max=6),
                _input("tours.children_ages", "children_ages", placeholder="5, 9"),
                rx.hstack(_input("tours.budget", "budget", type="number", min=0),
                          _select("tours.budget_currency", "budget_currency", [(c, c) for c in BUDGET_CURRENCIES],
                                  empty="USD"),
                          width="100%"),
                _select("tours.stars", "stars", stars),
                _select("tours.meal", "meal", meals),
                columns="3",
                spacing="2",
                width="100%",
            ),
            rx.el.datalist(rx.foreach(ToursState.departure_options, lambda o: rx.el.option(value=o)),
                           id="tours-departures"),
            rx.el.datalist(rx.foreach(ToursState.country_options, lambda o: rx.el.option(value=o)),
                           id="tours-countries"),
            rx.hstack(
                rx.cond(
                    ToursState.searching,
                    rx.hstack(
                        rx.spinner(size="2"),
                        rx.text(T["tours.searching"], size="2"),
                        rx.button(T["tours.cancel"], type="button", size="1", variant="soft", color_scheme="red",
                                  on_click=ToursState.cancel_search, data_testid="tours-cancel"),
                        align="center",
                        spacing="2",
                        data_testid="tours-spinner",
                    ),
                ),
                rx.spacer(),
                rx.button(rx.icon("search", size=14), T["tours.search"], type="submit", size="2",
                          disabled=ToursState.searching, data_testid="tours-search"),
                width="100%",
                align="center",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=ToursState.search,
        key=ToursState.tf_key,
        width="100%",
    )


def _th(label_key: str, key: str) -> rx.Component:
    arrow = rx.cond(ToursState.sort_key == key, rx.cond(ToursState.sort_desc, " ↓", " ↑"), "")
    return rx.table.column_header_cell(
        rx.text(T[label_key], arrow, cursor="pointer", white_space="nowrap", on_click=ToursState.sort_by(key),
                data_sort=key),
    )


def _availability_badge(row: OfferRow) -> rx.Component:
    color = rx.match(row.availability, ("available", "green"), ("few", "amber"), ("request", "blue"), "red")
    return rx.badge(row.availability_text, color_scheme=color, variant="soft")


def _result_row(row: OfferRow) -> rx.Component:
    selected = ToursState.selected.contains(row.key)
    return rx.table.row(
        rx.table.cell(rx.checkbox(checked=selected, on_change=lambda _v: ToursState.toggle_offer(row.key),
                                  disabled=row.availability == "stop")),
        rx.table.cell(rx.text(row.hotel, weight="medium")),
        rx.table.cell(rx.cond(row.stars > 0, rx.text(row.stars, "★"), "")),
        rx.table.cell(row.resort),
        rx.table.cell(row.meal),
        rx.table.cell(row.room),
        rx.table.cell(rx.text(row.dates, white_space="nowrap")),
        rx.table.cell(row.nights),
        rx.table.cell(rx.text(row.price_text, weight="bold", white_space="nowrap")),
        rx.table.cell(rx.text(row.per_person_text, white_space="nowrap", color_scheme="gray")),
        rx.table.cell(_availability_badge(row)),
        background=rx.cond(selected, rx.color("accent", 3), "transparent"),
        class_name="tour-row",
        data_key=row.key,
    )


def results() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(T["tours.found"], ": ", ToursState.total, size="2", data_testid="tours-total"),
            rx.cond(ToursState.demo_results, rx.badge(T["tours.demo_results"], color_scheme="amber",
                                                      data_testid="tours-demo")),
            rx.spacer(),
            rx.text(T["tours.selected"], ": ", ToursState.selected_count, size="2"),
            rx.button(rx.icon("file-text", size=14), T["tours.create_quote"], size="2",
                      disabled=(ToursState.selected_count == 0) | ToursState.quote_busy,
                      loading=ToursState.quote_busy, on_click=ToursState.create_quote, data_testid="create-quote"),
            width="100%",
            align="center",
        ),
        rx.box(
            rx.table.root(
                rx.table.header(rx.table.row(
                    rx.table.column_header_cell(""),
                    _th("tours.col.hotel", "hotel"), _th("tours.col.stars", "stars"), _th("tours.col.resort", "resort"),
                    _th("tours.col.meal", "meal"), rx.table.column_header_cell(T["tours.col.room"]),
                    _th("tours.col.dates", "date"), _th("tours.col.nights", "nights"),
                    _th("tours.col.price", "price"), _th("tours.col.per_person", "per_person"),
                    _th("tours.col.availability", "availability"),
                )),
                rx.table.body(rx.foreach(ToursState.page_rows, _result_row)),
                size="1",
                width="100%",
                data_testid="tours-results",
            ),
            width="100%",
            overflow_x="auto",
        ),
        rx.hstack(
            rx.button("←", size="1", variant="soft", on_click=ToursState.go_page(-1), disabled=ToursState.page == 0),
            rx.text(ToursState.page_label, size="2", data_testid="tours-page"),
            rx.button("→", size="1", variant="soft", on_click=ToursState.go_page(1),
                      disabled=ToursState.page + 1 >= ToursState.page_count, data_testid="tours-next"),
            rx.spacer(),
            rx.cond(ToursState.more_at_operator,
                    rx.button(T["tours.more"], size="1", variant="outline", on_click=ToursState.load_more,
                              disabled=ToursState.searching)),
            width="100%",
            align="center",
        ),
        spacing="2",
        width="100%",
    )


def _recheck_row(row: RecheckRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(row.hotel, weight="medium"), rx.text(row.details, size="1", color_scheme="gray"),
                                spacing="0")),
        rx.table.cell(row.old_price),
        rx.table.cell(rx.text(row.new_price, weight="bold",
                              color_scheme=rx.cond(row.lost, "red", rx.cond(row.changed, "amber", "green")))),
        rx.table.cell(row.old_availability),
        rx.table.cell(rx.text(row.new_availability, color_scheme=rx.cond(row.lost, "red", "gray"))),
        data_changed=row.changed,
    )


def recheck_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T["tours.recheck_title"]),
            rx.dialog.description(T["tours.recheck_text"], size="2"),
            rx.table.root(
                rx.table.header(rx.table.row(
                    rx.table.column_header_cell(T["tours.col.hotel"]),
                    rx.table.column_header_cell(T["tours.recheck_quoted"]),
                    rx.table.column_header_cell(T["tours.recheck_now"]),
                    rx.table.column_header_cell(T["tours.col.availability"]),
                    rx.table.column_header_cell(T["tours.recheck_now"]),
                )),
                rx.table.body(rx.foreach(ToursState.recheck_rows, _recheck_row)),
                size="1",
                width="100%",
            ),
            rx.hstack(
                rx.button(T["common.cancel"], variant="soft", color_scheme="gray", on_click=ToursState.close_recheck),
                rx.button(T["tours.recheck_continue"], on_click=ToursState.confirm_quote, data_testid="recheck-continue"),
                justify="end",
                spacing="2",
                margin_top="1em",
            ),
            max_width="760px",
        ),
        open=ToursState.recheck_open,
    )


def _quote_offer(o: QuoteOfferRow) -> rx.Component:
    return rx.hstack(
        rx.cond(o.chosen, rx.badge("✓ ", T["tours.chosen"], color_scheme="green", data_testid="quote-chosen")),
        rx.text(o.text, size="1"),
        rx.spacer(),
        rx.cond(o.available, rx.link(rx.button(T["tours.book"], size="1", variant="soft"),
                                     href="/bookings?offer=" + o.offer_id.to_string(), data_testid="book-offer")),
        width="100%",
        align="center",
        spacing="2",
    )


def _quote(q: QuoteRow) -> rx.Component:
    color = rx.match(q.status, ("chosen", "green"), ("viewed", "blue"), ("sent", "cyan"), ("revoked", "gray"),
                     ("expired", "gray"), "amber")
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(T["tours.quote_no"], q.quote_id, weight="bold", size="2"),
                rx.badge(q.status_text, color_scheme=color, title=q.status_hint, data_testid="quote-status"),
                rx.cond(q.demo, rx.badge(T["tours.demo_short"], color_scheme="amber", variant="outline")),
                rx.text(q.created, size="1", color_scheme="gray"),
                rx.spacer(),
                rx.text(T["tours.views"], ": ", q.views, size="1", color_scheme="gray", data_testid="quote-views"),
                align="center",
                spacing="2",
                width="100%",
            ),
            rx.foreach(q.offers, _quote_offer),
            rx.hstack(
                rx.link(icon_link("file-down", T["tours.pdf"]), href=q.pdf, is_external=True, data_testid="quote-pdf"),
                rx.link(icon_link("link", T["tours.public_link"]), href=q.link, is_external=True,
                        data_testid="quote-link"),
                rx.button(rx.icon("copy", size=12), T["tours.copy_link"], size="1", variant="ghost",
                          on_click=[rx.set_clipboard(q.link), rx.toast.info(T["tours.link_copied"])],
                          data_testid="quote-copy-link"),
                rx.text(T["tours.expires"], ": ", q.expires, size="1", color_scheme="gray"),
                rx.spacer(),
                rx.cond((q.link_state == "active") & ~q.sent,
                        rx.button(rx.icon("send", size=12), T["tours.mark_sent"], size="1", variant="soft",
                                  on_click=ToursState.mark_quote_sent(q.quote_id), data_testid="quote-mark-sent")),
                rx.cond(q.link_state == "active",
                        rx.button(T["tours.revoke"], size="1", variant="ghost", color_scheme="red",
                                  on_click=ToursState.revoke_quote(q.quote_id))),
                spacing="3",
                align="center",
                width="100%",
                wrap="wrap",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        class_name="quote-card",
    )


def icon_link(icon: str, text) -> rx.Component:
    return rx.hstack(rx.icon(icon, size=14), rx.text(text, size="2"), spacing="1", align="center")


def quotes_block() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(T["tours.quotes"], weight="bold", size="2"),
            rx.spacer(),
            rx.icon_button(rx.icon("refresh-cw", size=12), size="1", variant="ghost", on_click=ToursState.reload_quotes,
                           aria_label=T["tours.refresh"], data_testid="quotes-refresh"),
            width="100%",
        ),
        rx.cond(ToursState.quotes_list.length() == 0, rx.text(T["tours.no_quotes"], size="1", color_scheme="gray")),
        rx.foreach(ToursState.quotes_list, _quote),
        spacing="2",
        width="100%",
        data_testid="quotes",
    )


def tours_panel() -> rx.Component:
    """The whole panel (prefilled from the lead on mount)."""
    return rx.card(
        rx.vstack(
            rx.hstack(rx.icon("plane", size=16), rx.text(T["tours.title"], weight="bold", size="3"), align="center",
                      spacing="2"),
            search_form(),
            rx.cond(ToursState.search_error != "",
                    rx.callout(ToursState.search_error, color_scheme="red", size="1", icon="triangle-alert",
                               data_testid="tours-error")),
            rx.cond(ToursState.search_notice != "", rx.callout(ToursState.search_notice, size="1", icon="info")),
            rx.cond(ToursState.last_quote_link != "",
                    rx.callout(
                        rx.hstack(
                            rx.text(T["tours.quote_ready"]),
                            rx.link(T["tours.pdf"], href=ToursState.last_quote_pdf, is_external=True,
                                    data_testid="last-quote-pdf"),
                            rx.link(T["tours.public_link"], href=ToursState.last_quote_link, is_external=True,
                                    data_testid="last-quote-link"),
                            spacing="3",
                            wrap="wrap",
                        ),
                        color_scheme="green", size="1", icon="circle-check", data_testid="quote-ready",
                    )),
            rx.cond(ToursState.searched, results()),
            recheck_dialog(),
            rx.divider(),
            quotes_block(),
            spacing="3",
            width="100%",
        ),
        width="100%",
        on_mount=ToursState.prefill,
        data_testid="tours-panel",
    )
