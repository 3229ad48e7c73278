"""The board page (the drag-and-drop Kanban comes with the board issue)."""

from __future__ import annotations

import reflex as rx

from crystal_bay.components.shell import shell
from crystal_bay.state.pages import BoardState, StageRow


def _stage_card(row: StageRow) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(rx.cond(BoardState.lang == "en", row.name_en, row.name_ru), weight="bold", size="2"),
            rx.heading(row.count, size="7"),
            rx.text(row.budget_total, " $", size="1", color_scheme="gray"),
            spacing="1",
        ),
        min_width="11em",
        data_stage_id=row.slug,
    )


def board_content() -> rx.Component:
    return rx.vstack(
        rx.heading(BoardState.t["board.title"], size="7"),
        rx.text(BoardState.t["board.open_leads"], ": ", BoardState.open_total, data_testid="open-total"),
        rx.text(BoardState.t["board.summary"], color_scheme="gray", size="2"),
        rx.flex(rx.foreach(BoardState.stages, _stage_card), wrap="wrap", gap="3"),
        spacing="3",
        width="100%",
    )


def board_page() -> rx.Component:
    return shell(board_content)
