"""The admin lead-import page: upload → column mapping preview → import with progress → report.

The uploaded file is kept in a temp directory on the backend (only its id is in the state); the
import runs as a background event in two phases, each with its own progress: "parsing" (the file is
validated in a worker thread; the page polls how many rows it has read) and "writing" (a chunk at a
time in a worker thread, the bar moving between chunks). The page lists the first rejected rows; all
of them (with their original values) are written to a CSV next to the upload, which "download" sends.
Every handler is admin-only; the page load shows managers "no access".
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import tempfile
import time
import uuid
from pathlib import Path

import reflex as rx

from crystal_bay import i18n
from crystal_bay.db import session_scope
from crystal_bay.models import Role
from crystal_bay.services import intake_import
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import DomainError
from crystal_bay.state.base import AppState
from crystal_bay.state.guard import requires

UPLOAD_ID = "lead-import"
SKIP = "skip"
FIELD_CHOICES = (SKIP, *intake_import.FIELDS)
SOURCES = ("api", "website", "phone", "walk_in", "email", "telegram", "whatsapp")
SHOWN_REJECTED = 200
POLL_S = 0.3  # how often the page hears how far parsing got
log = logging.getLogger("crystal_bay.import")
STALE_UPLOAD_S = 24 * 3600


def upload_dir() -> Path:
    path = Path(tempfile.gettempdir()) / "crystal_bay_imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _prune_uploads(folder: Path) -> None:
    """Drop uploads nobody imported within a day."""
    cutoff = time.time() - STALE_UPLOAD_S
    for old in [*folder.glob("*.upload"), *folder.glob("*.rejected.csv")]:
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)


def field_label(lang: str, field: str | None) -> str:
    """A rejected row's field as the admin knows it ("tags.0" → "Теги")."""
    name = (field or "").split(".", 1)[0]
    key = f"import.field.{name}"
    return i18n.tr(lang, key) if name and key in i18n.strings(lang) else (field or "")


def reason_text(lang: str, code: str, message: str) -> str:
    """Why a row was rejected, in the interface language (the English message when there is no translation)."""
    key = f"import.reason.{code}"
    if key in i18n.strings(lang):
        return i18n.tr(lang, key)
    if code.startswith("invalid_") or code.endswith("_parsing") or code.endswith("_type"):
        return i18n.tr(lang, "import.reason.unreadable")
    return message


def values_text(values: dict[str, str], limit: int = 160) -> str:
    """A rejected row's non-empty original values in one line: "Имя: Иван; Телефон: 12345"."""
    text = "; ".join(f"{k}: {v}" if k != "line" else v for k, v in values.items() if v.strip())
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclasses.dataclass
class RejectedRow:
    row: int
    field: str
    reason: str
    original: str = ""


def _write_rejected(report: intake_import.ImportReport, lang: str) -> str:
    """Write every rejected row to a CSV in the upload folder; its token ('' when no row was rejected)."""
    if not report.rejected:
        return ""
    token = uuid.uuid4().hex
    headers = (i18n.tr(lang, "import.row"), i18n.tr(lang, "import.field"), i18n.tr(lang, "import.reason"))
    data = intake_import.rejected_csv(report, headers=headers, describe=lambda e: (
        field_label(lang, e.field), reason_text(lang, e.code, e.message)))
    (upload_dir() / f"{token}.rejected.csv").write_bytes(data)
    return token


