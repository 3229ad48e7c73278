"""The inquiry processor on SQLite and PostgreSQL: merging without erasing a manager's fields,
threshold behaviour (auto-move vs proposal), flags, scoring, round-robin assignment with caps,
and the per-day usage table."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from sqlmodel import select

from crystal_bay.models import AIUsageDay, AuditEvent, Lead, Message, PipelineStage, User
from crystal_bay.services import audit, leads, pipeline
from crystal_bay.services.ai import Extraction, processor, rules_engine, scoring, usage
from crystal_bay.services.audit import Actor
from tests.factories import SYSTEM, make_lead, make_user

TODAY = dt.date(2026, 1, 15)


def _reading(text: str) -> Extraction:
    return rules_engine.extract(text, today=TODAY)


def _stage(session, slug: str) -> PipelineStage:
    return session.exec(select(PipelineStage).where(PipelineStage.slug == slug)).one()


def _manager_sets(session, lead, **fields):
    user = make_user(session)
    leads.update_travel_request(session=session, lead_id=lead.id, data=leads.TravelRequestUpdate(**fields),
                                actor=Actor.for_user(user))


def _apply(session, lead, text: str, **kw):
    return processor.apply_extraction(session=session, lead_id=lead.id, extraction=_reading(text), today=TODAY,
                                      assign=kw.pop("assign", False), **kw)


# ---------- merging ----------


def test_an_empty_request_is_filled_from_the_message_and_audited_as_the_ai(session):
    lead = make_lead(session)
    result = _apply(session, lead, "Нячанг с 10 по 20 июня, 2 взрослых и ребёнок 5 лет, бюджет 2500$")
    assert (lead.country, lead.resort, lead.date_from, lead.date_to) == \
        ("Вьетнам", "Нячанг", dt.date(2026, 6, 10), dt.date(2026, 6, 20))
    assert (lead.adults, lead.children, lead.children_ages, lead.budget, lead.currency) == \
        (2, 1, [5], Decimal("2500.00"), "USD")
    assert set(result.updated) >= {"country", "resort", "adults", "budget"} and result.kept == []
    event = next(e for e in audit.events_for(session=session, entity_type="lead", entity_id=lead.id)
                 if e.action == "travel_request_updated")
    assert (event.actor_type, event.actor_label) == ("ai", "AI")


def test_fields_a_manager_typed_are_never_overwritten_or_erased(session):
    lead = make_lead(session)
    _manager_sets(session, lead, resort="Фукуок", country="Вьетнам", budget=Decimal("3000"), currency="USD")
    result = _apply(session, lead, "Хотим в Нячанг в марте, бюджет 300к тенге, 2 взрослых")
    assert (lead.resort, lead.country, lead.budget, lead.currency) == ("Фукуок", "Вьетнам", Decimal("3000.00"), "USD")
    assert lead.adults == 2 and lead.date_from == dt.date(2026, 3, 1)
    assert set(result.kept) == {"resort", "budget", "currency"}
    # a later message says nothing about the budget: nothing is erased either
    _apply(session, lead, "а можно на 10 ночей?")
    assert lead.budget == Decimal("3000.00") and lead.nights_min == 10 and lead.adults == 2


def test_a_manager_clearing_a_field_keeps_the_ai_from_refilling_it(session):
    lead = make_lead(session)
    _apply(session, lead, "Нячанг, бюджет 2000$")
    _manager_sets(session, lead, budget=None, currency=None)
    _apply(session, lead, "бюджет 2000$")
    assert lead.budget is None and lead.currency is None


def test_the_ai_updates_its_own_earlier_values(session):
    lead = make_lead(session)
    _apply(session, lead, "Нячанг в марте вдвоём")
    _apply(session, lead, "передумали, давайте Фукуок в апреле")
    assert (lead.resort, lead.date_from, lead.date_to, lead.adults) == \
        ("Фукуок", dt.date(2026, 4, 1), dt.date(2026, 4, 30), 2)


def test_a_value_conflicting_with_the_managers_is_dropped_not_forced(session):
    lead = make_lead(session)
    _manager_sets(session, lead, date_from=dt.date(2026, 6, 15))
    _apply(session, lead, "с 1 по 10 июня, Дананг")  # the AI's return date falls before the manager's departure
    assert lead.date_from == dt.date(2026, 6, 15) and lead.date_to is None and lead.resort == "Дананг"


# ---------- stage: threshold ----------


def test_below_the_threshold_the_stage_is_only_proposed(session):
    lead = make_lead(session)
    first = lead.stage_id
    result = _apply(session, lead, "Нячанг в марте вдвоём", threshold=0.99)
    assert result.proposed_stage == "tour_selection" and not result.moved and lead.stage_id == first
    proposal = processor.pending_proposal(session=session, lead_id=lead.id)
    assert proposal is not None and proposal.data["to_stage"] == "tour_selection" and proposal.actor_type == "ai"


def test_at_the_threshold_the_lead_moves_by_itself_audited_as_ai(session):
    lead = make_lead(session)
    result = _apply(session, lead, "Нячанг в марте вдвоём", threshold=0.5)
    assert result.moved and lead.stage_id == _stage(session, "tour_selection").id and lead.status == "in_progress"
    moved = [e for e in audit.events_for(session=session, entity_type="lead", entity_id=lead.id)
             if e.action == "stage_changed"]
    assert [(e.actor_type, e.data["to_stage"]) for e in moved] == [("ai", "tour_selection")]
    assert processor.pending_proposal(session=session, lead_id=lead.id) is None


def test_the_default_threshold_comes_from_settings(session, settings_env):
    settings_env(AI_AUTO_MOVE_THRESHOLD="0.1")
    lead = make_lead(session)
    assert _apply(session, lead, "Подскажите, нужна ли виза?").moved
    assert lead.stage_id == _stage(session, "consultation").id


def test_an_incomplete_request_goes_to_consultation_and_never_backwards(session):
    lead = make_lead(session)
    assert _apply(session, lead, "Хотим во Вьетнам", threshold=0.0).proposed_stage == "consultation"
    pipeline.move_lead(session=session, lead_id=lead.id, stage_id=_stage(session, "quote").id, actor=SYSTEM)
    result = _apply(session, lead, "Нячанг в марте вдвоём", threshold=0.0)
    assert result.proposed_stage is None and lead.stage_id == _stage(session, "quote").id


def test_a_proposal_is_forgotten_once_the_lead_moved_on(session):
    lead = make_lead(session)
    _apply(session, lead, "Нячанг в марте вдвоём", threshold=1.0)
    pipeline.move_lead(session=session, lead_id=lead.id, stage_id=_stage(session, "consultation").id, actor=SYSTEM)
    assert processor.pending_proposal(session=session, lead_id=lead.id) is None


@pytest.mark.parametrize("text", ["Это ужасно, верните деньги!", "Позовите живого менеджера"])
def test_complaints_and_requests_for_a_person_flag_the_lead(session, text):
    lead = make_lead(session)
    assert _apply(session, lead, text).needs_human and lead.needs_human
    actions = [e.action for e in audit.events_for(session=session, entity_type="lead", entity_id=lead.id)]
    assert actions.count("needs_human") == 1


# ---------- score ----------


def test_processing_stores_the_score_and_its_reasons(session):
    lead = make_lead(session)
    session.add(Message(lead_id=lead.id, customer_id=lead.customer_id, channel="telegram", direction="inbound",
                        author_type="customer", body="Нячанг"))
    session.flush()
    result = _apply(session, lead, "Нячанг с 1 по 10 февраля на 9 ночей вдвоём бюджет 3000$")
    assert lead.score == result.score and 80 <= lead.score <= 100
    assert lead.score_reasons[0] == "Заявка заполнена полностью (35/35)" and len(lead.score_reasons) == 5


def test_score_parts():
    full = _reading("Нячанг с 1 по 10 февраля на 9 ночей вдвоём бюджет 3000$")
    poor = _reading("Мальдивы через полгода вдвоём бюджет 300$")
    assert scoring.score_lead(full, channel="phone", inbound_messages=3, today=TODAY).value == 100
    low = scoring.score_lead(poor, channel="api", inbound_messages=0, today=TODAY)
    codes = {r.code: r.points for r in low.reasons}
    assert codes["budget"] == 2 and codes["channel"] == 4 and codes["engagement"] == 0 and low.value < 40
    assert low.texts("en")[0].startswith("Missing: dates, nights")


# ---------- round-robin assignment ----------


def _managers(session, n, **kw):
    return [make_user(session, **kw) for _ in range(n)]


def test_auto_assign_goes_round_robin_among_available_managers(session):
    staff = _managers(session, 3)
    staff[1].available_for_assignment = False
    admin = make_user(session, role="admin")
    inactive = make_user(session)
    inactive.is_active = False
    session.add_all([staff[1], inactive])
    session.flush()
    got = [processor.auto_assign(session=session, lead_id=make_lead(session).id) for _ in range(6)]
    ids = [u.id for u in got]
    assert set(ids) == {staff[0].id, staff[2].id} and admin.id not in ids
    assert ids.count(staff[0].id) == ids.count(staff[2].id) == 3
    assert all(ids[i] != ids[i + 1] for i in range(5))  # strictly alternating
    event = audit.events_for(session=session, entity_type="lead", entity_id=session.exec(
        select(Lead).where(Lead.assignee_id == ids[-1]).order_by(Lead.id.desc())).first().id)[-1]
    assert (event.action, event.actor_type) == ("assigned", "ai")


def test_auto_assign_respects_the_open_lead_cap(session):
    capped, free = _managers(session, 2)
    capped.max_open_leads = 1
    session.add(capped)
    session.flush()
    got = [processor.auto_assign(session=session, lead_id=make_lead(session).id).id for _ in range(4)]
    assert got.count(capped.id) == 1 and got.count(free.id) == 3
    # a closed lead frees a place
    lead = session.exec(select(Lead).where(Lead.assignee_id == capped.id)).one()
    pipeline.mark_lost(session=session, lead_id=lead.id, reason="дорого", actor=SYSTEM)
    free.max_open_leads = 3
    session.add(free)
    session.flush()
    assert processor.auto_assign(session=session, lead_id=make_lead(session).id).id == capped.id
    assert processor.auto_assign(session=session, lead_id=make_lead(session).id) is None  # everyone is full


def test_assigned_leads_are_left_alone(session):
    owner, other = _managers(session, 2)
    lead = make_lead(session)
    leads.assign_lead(session=session, lead_id=lead.id, assignee_id=owner.id, actor=SYSTEM)
    assert processor.auto_assign(session=session, lead_id=lead.id) is None and lead.assignee_id == owner.id


def test_processing_assigns_when_enabled(session):
    for user in session.exec(select(User)):  # other tests' users in this transaction do not exist here
        user.available_for_assignment = False
        session.add(user)
    manager = make_user(session)
    lead = make_lead(session)
    result = _apply(session, lead, "Нячанг", assign=True)
    assert result.assigned_to == manager.id == lead.assignee_id


def test_process_inbound_reads_with_the_rules_engine_offline(session):
    lead = make_lead(session)
    result = asyncio.run(processor.process_inbound(session=session, lead_id=lead.id, text="Дананг в мае вдвоём",
                                                   today=TODAY, engine="rules", assign=False))
    assert result.extraction.engine == "rules" and lead.resort == "Дананг" and lead.adults == 2


# ---------- usage per day ----------


def test_openai_usage_is_summed_per_day_model_and_operation(session):
    day = dt.date(2026, 1, 15)
    for ok, tokens in ((True, (1000, 200)), (True, (3000, 400)), (False, (0, 0))):
        usage.record(session=session, day=day, call=usage.CallRecord(
            operation="extract", model="gpt-4o-mini", ok=ok, latency_ms=100 if ok else 20000,
            prompt_tokens=tokens[0], completion_tokens=tokens[1]))
    usage.record(session=session, day=day, call=usage.CallRecord(operation="reply", model="gpt-4o-mini", ok=True,
                                                                 latency_ms=300, prompt_tokens=500))
    rows = session.exec(select(AIUsageDay).where(AIUsageDay.day == day)).all()
    assert len(rows) == 2
    extract_row = next(r for r in rows if r.operation == "extract")
    assert (extract_row.calls, extract_row.failures, extract_row.prompt_tokens, extract_row.latency_ms_max) == \
        (3, 1, 4000, 20000)
    assert extract_row.cost_usd == Decimal("0.000960")  # 4000 × 0.15 + 600 × 0.60 per million
    [summary] = usage.usage_by_day(session=session, since=day, until=day)
    assert (summary.calls, summary.failures, summary.prompt_tokens) == (4, 1, 4500)
    assert summary.avg_latency_ms == round((100 + 100 + 20000 + 300) / 4)


def test_unknown_models_cost_nothing_and_dated_snapshots_cost_as_their_family():
    assert usage.cost_of("some-local-model", 10**6, 10**6) == 0
    assert usage.cost_of("gpt-4o-mini-2024-07-18", 10**6, 0) == Decimal("0.15")


def test_no_audit_event_is_left_without_an_actor(session):
    lead = make_lead(session)
    _apply(session, lead, "Нячанг в марте вдвоём бюджет 2000$", threshold=0.0)
    events = session.exec(select(AuditEvent).where(AuditEvent.entity_id == lead.id)).all()
    assert all(e.actor_type for e in events)
