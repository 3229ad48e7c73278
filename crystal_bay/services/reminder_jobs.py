"""The reminders-due job: every minute, reminders that came due are handed to the outbox once each.

The `reminder.due` handler only logs for now; the notification channels (Telegram to the manager,
e-mail) plug in here with their issues. Delivery: at-least-once (a log line or a message to the
manager may repeat after a crash; harmless).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlmodel import Session, col, select

from crystal_bay.db import session_scope
from crystal_bay.jobs import scheduled
from crystal_bay.models import OutboxJob, Reminder, utcnow
from crystal_bay.services import outbox

log = logging.getLogger(__name__)
KIND = "reminder.due"
LOOKBACK = dt.timedelta(hours=24)  # reminders due longer ago than this were handled (or are stale)


def _key(reminder: Reminder) -> str:
    return f"{KIND}:{reminder.id}:{reminder.due_at.isoformat()}"


def enqueue_due_reminders(*, session: Session, now: dt.datetime | None = None) -> int:
    """Queue a `reminder.due` job for each open reminder due in the last 24 h; returns how many are new."""
    now = now or utcnow()
    stmt = (select(Reminder).where(col(Reminder.done_at).is_(None), Reminder.due_at <= now,
                                   Reminder.due_at > now - LOOKBACK).order_by(col(Reminder.due_at)))
    reminders = list(session.exec(stmt))
    if not reminders:
        return 0
    keys = [_key(r) for r in reminders]
    known = set(session.exec(select(OutboxJob.idempotency_key).where(col(OutboxJob.idempotency_key).in_(keys))))
    new = 0
    for reminder, key in zip(reminders, keys, strict=True):
        if key in known:
            continue
        outbox.enqueue(session=session, kind=KIND, idempotency_key=key, payload={
            "reminder_id": reminder.id, "lead_id": reminder.lead_id, "user_id": reminder.user_id,
            "due_at": reminder.due_at.isoformat()})
        new += 1
    return new


@outbox.register(KIND, delivery="at_least_once", description="Tell the manager a reminder is due (logs for now).")
async def notify_reminder_due(payload: dict) -> None:
    """Notify about a due reminder (a log line until the notification channels exist)."""
    log.info("reminder %s on lead %s is due (user %s)", payload.get("reminder_id"), payload.get("lead_id"),
             payload.get("user_id"))


def _enqueue_now() -> int:
    with session_scope() as session:
        return enqueue_due_reminders(session=session)


@scheduled("reminders.due", every=60, title=("Напоминания к сроку", "Reminders due"))
async def reminders_due_job() -> str:
    """Queue notifications for reminders that came due."""
    new = await asyncio.to_thread(_enqueue_now)
    return f"{new} reminders queued"
