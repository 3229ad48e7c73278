"""Lead intake: the use-cases behind the API, the website widget and the import.

Every inquiry from outside takes one path, `intake_batch.process` (customers deduplicated by phone,
e-mail and Telegram; the open lead reused; idempotency by external_id, Idempotency-Key, import row
or Message-ID). This module adds the single-inquiry entry points and the lead API's reads and
changes (list with cursor pagination, get, patch, log a message). Bulk import: `intake_import`;
e-mail: `email_inbound`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from crystal_bay.models import Customer, Lead, LeadTag, Message, PipelineStage, Tag, utcnow
from crystal_bay.services import audit, intake_writer, leads, pipeline
from crystal_bay.services.ai import inbound_jobs
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import NotFound, ValidationFailed
from crystal_bay.services.intake_batch import (
    EXTERNAL,
    IDEM_API,
    IMPORT_ROW,
    SENDGRID,
    Inquiry,
    IntakeResult,
    lock_for_intake,
    process,
    request_hash,
)
from crystal_bay.services.intake_schemas import (
    TRAVEL_FIELDS,
    CustomerPublic,
    LeadDetailPublic,
    LeadIn,
    LeadPatch,
    LeadPublic,
    MessageIn,
    MessagePublic,
    WidgetIn,
)

__all__ = ["EXTERNAL", "IDEM_API", "IMPORT_ROW", "SENDGRID", "Inquiry", "IntakeResult", "LeadFilter", "get_lead",
           "inquiry_for", "list_leads", "lock_for_intake", "log_message", "patch_lead", "process", "request_hash",
           "submit_lead", "submit_lead_grouped", "submit_widget"]

MAX_PAGE = 200


def inquiry_for(data: LeadIn, *, api_key_id: int | None = None, idempotency_key: str | None = None) -> Inquiry:
    """The inquiry an API submission makes, with its idempotency records."""
    keys: list[tuple[str, str]] = []
    if idempotency_key:
        keys.append((IDEM_API, f"{api_key_id or 0}:{idempotency_key}"))
    if data.external_id:
        keys.append((EXTERNAL, f"{data.source}:{data.external_id}"))
    return Inquiry(data=data, channel=data.source, body=data.message, keys=tuple(keys), request_hash=request_hash(data))


def submit_lead(
    *, session: Session, data: LeadIn, api_key_id: int | None = None, idempotency_key: str | None = None, actor: Actor
) -> IntakeResult:
    """Create a lead for an inquiry, or attach it to the customer's open lead; a repeat returns the first result."""
    inquiry = inquiry_for(data, api_key_id=api_key_id, idempotency_key=idempotency_key)
    return process(session=session, inquiries=[inquiry], actor=actor)[0]


async def submit_lead_grouped(
    *, data: LeadIn, api_key_id: int | None = None, idempotency_key: str | None = None, actor: Actor
) -> IntakeResult:
    """`submit_lead` in its own transaction, shared with the other inquiries arriving at the same moment
    (`intake_writer`: one commit for many; the result comes once it is committed)."""
    inquiry = inquiry_for(data, api_key_id=api_key_id, idempotency_key=idempotency_key)
    return await intake_writer.submit(inquiry, actor=actor)


# ---------- reading leads ----------


