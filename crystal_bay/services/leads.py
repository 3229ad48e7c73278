"""Leads: queries for the board and the lead lifecycle (creation, moves go through pipeline)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session, col, func, select

from crystal_bay.models import Lead, PipelineStage
from crystal_bay.services import pipeline


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
