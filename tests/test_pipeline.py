"""The pipeline on SQLite and PostgreSQL: stages, moves, refusals, lost leads, audit."""

from __future__ import annotations

import pytest

from crystal_bay.models import AuditEvent, Lead, StatusCategory
from crystal_bay.services import audit, leads, pipeline
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import NotFound, PipelineError, ValidationFailed
from tests.factories import SYSTEM, count, make_lead, make_user

EXPECTED = [
    ("Новый запрос", "new"), ("Консультация", "in_progress"), ("Подбор тура", "in_progress"),
    ("Коммерческое предложение", "pending"), ("Добавление интеграций", "pending"), ("Оплатили", "confirmed"),
    ("Принято заказчиком", "confirmed"), ("Подтверждено", "confirmed"), ("Завершено", "closed"),
]


def _stage(session, slug):
    return leads.get_stage(session=session, slug=slug)


def test_default_pipeline_has_nine_stages_in_order(session):
    stages = pipeline.list_stages(session=session)
    assert [(s.name_ru, s.category) for s in stages] == EXPECTED
    assert all(s.bitrix_stage_id for s in stages)
    # calling it again creates nothing new
    assert len(pipeline.ensure_default_stages(session=session)) == 9


def test_new_lead_starts_in_first_stage_with_its_status(session):
    lead = make_lead(session)
    assert lead.stage_id == _stage(session, "new_request").id
    assert lead.status == StatusCategory.new
    assert [e.action for e in audit.events_for(session=session, entity_type="lead", entity_id=lead.id)] == ["created"]


def test_move_changes_stage_status_and_writes_audit(session):
    manager = make_user(session)
    lead = make_lead(session)
    target = _stage(session, "quote")
    moved = pipeline.move_lead(session=session, lead_id=lead.id, stage_id=target.id, actor=Actor.for_user(manager))
    assert moved.stage_id == target.id and moved.status == "pending"
    event = audit.events_for(session=session, entity_type="lead", entity_id=lead.id)[-1]
    assert event.action == "stage_changed"
    assert event.actor_type == "user" and event.actor_id == manager.id
    assert event.data["to_stage"] == "quote"


def test_closing_needs_an_outcome(session):
    lead = make_lead(session)
    done = _stage(session, "completed")
    before = count(session, AuditEvent)
    with pytest.raises(PipelineError) as err:
        pipeline.move_lead(session=session, lead_id=lead.id, stage_id=done.id, actor=SYSTEM)
    assert err.value.code == "outcome_required"
    session.refresh(lead)
    assert lead.stage_id != done.id and count(session, AuditEvent) == before
    won = pipeline.move_lead(session=session, lead_id=lead.id, stage_id=done.id, actor=SYSTEM, outcome="won")
    assert won.status == "closed" and won.outcome == "won" and won.closed_at is not None


def test_lost_needs_reason_and_closes_the_lead(session):
    lead = make_lead(session)
    with pytest.raises(ValidationFailed):
        pipeline.mark_lost(session=session, lead_id=lead.id, reason="  ", actor=SYSTEM)
    lost = pipeline.mark_lost(session=session, lead_id=lead.id, reason="Дорого", actor=SYSTEM)
    assert (lost.outcome, lost.status, lost.lost_reason) == ("lost", "closed", "Дорого")
    # a lost lead no longer counts on the board
    summary = {s.slug: s.count for s in leads.stage_summary(session=session)}
    assert summary["new_request"] == 0
    with pytest.raises(PipelineError):
        pipeline.move_lead(session=session, lead_id=lead.id, stage_id=_stage(session, "consultation").id, actor=SYSTEM)
    reopened = pipeline.reopen(session=session, lead_id=lead.id, actor=SYSTEM)
    assert reopened.outcome is None and reopened.status == "new"
    actions = [e.action for e in audit.events_for(session=session, entity_type="lead", entity_id=lead.id)]
    assert actions == ["created", "lost", "reopened"]


def test_unknown_ids_are_refused(session):
    lead = make_lead(session)
    with pytest.raises(NotFound):
        pipeline.move_lead(session=session, lead_id=999_999, stage_id=lead.stage_id, actor=SYSTEM)
    with pytest.raises(NotFound):
        pipeline.move_lead(session=session, lead_id=lead.id, stage_id=999_999, actor=SYSTEM)


def test_stage_summary_counts_and_sums_budgets(session):
    make_lead(session, budget=1500)
    make_lead(session, budget=2500)
    row = next(s for s in leads.stage_summary(session=session) if s.slug == "new_request")
    assert row.count == 2 and row.budget_total == 4000


def test_unknown_source_is_refused(session):
    with pytest.raises(ValidationFailed):
        leads.create_lead(session=session, customer_id=1, source="pigeon", actor=SYSTEM)
    assert count(session, Lead) == 0
