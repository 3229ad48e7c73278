"""Concurrent inquiries from one person make one customer and one lead; failures map to the right status."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, delete, func, select

from crystal_bay.api.app import create_api
from crystal_bay.models import AuditEvent, Customer, Lead, LeadTag, Message, OutboxJob, PipelineStage, WebhookEvent
from crystal_bay.services import intake, pipeline
from crystal_bay.services.intake_schemas import LeadIn
from tests.factories import SYSTEM
from tests.intake.support import unique_phone

CREATED = (LeadTag, OutboxJob, Message, AuditEvent, WebhookEvent, Lead, Customer)  # children first


@pytest.fixture()
def committing(engine):
    """The shared test database, written for real (threads need committed data); every row added is deleted
    afterwards, so the other tests still see the database they expect."""
    with Session(engine) as session:
        stages_before = session.exec(select(func.count()).select_from(PipelineStage)).one()
        pipeline.ensure_default_stages(session=session)
        session.commit()
        marks = {m: session.exec(select(func.max(m.id))).one() or 0 for m in CREATED if m is not LeadTag}
        lead_mark = marks[Lead]
    yield engine
    with Session(engine) as session:
        session.exec(delete(LeadTag).where(LeadTag.lead_id > lead_mark))
        for model in CREATED[1:]:
            session.exec(delete(model).where(model.id > marks[model]))
        if not stages_before:
            session.exec(delete(PipelineStage))
        session.commit()


def test_concurrent_inquiries_from_one_phone_make_one_customer_and_one_lead(committing):
    engine = committing
    phone = unique_phone()

    def submit(i: int) -> int:
        with Session(engine, expire_on_commit=False) as session:
            result = intake.submit_lead(session=session, data=LeadIn(phone=phone, message=f"сообщение {i}"),
                                        actor=SYSTEM)
            session.commit()
            return result.lead_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        lead_ids = set(pool.map(submit, range(16)))
    with Session(engine) as session:
        customers = session.exec(select(Customer).where(Customer.phone == phone)).all()
        leads = session.exec(select(Lead).where(Lead.customer_id == customers[0].id)).all()
        messages = session.exec(select(Message).where(Message.lead_id == leads[0].id)).all()
    assert len(customers) == 1 and len(leads) == 1 and lead_ids == {leads[0].id} and len(messages) == 16


def test_concurrent_repeats_of_one_external_id_create_one_lead(committing):
    engine = committing
    external = f"race-{unique_phone()}"

    def submit(i: int) -> tuple[int, bool]:
        with Session(engine, expire_on_commit=False) as session:
            result = intake.submit_lead(session=session, actor=SYSTEM,
                                        data=LeadIn(phone=unique_phone(), external_id=external))
            session.commit()
            return result.lead_id, result.replayed

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(submit, range(12)))
    assert len({lead_id for lead_id, _ in results}) == 1
    assert sorted(replayed for _, replayed in results) == [False] + [True] * 11


def _client_with(route) -> TestClient:
    api = create_api()
    api.add_api_route("/api/test-failure", route, methods=["GET"])
    return TestClient(api, raise_server_exceptions=False)


def test_a_genuine_bug_is_a_logged_500_with_the_error_shape(app_db, caplog):
    def broken():
        raise RuntimeError("boom")

    response = _client_with(broken).get("/api/test-failure")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error" and "boom" not in response.text
    assert "unhandled error on GET /api/test-failure" in caplog.text and "RuntimeError: boom" in caplog.text


def test_database_conflicts_and_outages_are_retryable_statuses(app_db):
    def conflict():
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))

    def outage():
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    assert _client_with(conflict).get("/api/test-failure").json()["error"]["code"] == "conflict"
    down = _client_with(outage).get("/api/test-failure")
    assert down.status_code == 503 and down.headers["Retry-After"] == "1"
