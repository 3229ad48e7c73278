"""Bulk import of leads from CSV or JSON lines (up to 100,000 rows).

Two phases. `parse_file` reads and validates every row with the same rules as the API (`LeadIn`):
a bad row is rejected with its row number, field and reason and never stops the others.
`ImportRun` then writes the valid rows in chunks through `intake.process` (customers matched
in batches, open leads reused, a lead per new inquiry), committing after each chunk. A row is
imported once: by its `external_id` (per source) or, without one, by the hash of its content, so
importing the same file again creates nothing. If a chunk fails as a whole (a concurrent write),
its rows are retried one by one so only the offending row is rejected. Imported rows are historical
data: their messages are not queued for the AI inquiry processor (one job per row would be 100,000
extractions for one file); new leads still get their initial score.

CSV: UTF-8 (with or without BOM) or Windows-1251, separated by `,` `;` or tab, one header row.
Headers are matched to fields by name in Russian or English (`guess_mapping`); a mapping can be
given explicitly. Values: dates as YYYY-MM-DD or DD.MM.YYYY, budgets like "1 500,50", lists
(tags, children's ages) separated by commas or semicolons. Rows without a source get the chosen
default source (CSV and JSON lines alike).

Every rejected row is kept with its number, reason and original values (the CSV cells, or the JSON
line), and `rejected_csv` writes them as a CSV the admin can fix and import again. `parse_file`
reports how far it got through a `ParseProgress` (read by the import page while a big file parses).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from crystal_bay.services import intake
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import DomainError, ValidationFailed
from crystal_bay.services.intake_contacts import ExtraPhones
from crystal_bay.services.intake_schemas import CHANNEL_VALUES, LeadIn

MAX_ROWS = 100_000
MAX_BYTES = 50 * 1024 * 1024
CHUNK_ROWS = 2000
ANALYZE_EVERY = 20_000
PROGRESS_EVERY = 500  # rows between two updates of a ParseProgress
PREVIEW_ROWS = 5
FIELDS = tuple(LeadIn.model_fields)
INT_FIELDS = {"nights_min", "nights_max", "adults", "children", "hotel_stars"}
LIST_FIELDS = {"tags", "children_ages"}

SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("name", "имя", "фио", "клиент", "имя клиента", "full name", "customer", "contact"),
    "phone": ("phone", "телефон", "тел", "номер", "номер телефона", "мобильный", "mobile", "phone number"),
    "email": ("email", "e-mail", "почта", "эл почта", "электронная почта", "mail"),
    "telegram": ("telegram", "телеграм", "телеграмм", "tg"),
    "message": ("message", "сообщение", "комментарий", "комментарии", "текст", "comment", "notes", "запрос"),
    "source": ("source", "источник", "канал", "channel"),
    "external_id": ("external_id", "external id", "id", "внешний id", "номер заявки", "ид"),
    "destination": ("destination", "направление", "куда"),
    "country": ("country", "страна"),
    "resort": ("resort", "курорт", "город"),
    "departure_city": ("departure_city", "departure city", "город вылета", "вылет из", "откуда"),
    "date_from": ("date_from", "date from", "дата вылета", "дата с", "с", "заезд"),
    "date_to": ("date_to", "date to", "дата возврата", "дата по", "по", "выезд"),
    "nights_min": ("nights_min", "nights from", "ночей от", "ночей", "nights"),
    "nights_max": ("nights_max", "nights to", "ночей до"),
    "adults": ("adults", "взрослые", "взрослых", "взр"),
    "children": ("children", "дети", "детей"),
    "children_ages": ("children_ages", "children ages", "возраст детей", "возраст"),
    "budget": ("budget", "бюджет", "сумма"),
    "currency": ("currency", "валюта"),
    "hotel_stars": ("hotel_stars", "stars", "звезды", "звёзды", "звездность", "категория отеля"),
    "meal": ("meal", "питание"),
    "tags": ("tags", "теги", "метки", "tag", "тег"),
    **{f"utm_{p}": (f"utm_{p}", f"utm {p}") for p in ("source", "medium", "campaign", "term", "content")},
}
SOURCE_NAMES = {"сайт": "website", "веб-сайт": "website", "site": "website", "web": "website",
                "телеграм": "telegram", "телеграмм": "telegram", "ватсап": "whatsapp", "вотсап": "whatsapp",
                "почта": "email", "e-mail": "email", "телефон": "phone", "звонок": "phone", "визит": "walk_in",
                "офис": "walk_in", "walk-in": "walk_in"}


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based row number in the file (the header is row 1 of a CSV)
    field: str | None
    code: str
    message: str
    values: tuple[str, ...] = ()  # the row as it was in the file: CSV cells, or (the JSON line,)


@dataclass
class ParseProgress:
    """How far `parse_file` got: rows read of about `total` (lines in the file). Written by the parsing
    thread, read by whoever shows progress; plain attribute writes, so no lock is needed."""

    rows: int = 0
    total: int = 0

    @property
    def fraction(self) -> float:
        return min(1.0, self.rows / self.total) if self.total else 0.0


@dataclass
class ParsedFile:
    format: str  # csv | jsonl
    columns: list[str]
    mapping: dict[str, str | None]
    rows: list[tuple[int, LeadIn]] = field(default_factory=list)
    rejected: list[RowError] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.rejected)

    @property
    def value_columns(self) -> list[str]:
        """What a rejected row's `values` are: the CSV's columns, or the JSON line."""
        return list(self.columns) if self.format == "csv" else ["line"]


@dataclass(frozen=True)
class FilePreview:
    format: str
    columns: list[str]
    mapping: dict[str, str | None]
    sample: list[list[str]]


@dataclass
class ImportReport:
    total: int = 0
    imported: int = 0
    merged: int = 0
    duplicates: int = 0
    rejected: list[RowError] = field(default_factory=list)  # every rejected row, in file order
    rejected_count: int = 0
    seconds: float = 0.0
    columns: list[str] = field(default_factory=list)  # the names of a rejected row's `values`

    def row_values(self, error: RowError) -> dict[str, str]:
        """A rejected row's original values by column (cells beyond the header are numbered)."""
        names = self.columns + [f"column {i + 1}" for i in range(len(self.columns), len(error.values))]
        return dict(zip(names, error.values, strict=False))

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "imported": self.imported, "merged": self.merged,
                "duplicates": self.duplicates, "rejected": self.rejected_count,
                "rejected_rows": [{"row": e.row, "field": e.field, "code": e.code, "message": e.message,
                                   "values": self.row_values(e)} for e in self.rejected],
                "rejected_rows_truncated": self.rejected_count > len(self.rejected),
                "seconds": round(self.seconds, 3)}

    def reject(self, error: RowError) -> None:
        self.rejected_count += 1
        self.rejected.append(error)


