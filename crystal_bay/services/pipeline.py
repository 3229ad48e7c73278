"""The pipeline: stages in order, each in a status category; moving and closing leads."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from crystal_bay.models import Lead, Outcome, PipelineStage, StatusCategory, utcnow
from crystal_bay.services import audit
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import NotFound, PipelineError, ValidationFailed


@dataclass(frozen=True)
class StageSpec:
    slug: str
    name_ru: str
    name_en: str
    category: StatusCategory
    bitrix_stage_id: str


DEFAULT_STAGES: tuple[StageSpec, ...] = (
    StageSpec("new_request", "Новый запрос", "New request", StatusCategory.new, "NEW"),
    StageSpec("consultation", "Консультация", "Consultation", StatusCategory.in_progress, "PREPARATION"),
    StageSpec("tour_selection", "Подбор тура", "Tour selection", StatusCategory.in_progress, "PREPAYMENT_INVOICE"),
    StageSpec("quote", "Коммерческое предложение", "Quote sent", StatusCategory.pending, "EXECUTING"),
    StageSpec("add_ons", "Добавление интеграций", "Add-ons", StatusCategory.pending, "FINAL_INVOICE"),
    StageSpec("paid", "Оплатили", "Paid", StatusCategory.confirmed, "1"),
    StageSpec("accepted", "Принято заказчиком", "Accepted by customer", StatusCategory.confirmed, "2"),
    StageSpec("confirmed", "Подтверждено", "Confirmed", StatusCategory.confirmed, "3"),
    StageSpec("completed", "Завершено", "Completed", StatusCategory.closed, "WON"),
)

LOST_BITRIX_STAGE_ID = "LOSE"


def ensure_default_stages(*, session: Session) -> list[PipelineStage]:
    """Create the default stages when the pipeline is empty; never touches an edited pipeline."""
    existing = list(session.exec(select(PipelineStage).order_by(col(PipelineStage.position))))
    if existing:
        return existing
    stages = [
        PipelineStage(
            slug=s.slug, name_ru=s.name_ru, name_en=s.name_en, position=i,
            category=s.category.value, bitrix_stage_id=s.bitrix_stage_id,
        )
        for i, s in enumerate(DEFAULT_STAGES, start=1)
    ]
    session.add_all(stages)
    session.flush()
    return stages


def list_stages(*, session: Session) -> list[PipelineStage]:
    """Active stages in board order."""
    stmt = select(PipelineStage).where(PipelineStage.is_active).order_by(col(PipelineStage.position))
    return list(session.exec(stmt))


def first_stage(*, session: Session) -> PipelineStage:
    """The stage new leads start in."""
    stages = list_stages(session=session)
    if not stages:
        raise PipelineError("The pipeline has no stages.", code="no_stages")
    return stages[0]


def status_of(*, stage: PipelineStage, outcome: str | None) -> str:
    """A lead's status category: a lost lead is closed; otherwise its stage's category."""
    return StatusCategory.closed.value if outcome == Outcome.lost.value else stage.category


def _get_lead(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"Lead {lead_id} does not exist.", field="lead_id")
    return lead


def move_lead(
    *, session: Session, lead_id: int, stage_id: int, actor: Actor, outcome: str | None = None
) -> Lead:
    """Move a lead to a stage; a closing stage needs outcome="won" (lost leads use mark_lost)."""
    lead = _get_lead(session, lead_id)
    stage = session.get(PipelineStage, stage_id)
    if stage is None or not stage.is_active:
        raise NotFound(f"Stage {stage_id} does not exist.", field="stage_id")
    if lead.outcome == Outcome.lost.value:
        raise PipelineError("The lead is lost; reopen it before moving it.", code="lead_lost")
    closing = stage.category == StatusCategory.closed.value
    if closing and outcome != Outcome.won.value:
        raise PipelineError(
            "Closing a lead needs an outcome: mark it won, or lost with a reason.", code="outcome_required"
        )
    old_stage_id = lead.stage_id
    if old_stage_id == stage.id and not closing:
        return lead
    lead.stage_id = stage.id
    lead.outcome = Outcome.won.value if closing else None
    lead.status = status_of(stage=stage, outcome=lead.outcome)
    lead.closed_at = utcnow() if closing else None
    lead.updated_at = utcnow()
    session.add(lead)
    audit.record(
        session=session, actor=actor, entity_type="lead", entity_id=lead.id, action="stage_changed",
        data={"from_stage_id": old_stage_id, "to_stage_id": stage.id, "to_stage": stage.slug},
    )
    return lead


def mark_lost(*, session: Session, lead_id: int, reason: str, actor: Actor) -> Lead:
    """Close a lead as lost; a reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("A lost lead needs a reason.", code="reason_required", field="reason")
    lead = _get_lead(session, lead_id)
    lead.outcome = Outcome.lost.value
    lead.lost_reason = reason[:500]
    lead.status = StatusCategory.closed.value
    lead.closed_at = lead.updated_at = utcnow()
    session.add(lead)
    audit.record(
        session=session, actor=actor, entity_type="lead", entity_id=lead.id, action="lost",
        data={"reason": lead.lost_reason, "stage_id": lead.stage_id},
    )
    return lead


def reopen(*, session: Session, lead_id: int, actor: Actor) -> Lead:
    """Reopen a lost or won lead in its current stage (or the first one if that stage closes)."""
    lead = _get_lead(session, lead_id)
    if lead.outcome is None:
        return lead
    stage = session.get(PipelineStage, lead.stage_id)
    if stage is None or stage.category == StatusCategory.closed.value:
        stage = first_stage(session=session)
    lead.outcome, lead.lost_reason, lead.closed_at = None, None, None
    lead.stage_id = stage.id
    lead.status = stage.category
    lead.updated_at = utcnow()
    session.add(lead)
    audit.record(session=session, actor=actor, entity_type="lead", entity_id=lead.id, action="reopened",
                 data={"stage_id": stage.id})
    return lead
