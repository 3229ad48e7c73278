"""The import page's state, driven directly: upload → preview with the guessed mapping → import → report."""

from __future__ import annotations

import asyncio
import inspect
import io
from pathlib import Path

import reflex as rx
from starlette.datastructures import Headers

import crystal_bay.crystal_bay  # noqa: F401  (registers every page and state)
from crystal_bay.state.import_state import ImportState, upload_dir
from tests.intake.support import unique_phone
from tests.test_state_guard import _instance, _token_for


def call(state, name, *args):
    result = type(state).event_handlers[name].fn(state, *args)
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    return result


def upload(content: bytes, name: str = "leads.csv") -> rx.UploadFile:
    return rx.UploadFile(file=io.BytesIO(content), path=Path(name), headers=Headers({"content-type": "text/csv"}))


def test_an_admin_imports_a_file_through_the_page_state(app_db):
    state = _instance(ImportState)
    state.auth_token = _token_for("admin")
    assert call(state, "check") is not None
    call(state, "load")
    assert state.access == "ok" and state.step == "upload"

    a, b = unique_phone(), unique_phone()
    csv = f"Клиент;Контакт;Заметка\nАйгерим;{a};Вьетнам\nМарат;{b};Турция\nБез;;текст\n".encode()
    call(state, "handle_upload", [upload(csv)])
    assert (state.step, state.file_name, state.file_format) == ("preview", "leads.csv", "csv")
    assert state.columns == ["Клиент", "Контакт", "Заметка"] and state.sample[0] == ["Айгерим", a, "Вьетнам"]
    assert state.mapping == {"Клиент": "name", "Контакт": "skip", "Заметка": "skip"}
    call(state, "set_mapping", "Контакт", "phone")
    call(state, "set_mapping", "Заметка", "message")
    call(state, "set_mapping", "Заметка", "not-a-field")  # ignored
    call(state, "set_default_source", "walk_in")
    assert state.mapping["Заметка"] == "message" and state.default_source == "walk_in"

    call(state, "start_import")
    assert state.step == "running"
    call(state, "run_import")
    assert (state.step, state.progress, state.total, state.imported, state.rejected_count) == ("done", 100, 3, 2, 1)
    assert state.rejected_rows[0].row == 4 and state.rejected_rows[0].reason.startswith("Нет ни телефона")
    assert not list(upload_dir().glob(f"{state._upload_token or 'none'}*.upload"))

    call(state, "again")
    assert state.step == "upload" and state.imported == 0


def test_a_manager_gets_the_forbidden_panel(app_db):
    state = _instance(ImportState)
    state.auth_token = _token_for("manager")
    assert call(state, "check") is None and state.access == "forbidden"
