"""Admin use-cases for the settings panel: users (create, passwords, deactivate, assignment) and the pipeline."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from crystal_bay.models import AuthSession, Lead, PipelineStage, Role, StatusCategory, User, utcnow
from crystal_bay.services import audit, users
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import NotFound, ValidationFailed

MAX_OPEN_LEADS_CAP = 1000
_BITRIX_STAGE_RE = re.compile(r"^[A-Za-z0-9_:\-]{1,50}$")


# --- users ---


@dataclass(frozen=True)
class UserRow:
    user: User
    open_leads: int


def user_rows(*, session: Session) -> list[UserRow]:
    """Every user with the number of open leads assigned to them."""
    stmt = (select(Lead.assignee_id, func.count()).where(col(Lead.outcome).is_(None), col(Lead.assignee_id).is_not(None))
            .group_by(Lead.assignee_id))
    open_counts = dict(session.exec(stmt).all())
    return [UserRow(user=u, open_leads=open_counts.get(u.id, 0)) for u in users.list_users(session=session)]


def create_user(
    *, session: Session, email: str, name: str, role: str, actor: Actor, password: str | None = None,
) -> tuple[User, str | None]:
    """Create a user; without a password one is generated and returned (to show once)."""
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    user = users.create_user(session=session, email=email, name=name, role=role, password=password, actor=actor)
    return user, generated


def _end_sessions(session: Session, user_id: int) -> int:
    stmt = (update(AuthSession).where(col(AuthSession.user_id) == user_id, col(AuthSession.revoked_at).is_(None))
            .values(revoked_at=utcnow()))
    return session.exec(stmt).rowcount  # type: ignore[call-overload]


def reset_password(*, session: Session, user_id: int, actor: Actor, password: str | None = None) -> str | None:
    """Set a new password (generated when not given, and returned) and end the user's sessions."""
    user = users.get_user(session=session, user_id=user_id)
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    users.check_password_strength(password)
    user.password_hash = users.hash_password(password)
    session.add(user)
    ended = _end_sessions(session, user.id)
    audit.record(session=session, actor=actor, entity_type="user", entity_id=user.id, action="password_reset",
                 data={"sessions_ended": ended})
    return generated


def _active_admins(session: Session) -> int:
    stmt = select(func.count()).select_from(User).where(User.role == Role.admin.value, col(User.is_active).is_(True))
    return session.exec(stmt).one()


def set_active(*, session: Session, user_id: int, active: bool, actor: Actor) -> User:
    """Deactivate (sessions end at once) or reactivate a user; never yourself, never the last admin."""
    user = users.get_user(session=session, user_id=user_id)
    if user.is_active == active:
        return user
    if not active:
        if actor.type == "user" and actor.id == user.id:
            raise ValidationFailed("You cannot deactivate yourself.", code="self_deactivate", field="user_id")
        if user.role == Role.admin.value and _active_admins(session) <= 1:
            raise ValidationFailed("This is the last active admin.", code="last_admin", field="user_id")
    user.is_active = active
    session.add(user)
    ended = 0 if active else _end_sessions(session, user.id)
    audit.record(session=session, actor=actor, entity_type="user", entity_id=user.id,
                 action="activated" if active else "deactivated", data={"sessions_ended": ended})
    return user


def set_assignment(
    *, session: Session, user_id: int, max_open_leads: int | None, available: bool, actor: Actor,
) -> User:
    """A manager's cap of open leads (None = no cap) and whether auto-assignment may pick them."""
    if max_open_leads is not None and not 1 <= max_open_leads <= MAX_OPEN_LEADS_CAP:
        raise ValidationFailed(f"The cap must be 1–{MAX_OPEN_LEADS_CAP}, or empty for no cap.", code="invalid_cap",
                               field="max_open_leads")
    user = users.get_user(session=session, user_id=user_id)
    before = {"max_open_leads": user.max_open_leads, "available": user.available_for_assignment}
    user.max_open_leads, user.available_for_assignment = max_open_leads, bool(available)
    after = {"max_open_leads": user.max_open_leads, "available": user.available_for_assignment}
    if after != before:
        session.add(user)
        audit.record(session=session, actor=actor, entity_type="user", entity_id=user.id,
                     action="assignment_changed", data={"from": before, "to": after})
    return user


# --- the pipeline ---


def _stage(session: Session, stage_id: int) -> PipelineStage:
    stage = session.get(PipelineStage, stage_id)
    if stage is None or not stage.is_active:
        raise NotFound(f"Stage {stage_id} does not exist.", field="stage_id")
    return stage


def _active_stages(session: Session) -> list[PipelineStage]:
    stmt = select(PipelineStage).where(col(PipelineStage.is_active).is_(True)).order_by(col(PipelineStage.position))
    return list(session.exec(stmt))


@dataclass(frozen=True)
class StageRow:
    stage: PipelineStage
    open_leads: int


def stage_rows(*, session: Session) -> list[StageRow]:
    """The active stages in order, each with its number of open leads."""
    stmt = select(Lead.stage_id, func.count()).where(col(Lead.outcome).is_(None)).group_by(Lead.stage_id)
    counts = dict(session.exec(stmt).all())
    return [StageRow(stage=s, open_leads=counts.get(s.id, 0)) for s in _active_stages(session)]


