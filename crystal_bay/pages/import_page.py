"""Lead import (admins only): upload a CSV or JSON-lines file, check the column mapping, import, read the report."""

from __future__ import annotations

import reflex as rx

from crystal_bay.components.shell import shell
from crystal_bay.state.import_state import FIELD_CHOICES, SOURCES, UPLOAD_ID, ImportState, RejectedRow


def _upload_zone() -> rx.Component:
    t = ImportState.t
    return rx.upload(
        rx.vstack(
            rx.icon("file-up", size=36, color=rx.color("accent", 9)),
            rx.text(t["import.drop"], weight="medium"),
            rx.text("CSV · JSON lines", size="1", color_scheme="gray"),
            align="center",
            spacing="2",
        ),
        id=UPLOAD_ID,
        multiple=False,
        accept={"text/csv": [".csv"], "text/plain": [".txt", ".jsonl", ".ndjson"],
                "application/x-ndjson": [".jsonl", ".ndjson"], "application/vnd.ms-excel": [".csv"]},
        on_drop=ImportState.handle_upload(rx.upload_files(upload_id=UPLOAD_ID)),
        border=f"2px dashed {rx.color('accent', 7)}",
        border_radius="12px",
        padding="2.5em",
        width="100%",
        cursor="pointer",
        data_testid="import-upload",
    )


def _field_select(column) -> rx.Component:
    t = ImportState.t
    return rx.select.root(
        rx.select.trigger(min_width="12em"),
        rx.select.content(*[rx.select.item(t[f"import.field.{f}"], value=f) for f in FIELD_CHOICES]),
        value=ImportState.mapping[column],
        on_change=lambda value: ImportState.set_mapping(column, value),
        size="1",
        disabled=ImportState.file_format != "csv",
    )


def _mapping_table() -> rx.Component:
    t = ImportState.t
    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(rx.foreach(ImportState.columns, lambda c: rx.table.column_header_cell(
                    rx.vstack(rx.text(c, weight="bold"), _field_select(c), spacing="1")))),
            ),
            rx.table.body(
                rx.foreach(ImportState.sample, lambda row: rx.table.row(
                    rx.foreach(row, lambda cell: rx.table.cell(rx.text(cell, size="1"))))),
            ),
            size="1",
            variant="surface",
            data_testid="import-preview",
        ),
        overflow_x="auto",
        width="100%",
        aria_label=t["import.mapping"],
    )


def _source_select() -> rx.Component:
    t = ImportState.t
    return rx.hstack(
        rx.text(t["import.default_source"], size="2"),
        rx.select.root(
            rx.select.trigger(min_width="10em"),
            rx.select.content(*[rx.select.item(t[f"channel.{s}"], value=s) for s in SOURCES]),
            value=ImportState.default_source,
            on_change=ImportState.set_default_source,
            size="1",
        ),
        align="center",
        spacing="2",
    )


def _preview_step() -> rx.Component:
    t = ImportState.t
    return rx.vstack(
        rx.hstack(
            rx.badge(ImportState.file_format, variant="soft"),
            rx.text(ImportState.file_name, weight="medium", data_testid="import-file-name"),
            align="center",
            spacing="2",
        ),
        rx.heading(t["import.mapping"], size="4"),
        rx.text(rx.cond(ImportState.file_format == "csv", t["import.mapping_help"], t["import.jsonl_help"]),
                size="2", color_scheme="gray"),
        _mapping_table(),
        _source_select(),
        rx.cond(ImportState.error != "", rx.callout(ImportState.error, color_scheme="red", icon="triangle-alert")),
        rx.hstack(
            rx.button(rx.icon("upload", size=16), t["import.start"], on_click=ImportState.start_import,
                      data_testid="import-start"),
            rx.button(t["import.cancel"], variant="soft", color_scheme="gray", on_click=ImportState.cancel),
            spacing="2",
        ),
        spacing="3",
        width="100%",
        align="start",
    )


def _running_step() -> rx.Component:
    return rx.vstack(
        rx.text(ImportState.t["import.running"], weight="medium"),
        rx.text(ImportState.phase_text, size="2", data_testid="import-phase"),
        rx.progress(value=ImportState.progress, max=100, width="100%", data_testid="import-progress"),
        rx.text(ImportState.progress.to_string() + " %", size="1", color_scheme="gray"),
        width="100%",
        spacing="2",
    )


def _stat(key: str, value, testid: str, color: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(ImportState.t[key], size="1", color_scheme="gray"),
            rx.heading(value, size="6", color=rx.color(color, 11), data_testid=testid),
            spacing="1",
        ),
        min_width="11em",
    )


def _rejected_row(row: RejectedRow) -> rx.Component:
    return rx.table.row(rx.table.cell(row.row), rx.table.cell(row.field), rx.table.cell(row.reason),
                        rx.table.cell(rx.text(row.original, size="1", color_scheme="gray")))


def _done_step() -> rx.Component:
    t = ImportState.t
    return rx.vstack(
        rx.heading(t["import.done"], size="4"),
        rx.flex(
            _stat("import.total", ImportState.total, "report-total", "gray"),
            _stat("import.imported", ImportState.imported, "report-imported", "green"),
            _stat("import.merged", ImportState.merged, "report-merged", "blue"),
            _stat("import.duplicates", ImportState.duplicates, "report-duplicates", "gray"),
            _stat("import.rejected", ImportState.rejected_count, "report-rejected", "red"),
            wrap="wrap",
            spacing="3",
        ),
        rx.text(t["import.seconds"].replace("{seconds}", ImportState.seconds), size="1", color_scheme="gray"),
        rx.cond(
            ImportState.rejected_count > 0,
            rx.vstack(
                rx.button(rx.icon("download", size=16), t["import.download_rejected"], variant="soft",
                          on_click=ImportState.download_rejected, data_testid="import-download-rejected"),
                rx.table.root(
                    rx.table.header(rx.table.row(
                        rx.table.column_header_cell(t["import.row"]),
                        rx.table.column_header_cell(t["import.field"]),
                        rx.table.column_header_cell(t["import.reason"]),
                        rx.table.column_header_cell(t["import.values"]),
                    )),
                    rx.table.body(rx.foreach(ImportState.rejected_rows, _rejected_row)),
                    size="1",
                    width="100%",
                    data_testid="report-rejected-rows",
                ),
                rx.text(ImportState.rejected_note, size="1", color_scheme="gray"),
                width="100%",
            ),
        ),
        rx.button(t["import.again"], variant="soft", on_click=ImportState.again),
        spacing="3",
        width="100%",
        align="start",
        data_testid="import-report",
    )


def import_content() -> rx.Component:
    t = ImportState.t
    return rx.vstack(
        rx.heading(t["import.title"], size="7", data_testid="import-title"),
        rx.text(t["import.text"], color_scheme="gray"),
        rx.match(
            ImportState.step,
            ("preview", _preview_step()),
            ("running", _running_step()),
            ("done", _done_step()),
            _upload_zone(),
        ),
        spacing="4",
        width="100%",
        max_width="72em",
    )


def import_page() -> rx.Component:
    return shell(import_content)
