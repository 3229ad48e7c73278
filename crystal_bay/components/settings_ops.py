"""The Outbox and Jobs tabs of the settings panel."""

from __future__ import annotations

import reflex as rx

from crystal_bay.state.settings_ops import JobRow, JobsAdminState, OutboxAdminState, OutboxRow

T = OutboxAdminState.t
STATUS_COLORS = {"pending": "blue", "failed": "red", "done": "green", "discarded": "gray"}


def outbox_row(r: OutboxRow) -> rx.Component:
    S = OutboxAdminState
    return rx.table.row(
        rx.table.cell(rx.text("#", r.job_id, size="1", color_scheme="gray")),
        rx.table.cell(rx.vstack(rx.code(r.kind), rx.text(r.key, size="1", color_scheme="gray", max_width="16em",
                                                         overflow="hidden", text_overflow="ellipsis",
                                                         white_space="nowrap", title=r.key), spacing="1")),
        rx.table.cell(rx.badge(rx.match(r.status, ("pending", T["settings.outbox.pending"]),
                                        ("failed", T["settings.outbox.failed"]), r.status),
                               color_scheme=rx.match(r.status, *STATUS_COLORS.items(), "gray"))),
        rx.table.cell(r.attempts),
        rx.table.cell(r.next_try, white_space="nowrap"),
        rx.table.cell(rx.text(r.last_error, size="1", max_width="18em", title=r.last_error, overflow="hidden",
                              text_overflow="ellipsis", white_space="nowrap")),
        rx.table.cell(rx.match(r.delivery,
                               ("exactly_once", rx.badge(T["settings.outbox.exactly_once"], variant="soft",
                                                         color_scheme="green")),
                               ("at_least_once", rx.badge(T["settings.outbox.at_least_once"], variant="soft")),
                               rx.badge(T["settings.outbox.no_handler"], color_scheme="red", variant="soft"))),
        rx.table.cell(rx.hstack(
            rx.tooltip(rx.icon_button(rx.icon("rotate-cw", size=14), size="1", variant="soft",
                                      on_click=S.retry(r.job_id), data_testid="outbox-retry"),
                       content=T["settings.outbox.retry"]),
            rx.tooltip(rx.icon_button(rx.icon("trash-2", size=14), size="1", variant="soft", color_scheme="red",
                                      on_click=S.discard(r.job_id), data_testid="outbox-discard"),
                       content=T["settings.outbox.discard"]),
            spacing="2",
        )),
        align="center",
    )


def _count(key: str, status: str, color: str) -> rx.Component:
    return rx.badge(T[key], ": ", OutboxAdminState.counts.get(status, 0), color_scheme=color, size="2",
                    variant="soft")


def outbox_tab() -> rx.Component:
    S = OutboxAdminState
    return rx.vstack(
        rx.text(T["settings.outbox_text"], size="2", color_scheme="gray"),
        rx.hstack(
            _count("settings.outbox.pending", "pending", "blue"),
            _count("settings.outbox.failed", "failed", "red"),
            _count("settings.outbox.done", "done", "green"),
            _count("settings.outbox.discarded", "discarded", "gray"),
            rx.spacer(),
            rx.button(rx.icon("refresh-cw", size=14), T["settings.refresh"], size="1", variant="soft", on_click=S.load),
            spacing="2", width="100%", align="center",
        ),
        rx.cond(
            S.rows.length() > 0,
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in (
                    "", T["settings.outbox.kind"], T["settings.outbox.status"], T["settings.outbox.attempts"],
                    T["settings.outbox.next_try"], T["settings.outbox.error"], T["settings.outbox.delivery"], "")])),
                rx.table.body(rx.foreach(S.rows, outbox_row)),
                width="100%",
                variant="surface",
                size="1",
            ),
            rx.callout(T["settings.outbox_empty"], icon="circle-check", color_scheme="green", width="100%"),
        ),
        spacing="4",
        width="100%",
    )


def job_row(r: JobRow) -> rx.Component:
    S = JobsAdminState
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(rx.cond(S.lang == "en", r.title_en, r.title_ru), weight="medium"),
                                rx.code(r.job_id, size="1"), spacing="1")),
        rx.table.cell(r.every, white_space="nowrap"),
        rx.table.cell(rx.match(r.status,
                               ("ok", rx.badge("ok", color_scheme="green")),
                               ("failed", rx.badge(T["settings.failed"], color_scheme="red")),
                               rx.badge(T["settings.jobs.never"], color_scheme="gray"))),
        rx.table.cell(rx.vstack(rx.text(r.last_run, white_space="nowrap"),
                                rx.cond(r.trigger == "manual", rx.text(T["settings.jobs.manual"], size="1",
                                                                      color_scheme="gray")), spacing="0")),
        rx.table.cell(r.duration, white_space="nowrap"),
        rx.table.cell(rx.text(r.result, size="1", max_width="14em", title=r.result)),
        rx.table.cell(r.next_run, white_space="nowrap"),
        rx.table.cell(rx.text(r.runs, " / ", r.failures, size="1", color_scheme="gray")),
        rx.table.cell(rx.button(rx.icon("play", size=14), T["settings.jobs.run_now"], size="1", variant="soft",
                                loading=S.running.contains(r.job_id), on_click=S.run_now(r.job_id),
                                data_testid="run-now", white_space="nowrap")),
        align="center",
    )


def jobs_tab() -> rx.Component:
    S = JobsAdminState
    return rx.vstack(
        rx.text(T["settings.jobs_text"], size="2", color_scheme="gray"),
        rx.cond(
            S.lease_live,
            rx.callout.root(
                rx.callout.icon(rx.icon("server")),
                rx.callout.text(T["settings.jobs.lease"], " ", rx.code(S.lease_owner), " (", T["settings.jobs.until"],
                                " ", S.lease_until, ")"),
                color_scheme="green", size="1", width="100%"),
            rx.callout(T["settings.jobs.no_lease"], icon="circle-pause", color_scheme="orange", size="1",
                       width="100%"),
        ),
        rx.cond(~S.scheduler_enabled, rx.text(T["settings.jobs.disabled_here"], size="1", color_scheme="gray")),
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in (
                T["settings.jobs.job"], T["settings.jobs.every"], T["settings.outbox.status"],
                T["settings.jobs.last_run"], T["settings.jobs.duration"], T["settings.jobs.result"],
                T["settings.jobs.next_run"], T["settings.jobs.runs"], "")])),
            rx.table.body(rx.foreach(S.rows, job_row)),
            width="100%",
            variant="surface",
            size="1",
        ),
        spacing="4",
        width="100%",
    )
