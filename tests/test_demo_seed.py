"""Demo data: what a user of a freshly seeded CRM would notice."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

import crystal_bay.models  # noqa: F401  (registers the tables)
from crystal_bay.db import make_engine, session_scope
from crystal_bay.models import AuditEvent, Customer, Lead, LeadTag, Message, PipelineStage, Reminder, Tag, User
from crystal_bay.services import demo
from crystal_bay.services.pipeline import DEFAULT_STAGES

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# A schema of its own, so the shared test database's public schema (conftest's migrated one) is untouched.
PG_SCHEMA = "demo_seed_test"
CYRILLIC = re.compile("[А-Яа-яЁё]")
PHONE = re.compile(r"^\+7\d{10}$")


def _sqlite(tmp_path, name: str = "t"):
    eng = make_engine(f"sqlite:///{tmp_path}/{name}.db")
    SQLModel.metadata.create_all(eng)
    return eng


def _seed(engine, leads: int, seed: int | None = 1) -> dict:
    with session_scope(engine) as session:
        return demo.seed_demo(session=session, leads=leads, seed=seed)


def test_empty_before_and_not_after(tmp_path):
    engine = _sqlite(tmp_path)
    with Session(engine) as session:
        assert demo.database_is_empty(session=session)
    _seed(engine, 20)
    with Session(engine) as session:
        assert not demo.database_is_empty(session=session)
        assert demo.database_size(session=session) > 0


def test_seed_looks_like_a_real_pipeline(tmp_path):
    engine = _sqlite(tmp_path)
    counts = _seed(engine, 200)
    assert counts["leads"] == 200
    assert 100 < counts["customers"] < 200  # some customers came back with several requests
    with Session(engine) as session:
        leads = session.exec(select(Lead)).all()
        stages = {s.id: s for s in session.exec(select(PipelineStage))}
        assert len(leads) == 200
        per_stage = Counter(stages[lead.stage_id].slug for lead in leads)
        assert set(per_stage) == {s.slug for s in DEFAULT_STAGES}, per_stage
        assert per_stage["new_request"] > per_stage["accepted"]
        assert len({lead.source for lead in leads}) >= 5
        for lead in leads:
            expected = "closed" if lead.outcome == "lost" else stages[lead.stage_id].category
            assert lead.status == expected, (lead.id, lead.status, lead.outcome)
            if stages[lead.stage_id].slug == "completed":
                assert lead.outcome == "won" and lead.closed_at is not None
            assert lead.updated_at >= lead.created_at
            assert lead.last_customer_message_at is not None
            assert lead.country and lead.date_from and 7 <= lead.nights_min <= lead.nights_max <= 14
            assert 1 <= lead.adults <= 4 and len(lead.children_ages) == lead.children
            assert lead.currency in ("USD", "KZT") and lead.meal in ("RO", "BB", "HB", "FB", "AI", "UAI")
            assert 10 <= lead.score <= 95 and 1 <= len(lead.score_reasons) <= 3
        lost = [lead for lead in leads if lead.outcome == "lost"]
        assert 2 <= len(lost) <= 40
        assert all(lead.lost_reason and CYRILLIC.search(lead.lost_reason) for lead in lost)
        assert sum(lead.country == "Вьетнам" for lead in leads) > 50
        assert any(lead.assignee_id for lead in leads) and any(not lead.assignee_id for lead in leads)
        follow_ups = [lead.next_follow_up_at for lead in leads if lead.next_follow_up_at]
        now = crystal_bay.models.utcnow()
        assert any(f < now for f in follow_ups) and any(f > now for f in follow_ups)


def test_every_lead_has_a_conversation_in_russian(tmp_path):
    engine = _sqlite(tmp_path)
    _seed(engine, 200)
    with Session(engine) as session:
        messages = session.exec(select(Message).order_by(Message.lead_id, Message.id)).all()
        leads = {lead.id: lead for lead in session.exec(select(Lead))}
        customers = {c.id: c for c in session.exec(select(Customer))}
        by_lead = defaultdict(list)
        for m in messages:
            by_lead[m.lead_id].append(m)
        assert set(by_lead) == set(leads)
        for lead_id, thread in by_lead.items():
            lead = leads[lead_id]
            assert 1 <= len(thread) <= 4
            times = [m.created_at for m in thread]
            assert times == sorted(times) and times[0] >= lead.created_at
            assert all(m.customer_id == lead.customer_id for m in thread)
            if customers[lead.customer_id].language == "ru":
                assert all(CYRILLIC.search(m.body) for m in thread), [m.body for m in thread]
        assert {m.author_type for m in messages} >= {"customer", "manager", "bot"}
        assert all(m.channel == "telegram" for m in messages if m.author_type == "bot")
        assert sum(bool(CYRILLIC.search(m.body)) for m in messages) > 0.9 * len(messages)


def test_customers_contacts_tags_and_managers(tmp_path):
    engine = _sqlite(tmp_path)
    counts = _seed(engine, 200)
    with Session(engine) as session:
        customers = session.exec(select(Customer)).all()
        phones = [c.phone for c in customers if c.phone]
        assert len(phones) > 0.8 * len(customers)
        assert all(PHONE.match(p) for p in phones), [p for p in phones if not PHONE.match(p)]
        assert len(set(phones)) == len(phones)
        assert any(p.startswith(("+770", "+777")) for p in phones)
        assert any(c.email for c in customers) and any(c.telegram_id for c in customers)
        assert any(c.whatsapp_id for c in customers)
        assert {c.language for c in customers} <= {"ru", "en"}
        assert all(CYRILLIC.search(c.name) and len(c.name.split()) == 2 for c in customers)
        assert {t.name for t in session.exec(select(Tag))} >= {"VIP", "Семья с детьми", "Горящий тур"}
        assert session.exec(select(func.count()).select_from(LeadTag)).one() == counts["tags"] > 0
        reminders = session.exec(select(Reminder)).all()
        assert len(reminders) == counts["reminders"] > 0 and all(r.user_id for r in reminders)
        managers = session.exec(select(User).where(User.role == "manager")).all()
        assert len(managers) == 3
        assignees = {lead.assignee_id for lead in session.exec(select(Lead))} - {None}
        assert assignees <= {m.id for m in managers}
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "demo_seeded")).all()
        assert len(events) == 1 and events[0].data["leads"] == 200


def test_seeding_twice_adds_more_without_collisions(tmp_path):
    engine = _sqlite(tmp_path)
    first = _seed(engine, 200, seed=1)
    second = _seed(engine, 200, seed=1)
    assert first["leads"] == second["leads"] == 200
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Lead)).one() == 400
        assert session.exec(select(func.count()).select_from(Message)).one() == \
            first["messages"] + second["messages"]
        phones = [p for p in session.exec(select(Customer.phone)) if p]
        assert len(set(phones)) == len(phones)
        assert len(session.exec(select(User).where(User.role == "manager")).all()) == 3
        assert len(session.exec(select(Tag)).all()) == len(demo.TAG_NAMES)


def test_same_seed_same_data(tmp_path):
    results = []
    for name in ("a", "b"):
        eng = _sqlite(tmp_path, name)
        _seed(eng, 50, seed=7)
        with Session(eng) as session:
            results.append([(c.name, c.phone) for c in session.exec(select(Customer).order_by(Customer.id))])
        eng.dispose()
    assert results[0] == results[1]


def _pg_schema(url: str, sql: str) -> None:
    psycopg = pytest.importorskip("psycopg")
    try:
        with psycopg.connect(url.replace("+psycopg", ""), connect_timeout=2, autocommit=True) as conn:
            conn.execute(sql)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not available: {exc}")


@pytest.mark.parametrize("url", [PG_URL])
def test_postgresql_seed_and_sequences(url):
    _pg_schema(url, f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE; CREATE SCHEMA {PG_SCHEMA}")
    eng = make_engine(f"{url}?options=-csearch_path%3D{PG_SCHEMA}")
    SQLModel.metadata.drop_all(eng)
    SQLModel.metadata.create_all(eng)
    try:
        counts = _seed(eng, 100, seed=3)
        assert counts["leads"] == 100
        with session_scope(eng) as session:
            assert session.exec(select(func.count()).select_from(Lead)).one() == 100
            assert session.exec(select(func.count()).select_from(Customer)).one() == counts["customers"]
            assert session.exec(select(func.count()).select_from(Message)).one() == counts["messages"]
            assert not demo.database_is_empty(session=session)
            assert demo.database_size(session=session) > 0
            lead = session.exec(select(Lead).where(Lead.outcome == "lost")).first()
            assert lead is not None and lead.status == "closed" and lead.lost_reason
            assert isinstance(lead.score_reasons, list) and isinstance(lead.utm, dict)
        with session_scope(eng) as session:  # plain ORM inserts after the seed: sequences moved on
            customer = Customer(name="Новый Клиент", phone="+77010000000")
            session.add(customer)
            session.flush()
            stage = session.exec(select(PipelineStage).order_by(PipelineStage.position)).first()
            new = Lead(customer_id=customer.id, stage_id=stage.id, source="api")
            session.add(new)
            session.flush()
            session.add(Message(lead_id=new.id, customer_id=customer.id, channel="api", direction="inbound",
                                author_type="customer", body="Здравствуйте!"))
            session.flush()
            assert new.id == 101 and customer.id == counts["customers"] + 1
        assert _seed(eng, 100, seed=4)["leads"] == 100  # and a second seed after ORM inserts
    finally:
        SQLModel.metadata.drop_all(eng)
        eng.dispose()
        _pg_schema(url, f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
