"""Every inbound customer message from intake gets the inquiry processor, through the outbox.

Lead intake (POST /api/v1/leads, POST /api/v1/leads/{id}/messages, the website widget, SendGrid
inbound mail, the compatibility aliases) stores the message and, in the same transaction, an
outbox job `ai.process_inbound` with `{lead_id, message_id}` and the idempotency key
`ai.inbound:<message id>:<its time in µs>` — so a committed message is always processed, once per message (a replayed
request stores no new message, hence no new job). Bulk imports do not enqueue: their rows are
historical data (they still get an initial score when they open a lead; docs/api.md).

The job runs in three steps, the database parts in a worker thread so the backend's event loop never
waits on the database, and no transaction stays open while OpenAI answers:

1. `read_message`: the message's text and lead (the lead it is on *now*); nothing to do when the
   message is gone or empty, not inbound, or the lead is won or lost;
2. `ai.extract` (OpenAI when configured, else the rules engine);
3. `apply_reading`: `processor.apply_extraction` — merge, flags, score, stage proposal or move
   (audited as the AI), round-robin assignment when `AI_AUTO_ASSIGN` is on.

What the AI may overwrite here is narrower than the processor's own rule (which only protects
fields a person set): a travel field that already has a value the AI did not write — a manager's,
or a structured field the submitting system sent (`"budget": 1500` next to a message saying
"бюджет 2000") — is kept. Values the AI wrote itself are updated by later messages; blank fields
are filled.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from crystal_bay.db import session_scope
from crystal_bay.integrations.openai import OpenAISettings
from crystal_bay.models import AuditEvent, Lead, Message, OutboxJob, utcnow
from crystal_bay.services import outbox
from crystal_bay.services.ai import extract, openai_config, processor
from crystal_bay.services.ai.schema import TRAVEL_KEYS, Extraction

log = logging.getLogger(__name__)

KIND = "ai.process_inbound"
MAX_ATTEMPTS = 5


def job_key(message_id: int, created_at: dt.datetime) -> str:
    """The job's idempotency key: one job per message. The message's time is part of it because a message id
    can come back (SQLite hands out max(id) + 1 again after the newest messages were deleted with their lead)."""
    return f"ai.inbound:{message_id}:{round(created_at.timestamp() * 1_000_000)}"


def enqueue(*, session: Session, lead_id: int, message: Message) -> OutboxJob:
    """Queue the processor for one stored inbound message, in the caller's transaction."""
    return outbox.enqueue(session=session, kind=KIND, payload={"lead_id": lead_id, "message_id": message.id},
                          idempotency_key=job_key(message.id, message.created_at), max_attempts=MAX_ATTEMPTS)


def job_rows(messages: Iterable[dict], *, now: dt.datetime | None = None) -> list[dict]:
    """`outbox_jobs` rows for new message rows (with `id`, `lead_id`, `created_at`), for one multi-row INSERT."""
    now = now or utcnow()
    return [{"kind": KIND, "payload": {"lead_id": m["lead_id"], "message_id": m["id"]},
             "idempotency_key": job_key(m["id"], m["created_at"]), "status": "pending", "attempts": 0,
             "max_attempts": MAX_ATTEMPTS, "next_try_at": now, "last_error": None, "locked_until": None,
             "created_at": now, "updated_at": now} for m in messages]


@dataclass(frozen=True)
class Inbound:
    """One message to read: its text, the lead it is on, the reference date and the OpenAI config."""

    message_id: int
    lead_id: int
    text: str
    today: dt.date
    config: OpenAISettings | None


def read_message(*, session: Session, message_id: int) -> Inbound | None:
    """The message to process, or None when there is nothing to do (gone, empty, not inbound, lead closed)."""
    message = session.get(Message, message_id)
    if message is None or message.direction != "inbound" or not (message.body or "").strip():
        return None
    lead = session.get(Lead, message.lead_id)
    if lead is None or lead.outcome is not None:
        return None
    return Inbound(message_id=message_id, lead_id=lead.id, text=message.body, today=processor.local_today(),
                   config=openai_config(session))


def ai_owned_fields(*, session: Session, lead_id: int) -> set[str]:
    """Travel fields whose latest change was written by the AI (later messages may update them)."""
    stmt = (select(AuditEvent.actor_type, AuditEvent.data)
            .where(AuditEvent.entity_type == "lead", AuditEvent.entity_id == lead_id,
                   AuditEvent.action == "travel_request_updated").order_by(col(AuditEvent.id)))
    last: dict[str, str] = {}
    for actor_type, data in session.exec(stmt):
        last.update({name: actor_type for name in (data or {}).get("fields", [])})
    return {name for name, actor_type in last.items() if actor_type == "ai"}


def _without_kept_values(session: Session, lead: Lead, extraction: Extraction) -> Extraction:
    """The reading minus the fields holding a value the AI did not write (those are kept)."""
    ai_fields = ai_owned_fields(session=session, lead_id=lead.id)
    kept = [name for name in TRAVEL_KEYS if getattr(lead, name) not in (None, []) and name not in ai_fields]
    return extraction.model_copy(update={name: [] if name == "children_ages" else None for name in kept})


def apply_reading(*, session: Session, inbound: Inbound, extraction: Extraction) -> processor.ProcessResult | None:
    """Merge the reading into the lead (see the module docstring), rescore, propose or move, assign."""
    from crystal_bay.services.intake_batch import lock_for_intake  # intake_batch imports this module

    lock_for_intake(session, ())  # SQLite: queue with the intake writers for the write lock
    lead = session.get(Lead, inbound.lead_id)
    if lead is None or lead.outcome is not None:
        return None
    return processor.apply_extraction(session=session, lead_id=lead.id, today=inbound.today,
                                      extraction=_without_kept_values(session, lead, extraction))


def _read(message_id: int) -> Inbound | None:
    with session_scope() as session:
        return read_message(session=session, message_id=message_id)


def _apply(inbound: Inbound, extraction: Extraction) -> processor.ProcessResult | None:
    with session_scope() as session:
        return apply_reading(session=session, inbound=inbound, extraction=extraction)


async def process_message(message_id: int) -> processor.ProcessResult | None:
    """Read one stored inbound message and apply what it says to its lead (each step in its own session)."""
    inbound = await asyncio.to_thread(_read, message_id)
    if inbound is None:
        log.info("AI: message %s needs no processing", message_id)
        return None
    extraction = await extract(inbound.text, today=inbound.today, config=inbound.config)
    return await asyncio.to_thread(_apply, inbound, extraction)


@outbox.register(KIND, delivery="at_least_once",
                 description="Run the AI inquiry processor on a new inbound message (payload: lead_id, message_id).")
async def process_inbound_job(payload: dict) -> None:
    """The outbox handler. A repeated run (a worker that died mid-job) reads the message again: the merge and the
    score come out the same; a stage proposal may be recorded twice."""
    message_id = payload.get("message_id")
    if not isinstance(message_id, int):
        raise outbox.PermanentError(f"The job has no message id: {payload!r}")
    result = await process_message(message_id)
    if result is not None:
        log.info("AI processed message %s on lead %s: updated %s, score %s, stage %s%s", message_id, result.lead_id,
                 result.updated, result.score, result.proposed_stage, " (moved)" if result.moved else "")