# ---------- reading the file ----------


def _norm_header(header: str) -> str:
    return " ".join(re.sub(r"[._\-:]+", " ", header.strip().lower().replace("ё", "е")).split())


_LOOKUP = {_norm_header(alias): name for name, aliases in SYNONYMS.items() for alias in aliases}


def guess_mapping(columns: list[str]) -> dict[str, str | None]:
    """Each column's field by its header (Russian or English), None for a column to skip; a field once."""
    mapping: dict[str, str | None] = {}
    taken: set[str] = set()
    for column in columns:
        name = _LOOKUP.get(_norm_header(column))
        mapping[column] = name if name and name not in taken else None
        taken.add(name or "")
    return mapping


def detect_format(content: bytes, content_type: str | None = None) -> str:
    """csv or jsonl, from the content type, else from the first character."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind in ("text/csv", "application/csv", "text/comma-separated-values"):
        return "csv"
    if kind in ("application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/json-lines",
                "application/jsonlines"):
        return "jsonl"
    return "jsonl" if content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{" else "csv"


def decode(content: bytes) -> str:
    """UTF-8 (a BOM is dropped), else Windows-1251 (Russian Excel)."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1251", errors="replace")


def _csv_reader(text: str) -> Iterator[list[str]]:
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def preview(content: bytes, content_type: str | None = None, rows: int = PREVIEW_ROWS) -> FilePreview:
    """The columns, the guessed mapping and the first rows, for the upload page."""
    fmt = detect_format(content, content_type)
    text = decode(content)
    if fmt == "jsonl":
        sample_objs = [_json_object(line) for line in text.splitlines() if line.strip()][:rows]
        columns = list(dict.fromkeys(k for obj in sample_objs for k in obj))
        sample = [[_cell(obj.get(c)) for c in columns] for obj in sample_objs]
        return FilePreview(fmt, columns, {c: c if c in FIELDS else None for c in columns}, sample)
    reader = _csv_reader(text)
    columns = next(reader, [])
    sample = [row for _, row in zip(range(rows), reader, strict=False)]
    return FilePreview(fmt, columns, guess_mapping(columns), sample)


