"""The lead's conversation: manager notes, and one timeline of messages, notes and audited events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from crystal_bay import i18n
from crystal_bay.models import AuditEvent, Customer, Lead, Message, PipelineStage, User, utcnow
from crystal_bay.services import audit
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import NotFound, ValidationFailed
from crystal_bay.settings import get_settings

MAX_NOTE = 5000
NOTE_CHANNEL = "note"
BOT_RU, SYSTEM_RU = "Бот", "Система"

FIELD_NAMES = {  # travel request fields as a manager calls them: (ru, en)
    "departure_city": ("город вылета", "departure city"), "country": ("страна", "country"),
    "resort": ("курорт", "resort"), "date_from": ("дата с", "date from"), "date_to": ("дата по", "date to"),
    "nights_min": ("ночей от", "nights from"), "nights_max": ("ночей до", "nights to"),
    "adults": ("взрослые", "adults"), "children": ("дети", "children"),
    "children_ages": ("возраст детей", "children's ages"), "budget": ("бюджет", "budget"),
    "currency": ("валюта", "currency"), "hotel_stars": ("звёзды", "hotel stars"), "meal": ("питание", "meal"),
}


def _get_lead(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"Lead {lead_id} does not exist.", field="lead_id")
    return lead


def add_note(*, session: Session, lead_id: int, text: str, actor: Actor) -> Message:
    """Add a manager's internal note to the lead's timeline (1–5000 characters)."""
    text = (text or "").strip()
    if not text or len(text) > MAX_NOTE:
        raise ValidationFailed(f"A note has 1–{MAX_NOTE} characters.", code="invalid_note", field="text")
    lead = _get_lead(session, lead_id)
    by_user = actor.type == "user"
    note = Message(
        lead_id=lead.id, customer_id=lead.customer_id, channel=NOTE_CHANNEL, direction="internal",
        author_type="manager" if by_user else "system", author_user_id=actor.id if by_user else None, body=text,
    )
    lead.updated_at = utcnow()
    session.add_all([note, lead])
    session.flush()
    audit.record(session=session, actor=actor, entity_type="lead", entity_id=lead.id, action="note_added",
                 data={"message_id": note.id})
    return note


@dataclass(frozen=True)
class TimelineItem:
    """One line of the lead's timeline: a message, a note, or an event in Russian and English."""

    at: dt.datetime
    kind: str  # message | note | event
    direction: str  # inbound | outbound | internal | "" for events
    channel: str
    author: str
    text: str
    text_en: str


def _stage_names(stages: dict[int, PipelineStage], stage_id) -> tuple[str, str]:
    stage = stages.get(stage_id)
    return (stage.name_ru, stage.name_en) if stage else ("?", "?")


def _describe_stage_change(data: dict, stages: dict[int, PipelineStage]) -> tuple[str, str]:
    old_ru, old_en = _stage_names(stages, data.get("from_stage_id"))
    new_ru, new_en = _stage_names(stages, data.get("to_stage_id"))
    return f"Этап: {old_ru} → {new_ru}", f"Stage: {old_en} → {new_en}"


def _describe_assignment(data: dict, _stages) -> tuple[str, str]:
    if data.get("to") is None:
        return "Ответственный снят", "Unassigned"
    return f"Назначен: {data.get('to_name', '')}", f"Assigned: {data.get('to_name', '')}"


def _describe_reminder(data: dict, _stages) -> tuple[str, str]:
    due = data.get("due_at")
    when = i18n.format_datetime(dt.datetime.fromisoformat(due), get_settings().timezone) if due else ""
    suffix = f" ({when})" if when else ""
    return f"Напоминание: {data.get('text', '')}{suffix}", f"Reminder: {data.get('text', '')}{suffix}"


def _describe_request(data: dict, _stages) -> tuple[str, str]:
    names = [FIELD_NAMES.get(f, (f, f)) for f in data.get("fields", [])]
    return ("Заявка изменена: " + ", ".join(n[0] for n in names),
            "Request updated: " + ", ".join(n[1] for n in names))


EVENTS: dict[str, Callable[[dict, dict[int, PipelineStage]], tuple[str, str]]] = {
    "created": lambda d, s: ("Заявка создана", "Lead created"),
    "stage_changed": _describe_stage_change,
    "lost": lambda d, s: (f"Потеряна: {d.get('reason', '')}", f"Lost: {d.get('reason', '')}"),
    "reopened": lambda d, s: ("Возобновлена", "Reopened"),
    "assigned": _describe_assignment,
    "tag_added": lambda d, s: (f"Тег добавлен: {d.get('tag', '')}", f"Tag added: {d.get('tag', '')}"),
    "tag_removed": lambda d, s: (f"Тег удалён: {d.get('tag', '')}", f"Tag removed: {d.get('tag', '')}"),
    "reminder_set": _describe_reminder,
    "reminder_done": lambda d, s: (f"Напоминание выполнено: {d.get('text', '')}",
                                   f"Reminder done: {d.get('text', '')}"),
    "travel_request_updated": _describe_request,
}  # anything else (note_added, technical events) stays out of the timeline


def _message_item(message: Message, user_name: str | None, customer_name: str) -> TimelineItem:
    author = {"customer": customer_name, "manager": user_name or "", "bot": BOT_RU}.get(
        message.author_type, SYSTEM_RU)
    kind = "note" if message.channel == NOTE_CHANNEL else "message"
    return TimelineItem(at=message.created_at, kind=kind, direction=message.direction, channel=message.channel,
                        author=author, text=message.body, text_en=message.body)


def _event_item(event: AuditEvent, stages: dict[int, PipelineStage]) -> TimelineItem:
    text_ru, text_en = EVENTS[event.action](event.data or {}, stages)
    return TimelineItem(at=event.at, kind="event", direction="", channel="", author=event.actor_label or SYSTEM_RU,
                        text=text_ru, text_en=text_en)


def timeline(*, session: Session, lead_id: int) -> list[TimelineItem]:
    """Messages, notes and the lead's meaningful events, oldest first."""
    lead = _get_lead(session, lead_id)
    customer = session.get(Customer, lead.customer_id)
    stages = {s.id: s for s in session.exec(select(PipelineStage))}
    rows = session.exec(
        select(Message, User.name).outerjoin(User, col(Message.author_user_id) == col(User.id))
        .where(Message.lead_id == lead.id).order_by(col(Message.created_at), col(Message.id))
    )
    events = [e for e in audit.events_for(session=session, entity_type="lead", entity_id=lead.id)
              if e.action in EVENTS]
    items = [_event_item(e, stages) for e in events]
    items += [_message_item(m, name, customer.name if customer else "") for m, name in rows]
    return sorted(items, key=lambda item: item.at)
