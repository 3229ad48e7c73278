"""Admin use-cases on SQLite and PostgreSQL: users (passwords, deactivation, assignment) and the pipeline."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from crystal_bay.models import AuditEvent, Lead, PipelineStage, User
from crystal_bay.services import admin, pipeline, users
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import NotFound, ValidationFailed
from tests.factories import SYSTEM, make_lead, make_user


def _login(session, user, password="correct-horse-1") -> str:
    result = users.authenticate(session=session, email=user.email, password=password, client_ip="t")
    assert result.ok
    return result.token


def _stages(session) -> list[PipelineStage]:
    return pipeline.list_stages(session=session)


def test_create_user_generates_a_password_when_none_is_given(session):
    user, generated = admin.create_user(session=session, email="new@crystalbay.kz", name="Новая", role="manager",
                                        actor=SYSTEM)
    assert generated and len(generated) >= 12 and users.verify_password(generated, user.password_hash)
    _user, none = admin.create_user(session=session, email="own@crystalbay.kz", name="Своя", role="admin",
                                    actor=SYSTEM, password="my-own-password")
    assert none is None


def test_reset_password_ends_the_users_sessions(session):
    user = make_user(session)
    token = _login(session, user)
    generated = admin.reset_password(session=session, user_id=user.id, actor=SYSTEM)
    assert users.user_for_token(session=session, token=token) is None
    assert users.verify_password(generated, session.get(User, user.id).password_hash)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "password_reset")).one()
    assert event.data == {"sessions_ended": 1} and generated not in str(event.data)
    with pytest.raises(ValidationFailed):
        admin.reset_password(session=session, user_id=user.id, actor=SYSTEM, password="short")
    with pytest.raises(NotFound):
        admin.reset_password(session=session, user_id=10**9, actor=SYSTEM)


def test_deactivating_a_user_ends_their_sessions_at_once(session):
    boss = make_user(session, role="admin")
    user = make_user(session)
    token = _login(session, user)
    admin.set_active(session=session, user_id=user.id, active=False, actor=Actor.for_user(boss))
    assert users.user_for_token(session=session, token=token) is None
    assert not users.authenticate(session=session, email=user.email, password="correct-horse-1", client_ip="t").ok
    admin.set_active(session=session, user_id=user.id, active=True, actor=Actor.for_user(boss))
    assert _login(session, user)


def test_you_cannot_deactivate_yourself_or_the_last_admin(session):
    only_admin = make_user(session, role="admin")
    with pytest.raises(ValidationFailed) as info:
        admin.set_active(session=session, user_id=only_admin.id, active=False, actor=Actor.for_user(only_admin))
    assert info.value.code == "self_deactivate"
    with pytest.raises(ValidationFailed) as info:
        admin.set_active(session=session, user_id=only_admin.id, active=False, actor=SYSTEM)
    assert info.value.code == "last_admin"
    assert session.get(User, only_admin.id).is_active


def test_assignment_cap_and_availability(session):
    user = make_user(session)
    admin.set_assignment(session=session, user_id=user.id, max_open_leads=15, available=False, actor=SYSTEM)
    assert (user.max_open_leads, user.available_for_assignment) == (15, False)
    admin.set_assignment(session=session, user_id=user.id, max_open_leads=None, available=True, actor=SYSTEM)
    assert (user.max_open_leads, user.available_for_assignment) == (None, True)
    for bad in (0, -1, 1001):
        with pytest.raises(ValidationFailed):
            admin.set_assignment(session=session, user_id=user.id, max_open_leads=bad, available=True, actor=SYSTEM)
    assert user.max_open_leads is None
    changes = session.exec(select(AuditEvent).where(AuditEvent.action == "assignment_changed")).all()
    assert len(changes) == 2


def test_user_rows_count_open_leads(session):
    user = make_user(session)
    make_lead(session, assignee_id=user.id)
    make_lead(session, assignee_id=user.id)
    lost = make_lead(session, assignee_id=user.id)
    pipeline.mark_lost(session=session, lead_id=lost.id, reason="дорого", actor=SYSTEM)
    row = next(r for r in admin.user_rows(session=session) if r.user.id == user.id)
    assert row.open_leads == 2


def test_rename_stage(session):
    stage = _stages(session)[1]
    admin.rename_stage(session=session, stage_id=stage.id, name_ru="Звонок", name_en="Call", actor=SYSTEM)
    assert (stage.name_ru, stage.name_en) == ("Звонок", "Call")
    other = _stages(session)[2]
    for name_ru, name_en in (("", "x"), ("x" * 101, "x"), ("звонок", "Other")):
        with pytest.raises(ValidationFailed):
            admin.rename_stage(session=session, stage_id=other.id, name_ru=name_ru, name_en=name_en, actor=SYSTEM)
    assert other.name_ru == "Подбор тура"


def test_reorder_and_move_stages(session):
    ids = [s.id for s in _stages(session)]
    admin.move_stage(session=session, stage_id=ids[2], delta=-1, actor=SYSTEM)
    assert [s.id for s in _stages(session)][:3] == [ids[0], ids[2], ids[1]]
    with pytest.raises(ValidationFailed):
        admin.move_stage(session=session, stage_id=ids[0], delta=-1, actor=SYSTEM)
    with pytest.raises(ValidationFailed) as info:
        admin.reorder_stages(session=session, stage_ids=[ids[-1], *ids[:-1]], actor=SYSTEM)
    assert info.value.code == "closed_first"
    with pytest.raises(ValidationFailed):
        admin.reorder_stages(session=session, stage_ids=ids[:-1], actor=SYSTEM)
    with pytest.raises(ValidationFailed):
        admin.reorder_stages(session=session, stage_ids=[*ids[:-1], ids[0]], actor=SYSTEM)


def test_changing_a_stages_category_moves_its_open_leads_status(session):
    first = _stages(session)[0]
    lead = make_lead(session)
    lost = make_lead(session)
    pipeline.mark_lost(session=session, lead_id=lost.id, reason="передумали", actor=SYSTEM)
    admin.map_stage(session=session, stage_id=first.id, category="in_progress", bitrix_stage_id="C1:NEW", actor=SYSTEM)
    session.refresh(lead)
    session.refresh(lost)
    assert (first.category, first.bitrix_stage_id) == ("in_progress", "C1:NEW")
    assert lead.status == "in_progress" and lost.status == "closed"
    open_here = session.exec(select(Lead).where(Lead.stage_id == first.id, col(Lead.outcome).is_(None))).all()
    assert {lead.status for lead in open_here} == {"in_progress"}
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "mapped")).one()
    assert event.data["leads_updated"] == len(open_here)


@pytest.mark.parametrize(
    ("index", "category", "bitrix", "code"),
    [(1, "finished", "X", "invalid_category"), (1, "pending", "C1 NEW", "invalid_bitrix_stage"),
     (1, "pending", "NEW", "duplicate_bitrix_stage"), (1, "closed", "Z", "stage_has_leads"),
     (0, "closed", "Z", "closed_first")],
)
def test_bad_stage_mappings_are_refused_and_change_nothing(session, index, category, bitrix, code):
    stages = _stages(session)
    mine = make_lead(session)
    pipeline.move_lead(session=session, lead_id=mine.id, stage_id=stages[1].id, actor=SYSTEM)
    session.flush()
    stage = stages[index]
    before = (stage.category, stage.bitrix_stage_id)
    with pytest.raises(ValidationFailed) as info:
        admin.map_stage(session=session, stage_id=stage.id, category=category, bitrix_stage_id=bitrix, actor=SYSTEM)
    assert info.value.code == code
    assert (stage.category, stage.bitrix_stage_id) == before
    session.flush()
    session.refresh(mine)
    assert mine.status == "in_progress"