def _tags_of(session: Session, lead_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {i: [] for i in lead_ids}
    if lead_ids:
        stmt = (select(LeadTag.lead_id, Tag.name).join(Tag, col(Tag.id) == col(LeadTag.tag_id))
                .where(col(LeadTag.lead_id).in_(lead_ids)))
        for lead_id, name in session.exec(stmt):
            found[lead_id].append(name)
    return {k: sorted(v, key=str.casefold) for k, v in found.items()}


def _public(lead: Lead, customer: Customer, stage: PipelineStage, tags: list[str]) -> dict[str, Any]:
    values = {name: getattr(lead, name) for name in TRAVEL_FIELDS}
    return {
        **values, "id": lead.id, "source": lead.source, "stage": stage.slug, "stage_name": stage.name_ru,
        "status": lead.status, "outcome": lead.outcome, "lost_reason": lead.lost_reason,
        "assignee_id": lead.assignee_id, "tags": tags, "external_id": lead.external_id, "utm": lead.utm or {},
        "children_ages": lead.children_ages or [], "created_at": lead.created_at, "updated_at": lead.updated_at,
        "customer": CustomerPublic(id=customer.id, name=customer.name, phone=customer.phone,
                                   phones=customer.phones or [], email=customer.email,
                                   telegram=customer.telegram_username),
    }


def get_lead(*, session: Session, lead_id: int) -> LeadDetailPublic:
    """A lead with its customer, stage, tags and latest 100 messages."""
    row = session.exec(select(Lead, Customer, PipelineStage)
                       .join(Customer, col(Customer.id) == col(Lead.customer_id))
                       .join(PipelineStage, col(PipelineStage.id) == col(Lead.stage_id))
                       .where(Lead.id == lead_id)).first()
    if row is None:
        raise NotFound(f"Lead {lead_id} does not exist.", field="lead_id")
    lead, customer, stage = row
    messages = list(session.exec(select(Message).where(Message.lead_id == lead_id)
                                 .order_by(col(Message.created_at).desc(), col(Message.id).desc()).limit(100)))
    return LeadDetailPublic(**_public(lead, customer, stage, _tags_of(session, [lead_id])[lead_id]),
                            messages=[MessagePublic.model_validate(m, from_attributes=True) for m in reversed(messages)])


@dataclass(frozen=True)
class LeadFilter:
    stage: str | None = None
    status: str | None = None
    assignee: str | None = None  # a user id, or "none" for unassigned
    source: str | None = None
    updated_since: dt.datetime | None = None


def encode_cursor(updated_at: dt.datetime, lead_id: int) -> str:
    raw = json.dumps({"u": updated_at.isoformat(), "i": lead_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    """The position a cursor stands for, or ValidationFailed(field="cursor")."""
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        updated_at, lead_id = dt.datetime.fromisoformat(value["u"]), int(value["i"])
        if updated_at.utcoffset() is None or not 0 <= lead_id <= 2**31 or not isinstance(value["i"], int):
            raise ValueError("bad cursor")
        return updated_at, lead_id
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError, OverflowError) as exc:
        raise ValidationFailed("The cursor is not one this API gave out.", code="invalid_cursor",
                               field="cursor") from exc


def _filter_conditions(session: Session, filters: LeadFilter) -> list:
    conds: list = []
    if filters.stage:
        stage = leads.get_stage(session=session, slug=filters.stage)
        if stage is None:
            raise ValidationFailed(f"Unknown stage {filters.stage!r}.", code="unknown_stage", field="stage")
        conds.append(Lead.stage_id == stage.id)
    if filters.status:
        conds.append(Lead.status == filters.status)
    if filters.assignee == "none":
        conds.append(col(Lead.assignee_id).is_(None))
    elif filters.assignee:
        conds.append(Lead.assignee_id == int(filters.assignee))
    if filters.source:
        conds.append(Lead.source == filters.source)
    if filters.updated_since:
        conds.append(Lead.updated_at >= filters.updated_since)
    return conds


def list_leads(*, session: Session, filters: LeadFilter, cursor: str | None = None,
               limit: int = 50) -> tuple[list[LeadPublic], str | None]:
    """Leads matching the filters, oldest change first (updated_at, id), a page at a time."""
    limit = min(max(limit, 1), MAX_PAGE)
    stmt = (select(Lead, Customer, PipelineStage)
            .join(Customer, col(Customer.id) == col(Lead.customer_id))
            .join(PipelineStage, col(PipelineStage.id) == col(Lead.stage_id))
            .where(*_filter_conditions(session, filters))
            .order_by(col(Lead.updated_at), col(Lead.id)).limit(limit + 1))
    if cursor:
        after, after_id = decode_cursor(cursor)
        stmt = stmt.where(or_(Lead.updated_at > after, and_(Lead.updated_at == after, col(Lead.id) > after_id)))
    rows = list(session.exec(stmt))
    page, more = rows[:limit], len(rows) > limit
    tags = _tags_of(session, [lead.id for lead, _, _ in page])
    items = [LeadPublic(**_public(lead, customer, stage, tags[lead.id])) for lead, customer, stage in page]
    last = page[-1][0] if more else None
    return items, encode_cursor(last.updated_at, last.id) if last else None


# ---------- changing leads ----------


def patch_lead(*, session: Session, lead_id: int, data: LeadPatch, actor: Actor) -> LeadDetailPublic:
    """Change a lead's stage, assignee, tags and travel request in one go (all or nothing)."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"Lead {lead_id} does not exist.", field="lead_id")
    if "stage" in data.model_fields_set:
        _move(session, lead, data, actor)
    if "assignee_id" in data.model_fields_set:
        _assign(session, lead_id, data.assignee_id, actor)
    if data.tags is not None:
        _set_tags(session, lead_id, data.tags, actor)
    changes = data.travel_changes()
    if changes:
        update = leads.TravelRequestUpdate(**{k: ([] if k == "children_ages" and v is None else v)
                                              for k, v in changes.items()})
        leads.update_travel_request(session=session, lead_id=lead_id, data=update, actor=actor)
    session.flush()
    return get_lead(session=session, lead_id=lead_id)


def _move(session: Session, lead: Lead, data: LeadPatch, actor: Actor) -> None:
    stage = leads.get_stage(session=session, slug=data.stage or "")
    if stage is None or not stage.is_active:
        raise ValidationFailed(f"Unknown stage {data.stage!r}.", code="unknown_stage", field="stage")
    pipeline.move_lead(session=session, lead_id=lead.id, stage_id=stage.id, outcome=data.outcome, actor=actor)


def _assign(session: Session, lead_id: int, assignee_id: int | None, actor: Actor) -> None:
    try:
        leads.assign_lead(session=session, lead_id=lead_id, assignee_id=assignee_id, actor=actor)
    except NotFound as exc:
        if exc.field != "assignee_id":
            raise
        raise ValidationFailed(exc.message, code="unknown_user", field="assignee_id") from exc


def _set_tags(session: Session, lead_id: int, wanted: list[str], actor: Actor) -> None:
    """Make the lead's tags exactly `wanted` (case-insensitively)."""
    current = _tags_of(session, [lead_id])[lead_id]
    wanted_folded = {w.casefold() for w in wanted}
    for name in current:
        if name.casefold() not in wanted_folded:
            leads.remove_tag(session=session, lead_id=lead_id, name=name, actor=actor)
    current_folded = {c.casefold() for c in current}
    for name in wanted:
        if name.casefold() not in current_folded:
            leads.add_tag(session=session, lead_id=lead_id, name=name, actor=actor)
            current_folded.add(name.casefold())


def log_message(*, session: Session, lead_id: int, data: MessageIn, actor: Actor) -> tuple[Message, bool]:
    """Put a message on a lead's timeline; the same (channel, external_id) returns the first one. A new inbound
    message is queued for the AI inquiry processor in the same transaction."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"Lead {lead_id} does not exist.", field="lead_id")
    channel = data.channel or lead.source
    if data.external_id:
        existing = session.exec(select(Message).where(Message.channel == channel,
                                                      Message.external_id == data.external_id)).first()
        if existing is not None:
            if existing.lead_id != lead_id:
                raise ValidationFailed("This external_id is already logged on another lead.",
                                       code="external_id_taken", field="external_id")
            return existing, False
    inbound = data.direction == "inbound"
    message = Message(lead_id=lead_id, customer_id=lead.customer_id, channel=channel, direction=data.direction,
                      author_type="customer" if inbound else "system", body=data.text, external_id=data.external_id,
                      attachments=[{"name": n} for n in data.attachments], created_at=data.sent_at or utcnow())
    if inbound:
        lead.last_customer_message_at = max(lead.last_customer_message_at or message.created_at, message.created_at)
    lead.updated_at = utcnow()
    session.add_all([message, lead])
    session.flush()
    audit.record(session=session, actor=actor, entity_type="lead", entity_id=lead_id, action="message_logged",
                 data={"message_id": message.id, "direction": data.direction, "channel": channel})
    if inbound:
        inbound_jobs.enqueue(session=session, lead_id=lead_id, message=message)
    return message, True


# ---------- the website widget ----------


def submit_widget(*, session: Session, data: WidgetIn, actor: Actor) -> IntakeResult | None:
    """A website form: a lead from the site (None when the honeypot was filled: nothing is written)."""
    if data.website:
        return None
    lead_in = LeadIn(name=data.name, phone=data.phone, email=data.email, message=data.message, source="website",
                     utm_source=data.utm_source, utm_medium=data.utm_medium, utm_campaign=data.utm_campaign,
                     utm_term=data.utm_term, utm_content=data.utm_content)
    body = data.message or "Заявка с сайта"
    if data.page_url:
        body = f"{body}\n\nСтраница: {data.page_url}"
    inquiry = Inquiry(data=lead_in, channel="website", body=body, request_hash=request_hash(lead_in))
    return process(session=session, inquiries=[inquiry], actor=actor)[0]
