"""Follow-up reminders on leads: set, complete, and the list of what is due."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, or_, select

from crystal_bay.models import Customer, Lead, Reminder, utcnow
from crystal_bay.services import audit
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import NotFound, ValidationFailed
from crystal_bay.settings import get_settings

MAX_TEXT = 500


def _get_lead(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"Lead {lead_id} does not exist.", field="lead_id")
    return lead


def _refresh_follow_up(session: Session, lead: Lead) -> None:
    """next_follow_up_at = the earliest open reminder (None when there is none); bumps updated_at."""
    session.flush()
    stmt = select(func.min(Reminder.due_at)).where(Reminder.lead_id == lead.id, col(Reminder.done_at).is_(None))
    lead.next_follow_up_at = session.exec(stmt).one()
    lead.updated_at = utcnow()
    session.add(lead)


def set_reminder(*, session: Session, lead_id: int, due_at: dt.datetime, text: str, actor: Actor) -> Reminder:
    """Remind about a lead at a moment (timezone-aware); the lead's next follow-up follows."""
    text = (text or "").strip()
    if not text or len(text) > MAX_TEXT:
        raise ValidationFailed(f"A reminder has 1–{MAX_TEXT} characters.", code="invalid_reminder", field="text")
    if not isinstance(due_at, dt.datetime) or due_at.utcoffset() is None:
        raise ValidationFailed("The reminder time needs a time zone.", code="naive_datetime", field="due_at")
    lead = _get_lead(session, lead_id)
    reminder = Reminder(lead_id=lead.id, user_id=actor.id if actor.type == "user" else None,
                        due_at=due_at.astimezone(dt.UTC), text=text)
    session.add(reminder)
    _refresh_follow_up(session, lead)
    audit.record(session=session, actor=actor, entity_type="lead", entity_id=lead.id, action="reminder_set",
                 data={"reminder_id": reminder.id, "text": text, "due_at": reminder.due_at.isoformat()})
    return reminder


def complete_reminder(*, session: Session, reminder_id: int, actor: Actor) -> Reminder:
    """Mark a reminder done (a no-op when it already is); the lead's next follow-up moves on."""
    reminder = session.get(Reminder, reminder_id)
    if reminder is None:
        raise NotFound(f"Reminder {reminder_id} does not exist.", field="reminder_id")
    if reminder.done_at is not None:
        return reminder
    reminder.done_at = utcnow()
    session.add(reminder)
    _refresh_follow_up(session, _get_lead(session, reminder.lead_id))
    audit.record(session=session, actor=actor, entity_type="lead", entity_id=reminder.lead_id,
                 action="reminder_done", data={"reminder_id": reminder.id, "text": reminder.text})
    return reminder


def end_of_today(*, now: dt.datetime | None = None) -> dt.datetime:
    """The next midnight in the agency's time zone (settings.timezone), as an aware UTC moment."""
    tz = ZoneInfo(get_settings().timezone)
    local = (now or utcnow()).astimezone(tz)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return midnight.astimezone(dt.UTC)


def next_due_at(*, session: Session, now: dt.datetime | None = None, lead_id: int | None = None) -> dt.datetime | None:
    """When the next open reminder comes due (one index seek); it changes the moment one does."""
    stmt = select(func.min(Reminder.due_at)).where(col(Reminder.done_at).is_(None), Reminder.due_at > (now or utcnow()))
    if lead_id is not None:
        stmt = stmt.where(Reminder.lead_id == lead_id)
    return session.exec(stmt).one()


@dataclass(frozen=True)
class DueReminder:
    """One line of the "Today" list."""

    reminder_id: int
    lead_id: int
    customer_name: str
    text: str
    due_at: dt.datetime
    overdue: bool


def due_reminders(*, session: Session, user_id: int | None, until: dt.datetime | None = None) -> list[DueReminder]:
    """Open reminders due before `until` (default: the end of today in the agency's time zone), overdue ones
    included, earliest first: on the user's leads or set by them (user_id None = everyone's)."""
    until = until or end_of_today()
    if until.utcoffset() is None:
        raise ValidationFailed("`until` needs a time zone.", code="naive_datetime", field="until")
    stmt = (
        select(Reminder, Customer.name)
        .join(Lead, col(Lead.id) == col(Reminder.lead_id))
        .join(Customer, col(Customer.id) == col(Lead.customer_id))
        .where(col(Reminder.done_at).is_(None), Reminder.due_at < until)
        .order_by(col(Reminder.due_at), col(Reminder.id))
    )
    if user_id is not None:
        stmt = stmt.where(or_(Lead.assignee_id == user_id, Reminder.user_id == user_id))
    now = utcnow()
    return [
        DueReminder(reminder_id=r.id, lead_id=r.lead_id, customer_name=name, text=r.text, due_at=r.due_at,
                    overdue=r.due_at < now)
        for r, name in session.exec(stmt)
    ]
