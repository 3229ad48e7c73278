"""Leads: queries for the board and the lead lifecycle (creation, moves go through pipeline)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session, col, func, select

from crystal_bay.models import Channel, Lead, PipelineStage
from crystal_bay.services import audit, pipeline
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import ValidationFailed


@dataclass(frozen=True)
class StageSummary:
    stage_id: int
    slug: str
    name_ru: str
    name_en: str
    category: str
    count: int
    budget_total: Decimal


def stage_summary(*, session: Session) -> list[StageSummary]:
    """Open (not lost) leads per active stage, with the sum of their budgets, in board order."""
    stages = pipeline.list_stages(session=session)
    stmt = (
        select(Lead.stage_id, func.count(), func.coalesce(func.sum(Lead.budget), 0))
        .where(col(Lead.outcome).is_(None) | (Lead.outcome != "lost"))
        .group_by(col(Lead.stage_id))
    )
    totals = {stage_id: (count, total) for stage_id, count, total in session.exec(stmt)}
    return [
        StageSummary(
            stage_id=s.id, slug=s.slug, name_ru=s.name_ru, name_en=s.name_en, category=s.category,
            count=totals.get(s.id, (0, 0))[0], budget_total=Decimal(str(totals.get(s.id, (0, 0))[1])),
        )
        for s in stages
    ]


def count_leads(*, session: Session) -> int:
    """All leads, any stage or outcome."""
    return session.exec(select(func.count()).select_from(Lead)).one()


def get_stage(*, session: Session, slug: str) -> PipelineStage | None:
    """A stage by its slug."""
    return session.exec(select(PipelineStage).where(PipelineStage.slug == slug)).first()


def create_lead(*, session: Session, customer_id: int, source: str, actor: Actor, **fields) -> Lead:
    """Open a lead for a customer in the pipeline's first stage, audited as "created"."""
    if source not in {c.value for c in Channel}:
        raise ValidationFailed(f"Unknown source channel {source!r}.", field="source")
    stage = pipeline.first_stage(session=session)
    lead = Lead(customer_id=customer_id, source=source, stage_id=stage.id, status=stage.category, **fields)
    session.add(lead)
    session.flush()
    audit.record(session=session, actor=actor, entity_type="lead", entity_id=lead.id, action="created",
                 data={"source": source, "stage_id": stage.id})
    return lead