def rename_stage(*, session: Session, stage_id: int, name_ru: str, name_en: str, actor: Actor) -> PipelineStage:
    """Give a stage new Russian and English names (1–100 characters, unique among the stages)."""
    stage = _stage(session, stage_id)
    names = {"name_ru": (name_ru or "").strip(), "name_en": (name_en or "").strip()}
    for field, value in names.items():
        if not value or len(value) > 100:
            raise ValidationFailed("A stage name has 1–100 characters.", code="invalid_stage_name", field=field)
        taken = [s for s in _active_stages(session) if s.id != stage.id and getattr(s, field).lower() == value.lower()]
        if taken:
            raise ValidationFailed(f"Another stage is already called {value!r}.", code="duplicate_stage_name",
                                   field=field)
    before = {"name_ru": stage.name_ru, "name_en": stage.name_en}
    if before == names:
        return stage
    stage.name_ru, stage.name_en = names["name_ru"], names["name_en"]
    session.add(stage)
    audit.record(session=session, actor=actor, entity_type="pipeline_stage", entity_id=stage.id, action="renamed",
                 data={"from": before, "to": names})
    return stage


def reorder_stages(*, session: Session, stage_ids: list[int], actor: Actor) -> list[PipelineStage]:
    """Put the stages in this order (every active stage exactly once; new leads start in the first)."""
    stages = {s.id: s for s in _active_stages(session)}
    if sorted(stage_ids) != sorted(stages) or len(set(stage_ids)) != len(stage_ids):
        raise ValidationFailed("The new order must list every stage exactly once.", code="invalid_order",
                               field="stage_ids")
    if stages[stage_ids[0]].category == StatusCategory.closed.value:
        raise ValidationFailed("The first stage receives new leads, so it cannot be a closing stage.",
                               code="closed_first", field="stage_ids")
    before = [s.id for s in sorted(stages.values(), key=lambda s: s.position)]
    if before == stage_ids:
        return [stages[i] for i in stage_ids]
    for position, stage_id in enumerate(stage_ids, start=1):
        stages[stage_id].position = position
        session.add(stages[stage_id])
    audit.record(session=session, actor=actor, entity_type="pipeline", entity_id=None, action="reordered",
                 data={"from": before, "to": stage_ids})
    return [stages[i] for i in stage_ids]


def move_stage(*, session: Session, stage_id: int, delta: int, actor: Actor) -> list[PipelineStage]:
    """Move a stage up (delta −1) or down (+1) in the order."""
    ids = [s.id for s in _active_stages(session)]
    _stage(session, stage_id)
    index = ids.index(stage_id)
    target = index + delta
    if delta not in (-1, 1) or not 0 <= target < len(ids):
        raise ValidationFailed("The stage cannot move further that way.", code="invalid_order", field="stage_id")
    ids[index], ids[target] = ids[target], ids[index]
    return reorder_stages(session=session, stage_ids=ids, actor=actor)


def map_stage(
    *, session: Session, stage_id: int, category: str, bitrix_stage_id: str | None, actor: Actor,
) -> PipelineStage:
    """Set a stage's status category and Bitrix24 stage id; its open leads' status follows the category."""
    stage = _stage(session, stage_id)
    if category not in {c.value for c in StatusCategory}:
        raise ValidationFailed(f"Unknown status category {category!r}.", code="invalid_category", field="category")
    bitrix = (bitrix_stage_id or "").strip() or None
    if bitrix is not None and not _BITRIX_STAGE_RE.match(bitrix):
        raise ValidationFailed("A Bitrix24 stage id has 1–50 letters, digits, '_', ':' or '-' (e.g. C1:NEW).",
                               code="invalid_bitrix_stage", field="bitrix_stage_id")
    if bitrix is not None and any(s.id != stage.id and s.bitrix_stage_id == bitrix for s in _active_stages(session)):
        raise ValidationFailed(f"Another stage already maps to Bitrix24 stage {bitrix}.", code="duplicate_bitrix_stage",
                               field="bitrix_stage_id")
    closed = StatusCategory.closed.value
    if category == closed and _active_stages(session)[0].id == stage.id:
        raise ValidationFailed("The first stage receives new leads, so it cannot be a closing stage.",
                               code="closed_first", field="category")
    if category != stage.category and closed in (category, stage.category):
        leads_here = session.exec(select(func.count()).select_from(Lead).where(Lead.stage_id == stage.id)).one()
        if leads_here:
            raise ValidationFailed(f"The stage has {leads_here} leads: move them before making it "
                                   f"{'a closing' if category == closed else 'an open'} stage.",
                                   code="stage_has_leads", field="category")
    before = {"category": stage.category, "bitrix_stage_id": stage.bitrix_stage_id}
    after = {"category": category, "bitrix_stage_id": bitrix}
    if before == after:
        return stage
    stage.category, stage.bitrix_stage_id = category, bitrix
    session.add(stage)
    moved = 0
    if before["category"] != category:
        stmt = (update(Lead).where(col(Lead.stage_id) == stage.id, col(Lead.outcome).is_(None))
                .values(status=category, updated_at=utcnow()))
        moved = session.exec(stmt).rowcount  # type: ignore[call-overload]
    audit.record(session=session, actor=actor, entity_type="pipeline_stage", entity_id=stage.id, action="mapped",
                 data={"from": before, "to": after, "leads_updated": moved})
    return stage
