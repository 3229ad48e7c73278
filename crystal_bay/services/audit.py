"""Who did what: the actor type and the audit writer every service uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from crystal_bay.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """The person or system making a change."""

    type: str  # user | system | api | bot | ai
    id: int | None = None
    label: str = ""

    @classmethod
    def for_user(cls, user) -> "Actor":
        return cls(type="user", id=user.id, label=user.name or user.email)

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        return cls(type="system", label=label)


def record(
    *, session: Session, actor: Actor, entity_type: str, entity_id: int | None, action: str,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session (committed with the change it describes)."""
    event = AuditEvent(
        actor_type=actor.type, actor_id=actor.id, actor_label=actor.label,
        entity_type=entity_type, entity_id=entity_id, action=action, data=data or {},
    )
    session.add(event)
    return event


def events_for(*, session: Session, entity_type: str, entity_id: int) -> list[AuditEvent]:
    """The audit trail of one entity, oldest first."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    )
    return list(session.exec(stmt))