def _json_object(line: str) -> dict:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _cell(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# ---------- validating rows ----------


def _int(value: str) -> int:
    value = value.strip()
    return int(value[:-2] if value.endswith(".0") else value)


def _date(value: str) -> dt.date:
    value = value.strip()
    if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", value):
        day, month, year = (int(p) for p in value.split("."))
        return dt.date(year, month, day)
    return dt.date.fromisoformat(value)


def _decimal(value: str) -> Decimal:
    return Decimal(re.sub(r"[\s\u00a0]", "", value).replace(",", "."))


def _split(value: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,;|/]", value) if p.strip()]


def _convert(name: str, value: str) -> Any:
    """A CSV cell as the field's type (ValueError when it is not one)."""
    if name in INT_FIELDS:
        return _int(value)
    if name in ("date_from", "date_to"):
        return _date(value)
    if name == "budget":
        return _decimal(value)
    if name == "children_ages":
        return [_int(v) for v in _split(value)]
    if name == "tags":
        return _split(value)
    if name == "phone" and re.fullmatch(r"\d+\.0", value.strip()):
        return value.strip()[:-2]  # Excel turned the number into a float
    return value


def _csv_values(row: list[str], columns: list[str], mapping: dict[str, str | None], number: int,
                default_source: str) -> dict[str, Any] | RowError:
    values: dict[str, Any] = {}
    for column, cell in zip(columns, row, strict=False):
        name = mapping.get(column)
        if not name or not cell.strip():
            continue
        try:
            values[name] = _convert(name, cell)
        except (ValueError, InvalidOperation, ArithmeticError):
            return RowError(number, name, f"invalid_{name}", f"Cannot read {name!r} from {cell[:50]!r}.",
                            tuple(row))
    if "source" in values:
        source = values["source"].strip().lower()
        values["source"] = SOURCE_NAMES.get(source, source)
    values.setdefault("source", default_source)
    return values


def _row_error(number: int, exc: ValidationError, values: tuple[str, ...]) -> RowError:
    first = exc.errors(include_input=False)[0]
    loc = [str(p) for p in first.get("loc", ())]
    if first.get("type") == "json_invalid":
        return RowError(number, None, "malformed_json", "The line is not valid JSON.", values)
    return RowError(number, ".".join(loc) or (first.get("ctx") or {}).get("field"), first["type"], first["msg"],
                    values)


def _check_mapping(mapping: dict[str, str | None]) -> None:
    fields = [f for f in mapping.values() if f]
    unknown = sorted({f for f in fields if f not in FIELDS})
    if unknown:
        raise ValidationFailed(f"Unknown field(s) in the mapping: {', '.join(unknown)}.", code="invalid_mapping",
                               field="mapping")
    twice = sorted({f for f in fields if fields.count(f) > 1})
    if twice:
        raise ValidationFailed(f"Several columns map to {', '.join(twice)}.", code="invalid_mapping", field="mapping")


def _too_many(number: int) -> None:
    if number > MAX_ROWS:
        raise ValidationFailed(f"The file has more than {MAX_ROWS} rows; split it.", code="too_many_rows",
                               field="file")


def parse_file(content: bytes, content_type: str | None = None, *, mapping: dict[str, str | None] | None = None,
               default_source: str = "api", progress: ParseProgress | None = None) -> ParsedFile:
    """Every row validated (see the module docstring); raises only for a file that cannot be imported at all.
    `progress`, when given, is updated every few hundred rows (its total is the file's line count)."""
    if len(content) > MAX_BYTES:
        raise ValidationFailed(f"The file exceeds {MAX_BYTES // (1024 * 1024)} MiB.", code="file_too_large",
                               field="file")
    if default_source not in CHANNEL_VALUES:
        raise ValidationFailed(f"Unknown source {default_source!r}.", code="invalid_source", field="source")
    fmt = detect_format(content, content_type)
    text = decode(content)
    progress = progress if progress is not None else ParseProgress()
    progress.rows, progress.total = 0, text.count("\n") + (0 if text.endswith("\n") else 1)
    if fmt == "jsonl":
        return _parse_jsonl(text, default_source, progress)
    return _parse_csv(text, mapping, default_source, progress)


def _parse_jsonl(text: str, default_source: str, progress: ParseProgress) -> ParsedFile:
    parsed = ParsedFile(format="jsonl", columns=list(FIELDS), mapping={f: f for f in FIELDS})
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if number % PROGRESS_EVERY == 0:
            progress.rows = number
        if not line.strip():
            continue
        count += 1
        _too_many(count)
        try:
            data = LeadIn.model_validate_json(line)
        except ValidationError as exc:
            parsed.rejected.append(_row_error(number, exc, (line,)))
            continue
        if "source" not in data.model_fields_set:  # the row names no source: the one chosen for the file
            data = data.model_copy(update={"source": default_source})
        parsed.rows.append((number, data))
    progress.rows = progress.total
    return parsed


def _parse_csv(text: str, mapping: dict[str, str | None] | None, default_source: str,
               progress: ParseProgress) -> ParsedFile:
    reader = _csv_reader(text)
    columns = next(reader, [])
    mapping = {c: mapping.get(c) for c in columns} if mapping is not None else guess_mapping(columns)
    _check_mapping(mapping)
    if not any(mapping.values()):
        raise ValidationFailed("No column matches a lead field; give a mapping.", code="no_columns", field="mapping")
    parsed = ParsedFile(format="csv", columns=columns, mapping=mapping)
    try:
        for count, row in enumerate(reader, start=1):
            _parse_csv_row(parsed, row, count + 1, default_source)
            _too_many(count)
            if count % PROGRESS_EVERY == 0:
                progress.rows = reader.line_num
    except csv.Error as exc:
        parsed.rejected.append(RowError(reader.line_num, None, "malformed_csv", f"Unreadable CSV: {exc}"))
    progress.rows = progress.total
    return parsed


def _parse_csv_row(parsed: ParsedFile, row: list[str], number: int, default_source: str) -> None:
    if not any(cell.strip() for cell in row):
        return
    values = _csv_values(row, parsed.columns, parsed.mapping, number, default_source)
    if isinstance(values, RowError):
        parsed.rejected.append(values)
        return
    try:
        parsed.rows.append((number, LeadIn.model_validate(values)))
    except ValidationError as exc:
        parsed.rejected.append(_row_error(number, exc, tuple(row)))


# ---------- writing ----------


def row_inquiry(data: LeadIn) -> intake.Inquiry:
    """An imported row: idempotent by external_id per source, else by the hash of its content."""
    digest = intake.request_hash(data)
    key = (intake.EXTERNAL, f"{data.source}:{data.external_id}") if data.external_id else (intake.IMPORT_ROW, digest)
    return intake.Inquiry(data=data, channel=data.source, body=data.message, keys=(key,), request_hash=digest)


class ImportRun:
    """The write phase of an import, a chunk at a time (so a caller can show progress between chunks)."""

    def __init__(self, parsed: ParsedFile, *, actor: Actor, chunk_rows: int = CHUNK_ROWS, commit: bool = True):
        self.parsed, self.actor, self.chunk_rows = parsed, actor, max(1, chunk_rows)
        self.commit = commit  # False: flush only, the caller's transaction decides (tests roll back)
        self.report = ImportReport(total=parsed.total, columns=parsed.value_columns)
        for error in parsed.rejected:
            self.report.reject(error)
        self.position = 0
        self._started = time.perf_counter()
        self._extra_phones: ExtraPhones | None = None
        self._written = 0  # rows written since the last ANALYZE (PostgreSQL)

    @property
    def done(self) -> bool:
        return self.position >= len(self.parsed.rows)

    @property
    def progress(self) -> float:
        """0..1 of the valid rows written."""
        return 1.0 if not self.parsed.rows else self.position / len(self.parsed.rows)

    def step(self, session: Session) -> None:
        """Write the next chunk and commit it (one by one if the chunk fails as a whole)."""
        chunk = self.parsed.rows[self.position:self.position + self.chunk_rows]
        try:
            if self._extra_phones is None:
                self._extra_phones = ExtraPhones(session)
            results = intake.process(session=session, inquiries=[row_inquiry(d) for _, d in chunk], actor=self.actor,
                                     extra_phones=self._extra_phones, analyse=False)
            self._end_chunk(session)
        except (IntegrityError, DomainError):
            session.rollback()
            self._extra_phones = None  # re-read after the rollback
            results = [self._one(session, number, data) for number, data in chunk]
        for result in results:
            self._count(result)
        self.position += len(chunk)
        self._written += len(chunk)
        if self._written >= ANALYZE_EVERY or (self.done and self._written >= ANALYZE_EVERY // 10):
            self._analyze(session)
        self.report.seconds = time.perf_counter() - self._started

    def _analyze(self, session: Session) -> None:
        """PostgreSQL: refresh the planner's statistics of the tables an import grows. With the statistics of an
        empty table, the lookups of the next chunks (and of a repeated import) scan instead of using indexes."""
        self._written = 0
        if not self.commit or session.get_bind().dialect.name != "postgresql":
            return
        session.execute(text("ANALYZE customers, leads, messages, webhook_events, audit_events, lead_tags"))
        session.commit()

    def _one(self, session: Session, number: int, data: LeadIn) -> intake.IntakeResult | None:
        try:
            result = intake.process(session=session, inquiries=[row_inquiry(data)], actor=self.actor, analyse=False)[0]
            self._end_chunk(session)
            return result
        except (IntegrityError, DomainError) as exc:
            session.rollback()
            message = exc.message if isinstance(exc, DomainError) else "Conflicts with data written meanwhile."
            self.report.reject(RowError(number, getattr(exc, "field", None), "conflict", message,
                                        self._original(data)))
            return None

    def _original(self, data: LeadIn) -> tuple[str, ...]:
        """A valid row's values in the report's columns (the raw cells are not kept for rows that parsed)."""
        given = data.model_dump(mode="json", exclude_unset=True)
        if self.parsed.format != "csv":
            return (json.dumps(given, ensure_ascii=False),)
        return tuple(_cell(given.get(self.parsed.mapping.get(c) or "")) for c in self.parsed.columns)

    def _end_chunk(self, session: Session) -> None:
        if self.commit:
            session.commit()
        else:
            session.flush()

    def _count(self, result: intake.IntakeResult | None) -> None:
        if result is None:
            return
        if result.replayed:
            self.report.duplicates += 1
        elif result.lead_created:
            self.report.imported += 1
        else:
            self.report.merged += 1

    def run(self, session: Session, on_progress: Callable[[float], None] | None = None) -> ImportReport:
        """Every remaining chunk."""
        while not self.done:
            self.step(session)
            if on_progress:
                on_progress(self.progress)
        self.report.seconds = time.perf_counter() - self._started
        return self.report


def rejected_csv(report: ImportReport, *, headers: tuple[str, str, str] = ("row", "field", "reason"),
                 describe: Callable[[RowError], tuple[str, str]] | None = None) -> bytes:
    """Every rejected row as CSV (UTF-8 with BOM, `;`, as Excel opens it): the row number, field and reason
    (`describe(error)` → (field, reason), English by default), then the row's original values under the
    file's own column names — fixed rows can be imported again (the first three columns are skipped)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    width = max((len(e.values) for e in report.rejected), default=0)
    writer.writerow([*headers, *report.columns, *(f"column {i + 1}" for i in range(len(report.columns), width))])
    for error in report.rejected:
        field_text, reason = describe(error) if describe else (error.field or "", error.message)
        writer.writerow([error.row, field_text, reason, *error.values])
    return out.getvalue().encode("utf-8-sig")


def import_file(*, session: Session, content: bytes, content_type: str | None = None,
                mapping: dict[str, str | None] | None = None, default_source: str = "api", actor: Actor,
                commit: bool = True) -> ImportReport:
    """Parse and import a whole file; commits a chunk at a time (commit=False: flushes only)."""
    parsed = parse_file(content, content_type, mapping=mapping, default_source=default_source)
    return ImportRun(parsed, actor=actor, commit=commit).run(session)
