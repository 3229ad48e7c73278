"""The write path of lead intake: a batch of inquiries → customers, leads, messages, in few statements.

`process` takes a batch (the API: one inquiry; the import: a chunk of rows) and for each inquiry:

1. replays: an inquiry whose idempotency record exists (same `external_id` per source, same
   `Idempotency-Key` per API key, same import row, same e-mail Message-ID) returns the first
   result and writes nothing; a repeat inside the batch returns its first occurrence's result;
2. the customer: matched by phone (E.164), e-mail or Telegram (`intake_contacts`), else created;
3. the lead: the customer's open lead (no outcome, status not closed) gets the inquiry — its
   message goes on the timeline, blank travel fields are filled (never overwritten) — else a new
   lead is opened in the pipeline's first stage;
4. the idempotency records (`webhook_events`) with the result, in the same transaction;
5. unless the batch is an import (`analyse=False`), an outbox job per new inbound message that runs the
   AI inquiry processor on it (`services/ai/inbound_jobs.py`), inserted with the messages.

New leads get their initial score (`ai.scoring`, from the request, channel and message) as they are inserted.

New rows are written with multi-row INSERT … RETURNING (customers, leads, messages, links, audit
events, idempotency records): the per-object cost of ORM construction and one flush per row made
100,000-row imports take minutes. New leads get exactly what `leads.create_lead` gives them (first
stage, its status category, an audit "created" event with source and stage); keep the two in step.

Writers are serialised where it matters: SQLite takes the write lock first (BEGIN IMMEDIATE);
PostgreSQL takes transaction advisory locks on the contacts and keys (hashed into 256 buckets),
so two concurrent inquiries from one person never create two customers.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import threading
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, event, insert, text
from sqlmodel import Session, col, func, select

from crystal_bay.models import (
    AuditEvent,
    Lead,
    LeadTag,
    Message,
    OutboxJob,
    PipelineStage,
    StatusCategory,
    Tag,
    WebhookEvent,
    utcnow,
)
from crystal_bay.services import pipeline
from crystal_bay.services.ai import inbound_jobs, scoring
from crystal_bay.services.ai.processor import local_today
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import DomainError, ValidationFailed
from crystal_bay.services.intake_contacts import ContactIndex, ExtraPhones
from crystal_bay.services.intake_schemas import TRAVEL_FIELDS, LeadIn

IDEM_API = "api-idem"  # Idempotency-Key header, per API key
EXTERNAL = "lead-ext"  # external_id, per source
IMPORT_ROW = "import-row"  # a row of an imported file without external_id (its content hash)
SENDGRID = "sendgrid"  # an inbound e-mail's Message-ID
LOCK_NAMESPACE = 0x43425449  # "CBTI": the advisory-lock namespace of lead intake
LOCK_BUCKETS = 256
WRITER_WAIT_S = 30
COPY_THRESHOLD = 200  # PostgreSQL: this many rows or more go through COPY
_SQLITE_WRITER = threading.Lock()  # this process's queue for SQLite's single writer slot
_WRITER_HELD, _WRITER_LISTENING = "cb_intake_writer_held", "cb_intake_writer_listening"


@dataclass(frozen=True)
class Inquiry:
    """One inquiry to process: the validated data, its message, and its idempotency records."""

    data: LeadIn
    channel: str
    body: str | None
    message_external_id: str | None = None
    attachments: tuple[dict, ...] = ()
    keys: tuple[tuple[str, str], ...] = ()
    request_hash: str = ""


@dataclass(frozen=True)
class IntakeResult:
    lead_id: int
    customer_id: int
    customer_existed: bool
    lead_created: bool
    message_id: int | None
    replayed: bool = False

    def public(self) -> dict[str, Any]:
        """The API answer (the same for the first call and every replay)."""
        return {"lead_id": self.lead_id, "customer_id": self.customer_id, "customer_existed": self.customer_existed,
                "lead_created": self.lead_created, "message_id": self.message_id}


@dataclass
class NewLead:
    """A lead this batch will insert (id set after the insert)."""

    values: dict[str, Any]
    id: int | None = None

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class _Placed:
    """Where one fresh inquiry landed."""

    customer: Any  # Customer | NewCustomer
    existed: bool
    lead: Any = None  # Lead | NewLead
    created: bool = False
    message: dict | None = None


@dataclass
class _Batch:
    session: Session
    inquiries: Sequence[Inquiry]
    actor: Actor
    now: dt.datetime = field(default_factory=utcnow)
    replays: dict[tuple[str, str], dict] = field(default_factory=dict)
    claimed: dict[tuple[str, str], int] = field(default_factory=dict)
    results: list[IntakeResult | int | None] = field(default_factory=list)
    placed: dict[int, _Placed] = field(default_factory=dict)
    audits: list[dict] = field(default_factory=list)
    today: dt.date = field(default_factory=local_today)  # the reference date of the initial scores

    def audit(self, entity_type: str, entity_id: int | None, action: str, data: dict) -> None:
        self.audits.append({"at": self.now, "actor_type": self.actor.type, "actor_id": self.actor.id,
                            "actor_label": self.actor.label, "entity_type": entity_type, "entity_id": entity_id,
                            "action": action, "data": data})


def allocate_ids(session: Session, model, count: int) -> list[int]:
    """`count` new primary keys for `model`: from its sequence (PostgreSQL), or after the largest id (SQLite,
    where the caller holds the write lock, so nobody else inserts meanwhile)."""
    table = model.__table__
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        stmt = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")
        return [row[0] for row in conn.execute(stmt, {"table": table.name, "n": count})]
    start = conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(start + 1, start + count + 1))


def insert_rows(session: Session, model, rows: list[dict], *, ids: bool = False) -> list[int]:
    """A multi-row INSERT straight on the table (no ORM objects, batched); with ids=True, the new ids in row
    order: one row uses RETURNING; several get their ids first (RETURNING would make SQLite insert them one
    statement per row)."""
    table = model.__table__
    conn = session.connection()
    sqlite = conn.dialect.name == "sqlite"
    if ids and len(rows) == 1:
        if sqlite:  # the driver's own last row id: no RETURNING statement to compile
            rows[0]["id"] = _sqlite_rows(conn, table, rows)
        else:
            rows[0]["id"] = conn.execute(insert(table).returning(table.c.id), rows[0]).scalar_one()
        return [rows[0]["id"]]
    if ids:
        for row, new_id in zip(rows, allocate_ids(session, model, len(rows)), strict=True):
            row["id"] = new_id
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD:
        _copy_rows(conn, table, rows)
    elif sqlite:
        _sqlite_rows(conn, table, rows)
    else:
        conn.execute(insert(table), rows)
    return [row["id"] for row in rows] if ids else []


def _sqlite_rows(conn, table, rows: list[dict]) -> int | None:
    """SQLite: one executemany with SQLAlchemy's own value converters, without its per-row parameter
    processing (most of the cost of writing an import's chunk; the same as services/demo.py does). One row:
    a plain execute, answering the new row's id."""
    sql, converters = _sqlite_insert(conn.dialect, table, tuple(rows[0]))
    if len(rows) > 1:
        converters = [(name, _memo(convert) if convert and isinstance(rows[0][name], dt.datetime) else convert)
                      for name, convert in converters]
    values = [tuple(convert(row[name]) if convert else row[name] for name, convert in converters) for row in rows]
    if len(values) == 1:
        return conn.exec_driver_sql(sql, values[0]).lastrowid
    conn.exec_driver_sql(sql, values)
    return None


@functools.cache
def _sqlite_insert(dialect, table, columns: tuple[str, ...]) -> tuple[str, list]:
    """The INSERT statement and the columns' value converters, worked out once per table and set of columns."""
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in columns)}) "
           f"VALUES ({', '.join('?' * len(columns))})")
    return sql, [(name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in columns]


def _memo(convert):
    """A converter that converts each distinct value once (a batch's rows share their timestamps)."""
    done: dict = {}

    def converted(value):
        if value not in done:
            done[value] = convert(value)
        return done[value]

    return converted


def _copy_rows(conn, table, rows: list[dict]) -> None:
    """PostgreSQL: many rows through COPY (several times faster than INSERTs for an import's chunks)."""
    from psycopg.types.json import Jsonb

    columns = [c for c in table.columns if c.name in rows[0]]
    json_columns = {c.name for c in columns if isinstance(c.type, JSON)}
    names = ", ".join(f'"{c.name}"' for c in columns)
    with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(
            f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([Jsonb(row[c.name]) if c.name in json_columns else row[c.name] for c in columns])


def request_hash(data: LeadIn) -> str:
    """A fingerprint of the validated request (field order and whitespace do not matter)."""
    return hashlib.sha256(data.model_dump_json().encode()).hexdigest()


def process(*, session: Session, inquiries: Sequence[Inquiry], actor: Actor,
            extra_phones: ExtraPhones | None = None, analyse: bool = True) -> list[IntakeResult]:
    """Process a batch of inquiries in the caller's transaction (see the module docstring). A long import passes
    `extra_phones`, read once, instead of scanning the customers' extra phones for every chunk, and
    `analyse=False`: its messages are not queued for the AI processor."""
    lock_for_intake(session, inquiries)
    batch = _Batch(session=session, inquiries=inquiries, actor=actor, replays=_load_replays(session, inquiries))
    fresh = _claim(batch)
    if fresh:
        _resolve_customers(batch, fresh, extra_phones)
        _place_leads(batch, fresh)
        _insert_messages(batch, fresh)
        if analyse:
            _queue_ai(batch, fresh)
        _tag_leads(batch, fresh)
        for i in fresh:
            p = batch.placed[i]
            batch.results[i] = IntakeResult(p.lead.id, p.customer.id, p.existed, p.created,
                                            p.message["id"] if p.message else None)
            if not p.created:
                batch.audit("lead", p.lead.id, "inquiry_added", {
                    "source": inquiries[i].data.source, "message_id": p.message["id"] if p.message else None})
    return _finish(batch)


# ---------- locks and replays ----------


def _lock_keys(inquiries: Sequence[Inquiry]) -> set[str]:
    keys: set[str] = set()
    for inquiry in inquiries:
        data = inquiry.data
        keys.update(f"{ns}:{key}" for ns, key in inquiry.keys)
        keys.update(k for k in (f"p:{data.phone}" if data.phone else "", f"e:{data.email}" if data.email else "",
                                f"t:{data.telegram.lower()}" if data.telegram else "") if k)
    return keys


class IntakeBusy(DomainError):
    code = "busy"
    status_code = 503


def _hold_sqlite_writer(session: Session) -> None:
    """Queue this process's SQLite writers on a Python lock until their transaction ends: waiting threads wake
    at once instead of polling SQLite's busy handler (which sleeps up to 100 ms between tries)."""
    if session.info.get(_WRITER_HELD):
        return
    if not _SQLITE_WRITER.acquire(timeout=WRITER_WAIT_S):
        raise IntakeBusy("Too many concurrent writes; retry shortly.")
    session.info[_WRITER_HELD] = True
    if not session.info.get(_WRITER_LISTENING):
        session.info[_WRITER_LISTENING] = True
        event.listen(session, "after_transaction_end", _release_sqlite_writer)


def _release_sqlite_writer(session: Session, transaction) -> None:
    if transaction.parent is None and session.info.pop(_WRITER_HELD, False):
        _SQLITE_WRITER.release()


def lock_for_intake(session: Session, inquiries: Sequence[Inquiry]) -> None:
    """Serialise intake writers: SQLite's write lock now (queued in-process first); PostgreSQL advisory locks
    on the contacts and keys."""
    conn = session.connection()
    dialect = conn.dialect.name
    if dialect == "sqlite":
        if not conn.connection.dbapi_connection.in_transaction:
            _hold_sqlite_writer(session)
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        buckets = sorted({zlib.crc32(k.encode()) % LOCK_BUCKETS for k in _lock_keys(inquiries)})
        if buckets:
            conn.execute(text("SELECT pg_advisory_xact_lock(:ns, b) FROM (SELECT unnest(CAST(:buckets AS int[])) AS b "
                              "ORDER BY 1) AS ordered"), {"ns": LOCK_NAMESPACE, "buckets": buckets})


def _load_replays(session: Session, inquiries: Sequence[Inquiry]) -> dict[tuple[str, str], dict]:
    """Stored results by idempotency record; leads carrying an external_id count as records too."""
    keys = {key for inquiry in inquiries for key in inquiry.keys}
    found: dict[tuple[str, str], dict] = {}
    wanted = sorted(keys)
    for start in range(0, len(wanted), 500):
        part = wanted[start:start + 500]
        stmt = select(WebhookEvent.source, WebhookEvent.event_key, WebhookEvent.payload).where(
            col(WebhookEvent.source).in_({ns for ns, _ in part}), col(WebhookEvent.event_key).in_([k for _, k in part]))
        found.update({(ns, key): payload for ns, key, payload in session.exec(stmt) if (ns, key) in keys})
    external = sorted({key.split(":", 1)[1] for ns, key in keys if ns == EXTERNAL and (ns, key) not in found})
    for start in range(0, len(external), 500):
        stmt = select(Lead.id, Lead.customer_id, Lead.source, Lead.external_id).where(
            col(Lead.external_id).in_(external[start:start + 500]))
        for lead_id, customer_id, source, external_id in session.exec(stmt):
            found.setdefault((EXTERNAL, f"{source}:{external_id}"), {
                "lead_id": lead_id, "customer_id": customer_id, "customer_existed": True, "lead_created": True,
                "message_id": None})
    return found


def _claim(batch: _Batch) -> list[int]:
    """Mark replays and in-batch repeats; return the indexes of the inquiries to process."""
    fresh: list[int] = []
    for i, inquiry in enumerate(batch.inquiries):
        batch.results.append(None)
        stored = next((batch.replays[k] for k in inquiry.keys if k in batch.replays), None)
        owner = next((batch.claimed[k] for k in inquiry.keys if k in batch.claimed), None)
        if stored is not None:
            _check_same_request(inquiry, stored)
            batch.results[i] = _replayed(stored)
        elif owner is not None:
            _check_same_request(inquiry, {"request_hash": batch.inquiries[owner].request_hash})
            batch.results[i] = owner
        else:
            batch.claimed.update({k: i for k in inquiry.keys})
            fresh.append(i)
    return fresh


def _check_same_request(inquiry: Inquiry, stored: dict) -> None:
    """An Idempotency-Key reused for a different request is refused (nothing is written)."""
    reused = any(ns == IDEM_API for ns, _ in inquiry.keys)
    if reused and stored.get("request_hash") and stored["request_hash"] != inquiry.request_hash:
        raise ValidationFailed("This Idempotency-Key was used for a different request.",
                               code="idempotency_key_reused", field="Idempotency-Key")


def _replayed(stored: dict) -> IntakeResult:
    return IntakeResult(lead_id=stored["lead_id"], customer_id=stored["customer_id"],
                        customer_existed=stored["customer_existed"], lead_created=stored["lead_created"],
                        message_id=stored.get("message_id"), replayed=True)


def _finish(batch: _Batch) -> list[IntakeResult]:
    """Resolve in-batch repeats; write the audit events and the idempotency records."""
    results: list[IntakeResult] = []
    records: list[dict] = []
    for i, result in enumerate(batch.results):
        if isinstance(result, int):
            result = IntakeResult(**{**asdict(batch.results[result]), "replayed": True})
        elif not result.replayed:
            inquiry = batch.inquiries[i]
            payload = {**result.public(), "request_hash": inquiry.request_hash}
            records += [{"source": ns, "event_key": key, "payload": payload, "received_at": batch.now,
                         "processed_at": batch.now, "status": "processed"} for ns, key in inquiry.keys]
        results.append(result)
    if records:
        insert_rows(batch.session, WebhookEvent, records)
    if batch.audits:
        insert_rows(batch.session, AuditEvent, batch.audits)
    batch.session.flush()
    return results


# ---------- customers, leads, messages, tags ----------


def _resolve_customers(batch: _Batch, fresh: list[int], extra_phones: ExtraPhones | None) -> None:
    index = ContactIndex(batch.session, extra_phones)
    index.load([batch.inquiries[i].data for i in fresh])
    for i in fresh:
        customer, existed = index.resolve(batch.inquiries[i].data, actor=batch.actor)
        batch.placed[i] = _Placed(customer=customer, existed=existed)
    batch.audits += index.insert_new(actor=batch.actor, now=batch.now)


def _is_open(lead: Lead | NewLead) -> bool:
    return lead.outcome is None and lead.status != StatusCategory.closed.value


def _open_leads(session: Session, customer_ids: set[int]) -> dict[int, Lead]:
    """Each customer's most recently active open lead."""
    found: dict[int, Lead] = {}
    ids = sorted(customer_ids)
    for start in range(0, len(ids), 500):
        stmt = (select(Lead).where(col(Lead.customer_id).in_(ids[start:start + 500]), col(Lead.outcome).is_(None),
                                   Lead.status != StatusCategory.closed.value)
                .order_by(col(Lead.updated_at).desc(), col(Lead.id).desc()))
        for lead in session.exec(stmt):
            found.setdefault(lead.customer_id, lead)
    return found


def _place_leads(batch: _Batch, fresh: list[int]) -> None:
    """Each inquiry on its customer's open lead, or on a new lead (inserted together)."""
    placed = batch.placed
    open_leads: dict[int, Any] = _open_leads(batch.session, {p.customer.id for p in placed.values() if p.existed})
    stage = _first_stage(batch.session)
    new: list[NewLead] = []
    for i in fresh:
        inquiry, p = batch.inquiries[i], placed[i]
        lead = open_leads.get(p.customer.id)
        if lead is not None and _is_open(lead):
            _attach(batch, lead, inquiry)
            p.lead = lead
            continue
        p.lead, p.created = NewLead(values=_new_lead_values(batch, inquiry, p.customer.id, stage)), True
        open_leads[p.customer.id] = p.lead
        new.append(p.lead)
    _insert_leads(batch, new, stage.id)


@dataclass(frozen=True)
class _Stage:
    id: int
    category: str


_FIRST_STAGE = (select(PipelineStage.id, PipelineStage.category).where(PipelineStage.is_active)
                .order_by(col(PipelineStage.position)).limit(1))


def _first_stage(session: Session) -> _Stage:
    """The stage new leads start in (the same as pipeline.first_stage, without loading every stage)."""
    row = session.connection().execute(_FIRST_STAGE).first()
    if row is None:
        pipeline.first_stage(session=session)  # raises the pipeline's own "no stages" error
    return _Stage(*row)


def _new_lead_values(batch: _Batch, inquiry: Inquiry, customer_id: int, stage) -> dict[str, Any]:
    data = inquiry.data
    values = {name: None for name in TRAVEL_FIELDS}
    values.update(data.travel_values())
    values.update(customer_id=customer_id, source=data.source, stage_id=stage.id, status=stage.category, outcome=None,
                  external_id=data.external_id, utm=data.utm(), children_ages=values["children_ages"] or [],
                  score_reasons=[], needs_human=False, created_at=batch.now, updated_at=batch.now,
                  last_customer_message_at=batch.now if inquiry.body else None)
    return values


def _score_new(batch: _Batch, lead: NewLead) -> None:
    """A new lead's initial score (the AI processor rescores it when it reads the message)."""
    values = lead.values
    request = tuple(tuple(v) if isinstance(v := values[name], list) else v for name in TRAVEL_FIELDS)
    value, reasons = _initial_score(request, values["source"], values["last_customer_message_at"] is not None,
                                    batch.today)
    values["score"], values["score_reasons"] = value, list(reasons)


@functools.lru_cache(maxsize=4096)
def _initial_score(request: tuple, source: str, wrote: bool, today: dt.date) -> tuple[int, tuple[str, ...]]:
    """The score of a travel request (TRAVEL_FIELDS values), remembered: an import's rows share many requests."""
    fields = dict(zip(TRAVEL_FIELDS, request, strict=True))
    score = scoring.score_lead(NewLead(values=fields), channel=source, inbound_messages=int(wrote), today=today)
    return score.value, tuple(score.texts("ru"))


def _insert_leads(batch: _Batch, new: list[NewLead], stage_id: int) -> None:
    if not new:
        return
    for lead in new:
        _score_new(batch, lead)
    for lead, new_id in zip(new, insert_rows(batch.session, Lead, [n.values for n in new], ids=True), strict=True):
        lead.id = new_id
        batch.audit("lead", new_id, "created", {"source": lead.values["source"], "stage_id": stage_id})


def _attach(batch: _Batch, lead: Lead | NewLead, inquiry: Inquiry) -> None:
    """A new inquiry on an open lead: blank travel fields filled, first UTM kept, the lead touched."""
    data = inquiry.data
    filled = fill_travel_blanks(lead, data.travel_values())
    if isinstance(lead, NewLead):
        if data.utm() and not lead.values["utm"]:
            lead.values["utm"] = data.utm()
        if inquiry.body:
            lead.values["last_customer_message_at"] = batch.now
        return
    if filled:
        batch.audit("lead", lead.id, "travel_request_updated",
                    {"fields": list(filled), "values": {k: _jsonable(v) for k, v in filled.items()}})
    if data.utm() and not lead.utm:
        lead.utm = data.utm()
    lead.updated_at = batch.now
    if inquiry.body:
        lead.last_customer_message_at = batch.now
    batch.session.add(lead)


def fill_travel_blanks(lead: Lead | NewLead, values: dict[str, Any]) -> dict[str, Any]:
    """Fill the lead's empty travel fields from a new inquiry (never overwrites); nothing if inconsistent."""
    current = lead.values if isinstance(lead, NewLead) else {name: getattr(lead, name) for name in TRAVEL_FIELDS}
    blanks = {k: v for k, v in values.items() if current.get(k) in (None, [])}
    if not blanks or not _consistent({**current, **blanks}):
        return {}
    for name, value in blanks.items():
        if isinstance(lead, NewLead):
            lead.values[name] = value
        else:
            setattr(lead, name, value)
    return blanks


def _consistent(r: dict[str, Any]) -> bool:
    """The lead card's rules between travel fields."""
    if r.get("date_from") and r.get("date_to") and r["date_to"] < r["date_from"]:
        return False
    if r.get("nights_min") is not None and r.get("nights_max") is not None and r["nights_min"] > r["nights_max"]:
        return False
    return not (r.get("children_ages") and len(r["children_ages"]) != (r.get("children") or 0))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value) if isinstance(value, Decimal) else value


def _insert_messages(batch: _Batch, fresh: list[int]) -> None:
    """Each inquiry's text on its lead's timeline, from the customer (one INSERT … RETURNING)."""
    rows: list[dict] = []
    for i in fresh:
        inquiry, p = batch.inquiries[i], batch.placed[i]
        if inquiry.body:
            p.message = {"lead_id": p.lead.id, "customer_id": p.customer.id, "channel": inquiry.channel,
                         "direction": "inbound", "author_type": "customer", "body": inquiry.body,
                         "external_id": inquiry.message_external_id, "attachments": list(inquiry.attachments),
                         "created_at": batch.now}
            rows.append(p.message)
    if rows:
        for row, new_id in zip(rows, insert_rows(batch.session, Message, rows, ids=True), strict=True):
            row["id"] = new_id


def _queue_ai(batch: _Batch, fresh: list[int]) -> None:
    """An outbox job per new inbound message: the AI inquiry processor reads it (one multi-row INSERT)."""
    messages = [m for m in (batch.placed[i].message for i in fresh) if m]
    if messages:
        insert_rows(batch.session, OutboxJob, inbound_jobs.job_rows(messages, now=batch.now))


def _tag_leads(batch: _Batch, fresh: list[int]) -> None:
    """Put each inquiry's tags on its lead (creating new tags), in a few statements for the batch."""
    wanted: dict[int, list[str]] = {}
    for i in fresh:
        wanted.setdefault(batch.placed[i].lead.id, []).extend(batch.inquiries[i].data.tags or [])
    names = sorted({name for tags in wanted.values() for name in tags})
    if not names:
        return
    tags = _tags_by_name(batch.session, names)
    lead_ids = sorted(lead_id for lead_id, tags_ in wanted.items() if tags_)
    existing = set(batch.session.exec(select(LeadTag.lead_id, LeadTag.tag_id)
                                      .where(col(LeadTag.lead_id).in_(lead_ids))))
    links = []
    for lead_id in lead_ids:
        for name in wanted[lead_id]:
            tag = tags[name.casefold()]
            if (lead_id, tag.id) not in existing:
                existing.add((lead_id, tag.id))
                links.append({"lead_id": lead_id, "tag_id": tag.id})
                batch.audit("lead", lead_id, "tag_added", {"tag": tag.name})
    if links:
        insert_rows(batch.session, LeadTag, links)


def _tags_by_name(session: Session, names: list[str]) -> dict[str, Tag]:
    """Tags by case-folded name: the existing tag whatever its case, else a new one."""
    folded = {n.casefold(): n for n in names}
    found: dict[str, Tag] = {}
    for tag in session.exec(select(Tag)):
        found.setdefault(tag.name.casefold(), tag)
    new = [Tag(name=name) for key, name in folded.items() if key not in found]
    if new:
        session.add_all(new)
        session.flush()
        found.update({t.name.casefold(): t for t in new})
    return found
