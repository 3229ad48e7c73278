"""The import page's state, driven directly: upload → preview with the guessed mapping → import → report."""

from __future__ import annotations

import asyncio
import base64
import inspect
import io
import time
from pathlib import Path

import reflex as rx
from starlette.datastructures import Headers

import crystal_bay.crystal_bay  # noqa: F401  (registers every page and state)
from crystal_bay.state import import_state
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
    assert state.rejected_rows[0].original == "Клиент: Без; Заметка: текст"
    assert not list(upload_dir().glob(f"{state._upload_token or 'none'}*.upload"))

    download = call(state, "download_rejected")
    args = {str(name): value._var_value for name, value in download.args}
    assert args["filename"] == "leads-rejected.csv"
    data = base64.b64decode(args["url"].split("base64,", 1)[1]).decode("utf-8-sig")
    assert data.splitlines()[:2] == ["Строка;Поле;Причина;Клиент;Контакт;Заметка",
                                     "4;Телефон;Нет ни телефона, ни эл. почты, ни Telegram.;Без;;текст"]

    call(state, "again")
    assert state.step == "upload" and state.imported == 0


def test_a_manager_gets_the_forbidden_panel(app_db):
    state = _instance(ImportState)
    state.auth_token = _token_for("manager")
    assert call(state, "check") is None and state.access == "forbidden"


def test_while_a_file_parses_the_page_shows_how_many_rows_were_read(app_db, monkeypatch):
    state = _instance(ImportState)
    state.auth_token = _token_for("admin")
    call(state, "load")
    call(state, "handle_upload", [upload(f"Имя;Телефон\nОля;{unique_phone()}\n".encode())])
    call(state, "start_import")
    seen: dict[str, str] = {}
    real_parse = import_state.intake_import.parse_file

    def slow_parse(content, content_type=None, *, progress, **kw):
        progress.rows, progress.total = 3_000, 12_000  # a big file, a quarter read
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and state.phase_done != 3_000:
            time.sleep(0.01)  # the page polls while the worker thread parses
        seen["while_parsing"] = f"{state.phase_text} | {state.progress}%"
        return real_parse(content, content_type, progress=progress, **kw)

    monkeypatch.setattr(import_state, "POLL_S", 0.02)
    monkeypatch.setattr(import_state.intake_import, "parse_file", slow_parse)
    call(state, "run_import")
    assert seen["while_parsing"] == "Проверяем строки: 3\u00a0000 из 12\u00a0000 | 25%"
    assert (state.step, state.imported, state.phase_text) == ("done", 1, "")
    state.step, state.phase, state.phase_done, state.phase_total = "running", "writing", 4000, 95000
    assert state.phase_text == "Записываем заявки: 4\u00a0000 из 95\u00a0000"
