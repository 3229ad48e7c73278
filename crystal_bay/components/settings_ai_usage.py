"""The OpenAI card's usage table: requests, tokens, cost, average latency and model per day (last 14 days)."""

from __future__ import annotations

import reflex as rx

from crystal_bay.state.settings import IntegrationsState, UsageRow

S = IntegrationsState
T = S.t


def _row(r: UsageRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(r.day, white_space="nowrap"),
        rx.table.cell(rx.text(r.requests, rx.cond(r.failures != "", rx.text.span(" (", r.failures, ")",
                                                                                color_scheme="red")))),
        rx.table.cell(r.tokens, white_space="nowrap"),
        rx.table.cell(r.cost, white_space="nowrap"),
        rx.table.cell(r.latency, white_space="nowrap"),
        rx.table.cell(rx.text(r.engine, size="1", color_scheme="gray")),
        class_name="ai-usage-row",
    )


def ai_usage_block() -> rx.Component:
    """Shown under the OpenAI card's form (the state fills `ai_usage` with the cards)."""
    header = ("ai.usage.day", "ai.usage.requests", "ai.usage.tokens", "ai.usage.cost", "ai.usage.latency",
              "ai.usage.engine")
    return rx.vstack(
        rx.hstack(rx.icon("chart-column", size=14), rx.text(T["ai.usage.title"], weight="medium", size="2"),
                  align="center", spacing="1"),
        rx.cond(
            S.ai_usage.length() == 0,
            rx.text(T["ai.usage.none"], size="1", color_scheme="gray"),
            rx.box(
                rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[k]) for k in header])),
                    rx.table.body(rx.foreach(S.ai_usage, _row)),
                    size="1",
                    width="100%",
                ),
                width="100%",
                overflow_x="auto",
            ),
        ),
        rx.text(T["ai.usage.hint"], size="1", color_scheme="gray"),
        spacing="2",
        width="100%",
        data_testid="ai-usage",
    )