class ImportState(AppState):
    """Upload, mapping, progress and report of one import."""

    step: str = "upload"  # upload | preview | running | done
    file_name: str = ""
    file_format: str = ""
    columns: list[str] = []
    mapping: dict[str, str] = {}
    sample: list[list[str]] = []
    default_source: str = "api"
    phase: str = ""  # parsing | writing, while step == "running"
    phase_done: int = 0  # rows parsed / written so far
    phase_total: int = 0  # rows in the file (lines, while parsing) / valid rows to write
    progress: int = 0  # percent of the current phase
    total: int = 0
    imported: int = 0
    merged: int = 0
    duplicates: int = 0
    rejected_count: int = 0
    rejected_rows: list[RejectedRow] = []
    seconds: str = ""
    error: str = ""
    _upload_token: str = ""
    _rejected_token: str = ""

    @rx.var
    def rejected_note(self) -> str:
        if self.rejected_count <= len(self.rejected_rows):
            return ""
        return i18n.tr(self.lang, "import.rejected_more", shown=len(self.rejected_rows), total=self.rejected_count)

    @rx.var
    def phase_text(self) -> str:
        """The running phase in the interface language, e.g. "Checking rows: 12 000 of 100 000"."""
        if self.step != "running" or not self.phase:
            return ""
        return i18n.tr(self.lang, f"import.phase.{self.phase}", done=f"{self.phase_done:,}".replace(",", "\u00a0"),
                       total=f"{self.phase_total:,}".replace(",", "\u00a0"))

    def _upload_path(self) -> Path | None:
        return upload_dir() / f"{self._upload_token}.upload" if self._upload_token else None

    def _rejected_path(self) -> Path | None:
        return upload_dir() / f"{self._rejected_token}.rejected.csv" if self._rejected_token else None

    def _forget_upload(self) -> None:
        path = self._upload_path()
        if path is not None:
            path.unlink(missing_ok=True)
        self._upload_token = ""

    def _reset_report(self) -> None:
        self.progress = self.total = self.imported = self.merged = self.duplicates = self.rejected_count = 0
        self.phase, self.phase_done, self.phase_total = "", 0, 0
        self.rejected_rows, self.seconds, self.error = [], "", ""
        rejected = self._rejected_path()
        if rejected is not None:
            rejected.unlink(missing_ok=True)
        self._rejected_token = ""

    @requires()
    def check(self):
        """Page load: a manager sees 'no access'; an admin gets the page."""
        if self.user_role != Role.admin.value:
            self.access = "forbidden"
            return None
        return ImportState.load

    @requires(Role.admin.value)
    def load(self):
        """Admin page load: start from the upload step (a running import keeps its progress)."""
        self.access = "ok"
        if self.step != "running":
            self.step = "upload"

    @requires(Role.admin.value)
    async def handle_upload(self, files: list[rx.UploadFile]):
        """Keep the uploaded file on the backend and show its columns, the guessed mapping and the first rows."""
        if not files:
            return rx.toast.error(i18n.tr(self.lang, "import.no_file"))
        content = await files[0].read()
        if len(content) > intake_import.MAX_BYTES:
            return rx.toast.error(i18n.tr(self.lang, "import.too_large", mb=intake_import.MAX_BYTES // 2**20))
        self._forget_upload()
        self._reset_report()
        folder = upload_dir()
        _prune_uploads(folder)
        self._upload_token = uuid.uuid4().hex
        (folder / f"{self._upload_token}.upload").write_bytes(content)
        found = intake_import.preview(content, files[0].content_type)
        self.file_name = (files[0].name or "file")[:200]
        self.file_format = found.format
        self.columns = found.columns
        self.mapping = {c: f or SKIP for c, f in found.mapping.items()}
        self.sample = [[cell[:80] for cell in row] for row in found.sample]
        self.step = "preview"
        return None

    @requires(Role.admin.value)
    def set_mapping(self, column: str, field: str):
        """Map a column to a lead field (or skip it)."""
        if column in self.mapping and field in FIELD_CHOICES:
            self.mapping = {**self.mapping, column: field}

    @requires(Role.admin.value)
    def set_default_source(self, source: str):
        """The source for rows that have no source column."""
        if source in SOURCES:
            self.default_source = source

    @requires(Role.admin.value)
    def cancel(self):
        """Drop the uploaded file and choose another."""
        self._forget_upload()
        self._reset_report()
        self.step = "upload"
        return rx.clear_selected_files(UPLOAD_ID)

    @requires(Role.admin.value)
    def start_import(self):
        """Start the import of the uploaded file with the chosen mapping."""
        path = self._upload_path()
        if self.step != "preview" or path is None or not path.exists():
            self.step = "upload"
            return rx.toast.error(i18n.tr(self.lang, "import.no_file"))
        self._reset_report()
        self.step = "running"
        return ImportState.run_import

    @rx.event(background=True)
    @requires(Role.admin.value)
    async def run_import(self):
        """Parse in a worker thread (the page polls the rows read), then write a chunk at a time; each phase
        has its own progress bar and "N of M" line."""
        async with self:
            path, actor = self._upload_path(), Actor(type="user", id=self.user_id, label=self.user_name)
            mapping = {c: (None if f == SKIP else f) for c, f in self.mapping.items()}
            csv_mapping = mapping if self.file_format == "csv" else None
            source, lang = self.default_source, self.lang
            self.phase, self.phase_done, self.phase_total, self.progress = "parsing", 0, 0, 0
        try:
            content = await asyncio.to_thread(path.read_bytes) if path else b""
            counter = intake_import.ParseProgress()
            parsing = asyncio.ensure_future(asyncio.to_thread(
                intake_import.parse_file, content, None, mapping=csv_mapping, default_source=source, progress=counter))
            while not parsing.done():
                await asyncio.wait([parsing], timeout=POLL_S)
                async with self:
                    self.phase_done, self.phase_total = counter.rows, counter.total
                    self.progress = int(counter.fraction * 100)
            parsed = parsing.result()
            run = intake_import.ImportRun(parsed, actor=actor)
            async with self:
                self.phase, self.phase_done, self.phase_total, self.progress = "writing", 0, len(parsed.rows), 0
            with session_scope() as session:
                while not run.done:
                    await asyncio.to_thread(run.step, session)
                    async with self:
                        self.progress, self.phase_done = int(run.progress * 100), run.position
            rejected_file = await asyncio.to_thread(_write_rejected, run.report, lang)
        except Exception as exc:  # noqa: BLE001 - the page must leave "running" whatever happened
            reason = exc.message if isinstance(exc, DomainError) else type(exc).__name__
            if not isinstance(exc, DomainError):
                log.exception("lead import failed")
            async with self:
                self.step, self.error = "preview", reason
            return rx.toast.error(i18n.tr(lang, "import.failed", reason=reason))
        async with self:
            self._show_report(run.report)
            self._rejected_token = rejected_file
            self._forget_upload()
        return rx.toast.success(i18n.tr(lang, "import.done"))

    def _show_report(self, report: intake_import.ImportReport) -> None:
        self.total, self.imported, self.merged = report.total, report.imported, report.merged
        self.duplicates, self.rejected_count = report.duplicates, report.rejected_count
        self.rejected_rows = [RejectedRow(row=e.row, field=field_label(self.lang, e.field),
                                          reason=reason_text(self.lang, e.code, e.message),
                                          original=values_text(report.row_values(e)))
                              for e in report.rejected[:SHOWN_REJECTED]]
        self.seconds = f"{report.seconds:.1f}"
        self.progress, self.step, self.phase = 100, "done", ""

    @requires(Role.admin.value)
    async def download_rejected(self):
        """Every rejected row (number, field, reason, original values) as a CSV file."""
        path = self._rejected_path()
        if path is None or not path.exists():
            return rx.toast.error(i18n.tr(self.lang, "import.rejected_gone"))
        data = await asyncio.to_thread(path.read_bytes)
        stem = Path(self.file_name or "import").stem[:80] or "import"
        return rx.download(data=data, filename=f"{stem}-rejected.csv", mime_type="text/csv")

    @requires(Role.admin.value)
    def again(self):
        """Back to the upload step for another file."""
        self._forget_upload()
        self._reset_report()
        self.step = "upload"
        return rx.clear_selected_files(UPLOAD_ID)
