"""Every inbound message from intake reaches the AI inquiry processor through the outbox: the API, the messages
route, the website widget and SendGrid mail queue one job per message in the same transaction; the worker fills
the travel request, rescores, proposes or moves (audited as the AI), never overwriting a manager's values."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

from sqlmodel import col, delete, select

from crystal_bay.db import session_scope
from crystal_bay.models import AuditEvent, Customer, Lead, Message, OutboxJob, PipelineStage
from crystal_bay.services import intake, leads, outbox, pipeline
from crystal_bay.services.ai import inbound_jobs, rules_engine
from crystal_bay.services.audit import Actor
from crystal_bay.services.intake_schemas import LeadIn
from tests.factories import SYSTEM, make_user
from tests.intake.support import unique_email, unique_phone

WIDGET_KEY = "pk_site_ai_inbound"
INBOUND_SECRET = "inbound-secret-ai-1"


def post_lead(client, keys, body, **headers):
    response = client.post("/api/v1/leads", json=body, headers={**keys.auth(), **headers})
    assert response.status_code == 201, response.text
    return response.json()


def ai_jobs(*, lead_id: int | None = None, message_id: int | None = None) -> list[OutboxJob]:
    with session_scope() as session:
        stmt = select(OutboxJob).where(OutboxJob.kind == inbound_jobs.KIND)
        jobs = list(session.exec(stmt))
    return [j for j in jobs if (lead_id is None or j.payload["lead_id"] == lead_id)
            and (message_id is None or j.payload["message_id"] == message_id)]


def run_jobs(jobs: list[OutboxJob]) -> None:
    """Run the outbox worker until these jobs are done (other tests' queued jobs run too)."""
    ids = {j.id for j in jobs}
    for _ in range(100):
        with session_scope() as session:
            pending = session.exec(select(OutboxJob.id, OutboxJob.status, OutboxJob.last_error)
                                   .where(col(OutboxJob.id).in_(ids))).all()
        if all(status == "done" for _, status, _ in pending):
            return
        assert all(status in ("pending", "done") for _, status, _ in pending), pending
        asyncio.run(outbox.run_due(limit=200))
    raise AssertionError(f"jobs {ids} did not finish")


def lead_row(lead_id: int) -> Lead:
    with session_scope() as session:
        return session.get(Lead, lead_id)


def lead_events(lead_id: int) -> list[AuditEvent]:
    with session_scope() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.entity_type == "lead",
                                                          AuditEvent.entity_id == lead_id)
                                 .order_by(col(AuditEvent.id))))


def stage_slug(stage_id: int) -> str:
    with session_scope() as session:
        return session.get(PipelineStage, stage_id).slug


# ---------- POST /api/v1/leads ----------


def test_a_posted_lead_is_scored_at_once_and_read_by_the_ai_worker(client, keys):
    created = post_lead(client, keys, {"name": "Айгерим", "phone": unique_phone(),
                                       "message": "Хотим в Нячанг с 10 по 20 июня, 2 взрослых, бюджет 2500$"})
    lead_id, message_id = created["lead_id"], created["message_id"]
    before = lead_row(lead_id)
    assert before.score is not None and before.score_reasons  # the initial score, before any AI
    assert (before.resort, before.adults, before.budget) == (None, None, None)
    jobs = ai_jobs(lead_id=lead_id)
    assert [(j.payload, j.idempotency_key.rsplit(":", 1)[0], j.status) for j in jobs] == [
        ({"lead_id": lead_id, "message_id": message_id}, f"ai.inbound:{message_id}", "pending")]

    run_jobs(jobs)

    lead = lead_row(lead_id)
    assert (lead.country, lead.resort, lead.adults, lead.budget, lead.currency) == \
        ("Вьетнам", "Нячанг", 2, Decimal("2500.00"), "USD")
    assert (lead.date_from.month, lead.date_from.day, lead.date_to.day) == (6, 10, 20)
    assert lead.score > before.score  # a fuller request scores higher
    updates = [e for e in lead_events(lead_id) if e.action == "travel_request_updated"]
    assert [(e.actor_type, e.actor_label) for e in updates] == [("ai", "AI")]
    assert {"resort", "adults", "budget"} <= set(updates[0].data["fields"])


def test_above_the_threshold_the_ai_moves_the_stage_and_by_default_assigns_nobody(client, keys, settings_env):
    settings_env(AI_AUTO_MOVE_THRESHOLD="0.1", AI_AUTO_ASSIGN=None)
    with session_scope() as session:
        make_user(session)  # an available manager exists, yet auto-assignment is off by default
    created = post_lead(client, keys, {"phone": unique_phone(), "message": "Нячанг в марте вдвоём"})
    run_jobs(ai_jobs(lead_id=created["lead_id"]))
    lead = lead_row(created["lead_id"])
    assert stage_slug(lead.stage_id) == "tour_selection" and lead.assignee_id is None
    moves = [e for e in lead_events(lead.id) if e.action == "stage_changed"]
    assert [(e.actor_type, e.data["to_stage"]) for e in moves] == [("ai", "tour_selection")]


def test_with_auto_assign_on_the_lead_goes_to_an_available_manager(client, keys, settings_env):
    settings_env(AI_AUTO_ASSIGN="true")
    with session_scope() as session:
        manager = make_user(session)
    created = post_lead(client, keys, {"phone": unique_phone(), "message": "Турция в июле"})
    run_jobs(ai_jobs(lead_id=created["lead_id"]))
    assignee_id = lead_row(created["lead_id"]).assignee_id
    assert assignee_id is not None
    with session_scope() as session:
        assert session.get(type(manager), assignee_id).is_active


def test_values_a_manager_typed_or_the_api_sent_are_kept(client, keys):
    created = post_lead(client, keys, {"phone": unique_phone(), "budget": 1500, "currency": "USD",
                                       "message": "Добрый день"})
    lead_id = created["lead_id"]
    with session_scope() as session:
        manager = make_user(session)
        leads.update_travel_request(session=session, lead_id=lead_id, actor=Actor.for_user(manager),
                                    data=leads.TravelRequestUpdate(resort="Фукуок", country="Вьетнам"))
    response = client.post(f"/api/v1/leads/{lead_id}/messages", headers=keys.auth(),
                           json={"text": "Лучше Нячанг, нас 3 взрослых, бюджет 4000$", "external_id": "wa-77"})
    assert response.status_code == 201, response.text
    run_jobs(ai_jobs(lead_id=lead_id))
    lead = lead_row(lead_id)
    assert (lead.resort, lead.country) == ("Фукуок", "Вьетнам")  # the manager's
    assert (lead.budget, lead.currency) == (Decimal("1500.00"), "USD")  # the API's structured field
    assert lead.adults == 3  # a blank field, filled from the message


def test_the_ai_updates_what_it_wrote_itself_from_later_messages(client, keys):
    created = post_lead(client, keys, {"phone": unique_phone(), "message": "Хотим в Турцию вдвоём"})
    lead_id = created["lead_id"]
    run_jobs(ai_jobs(lead_id=lead_id))
    assert (lead_row(lead_id).country, lead_row(lead_id).adults) == ("Турция", 2)
    client.post(f"/api/v1/leads/{lead_id}/messages", headers=keys.auth(), json={"text": "Передумали: нас 4 взрослых"})
    run_jobs(ai_jobs(lead_id=lead_id))
    assert (lead_row(lead_id).country, lead_row(lead_id).adults) == ("Турция", 4)


def test_a_replayed_external_id_or_message_queues_nothing_more(client, keys):
    body = {"phone": unique_phone(), "message": "Вьетнам в мае", "external_id": f"crm-{unique_phone()}"}
    first = post_lead(client, keys, body)
    again = client.post("/api/v1/leads", json=body, headers=keys.auth())
    assert again.headers.get("Idempotent-Replayed") == "true"
    keyed = {"phone": unique_phone(), "message": "Египет"}
    post_lead(client, keys, keyed, **{"Idempotency-Key": f"k-{unique_phone()}"})
    lead_id = first["lead_id"]
    url = f"/api/v1/leads/{lead_id}/messages"
    for _ in range(2):
        client.post(url, headers=keys.auth(), json={"text": "И ещё ребёнок 5 лет", "external_id": f"tg-{lead_id}"})
    client.post(url, headers=keys.auth(), json={"text": "Отправили подборку", "direction": "outbound"})
    jobs = ai_jobs(lead_id=lead_id)
    assert len(jobs) == 2 and len({j.payload["message_id"] for j in jobs}) == 2  # the POST and one inbound message


# ---------- the widget, e-mail, the import ----------


def test_a_widget_submission_is_read_by_the_ai(client, keys, settings_env):
    settings_env(WIDGET_PUBLIC_KEYS=WIDGET_KEY, WIDGET_RATE_LIMIT_PER_MINUTE="100")
    phone = unique_phone()
    response = client.post("/api/widget/leads", json={"key": WIDGET_KEY, "name": "Оля", "phone": phone,
                                                      "message": "Хотим на Пхукет в августе, 2 взрослых"})
    assert response.status_code == 201, response.text
    lead_id = _lead_of_phone(phone)
    jobs = ai_jobs(lead_id=lead_id)
    assert len(jobs) == 1
    run_jobs(jobs)
    lead = lead_row(lead_id)
    assert (lead.country, lead.adults) == ("Таиланд", 2)


def test_an_inbound_email_is_read_by_the_ai_and_a_redelivery_queues_nothing(client, settings_env):
    settings_env(SENDGRID_INBOUND_SECRET=INBOUND_SECRET)
    sender = unique_email()
    form = {"from": f"Иван <{sender}>", "to": "leads@parse.crystalbay.kz", "subject": "Тур в Дананг",
            "text": "Добрый день! Нас 2 взрослых, бюджет 3000$.\n\n--\nИван",
            "headers": f"Message-ID: <ai-{sender}>\n"}
    first = client.post("/api/webhooks/sendgrid/inbound", params={"secret": INBOUND_SECRET}, data=form)
    assert first.status_code == 200 and first.json()["status"] == "processed", first.text
    again = client.post("/api/webhooks/sendgrid/inbound", params={"secret": INBOUND_SECRET}, data=form)
    assert again.json()["status"] == "duplicate"
    lead_id = first.json()["lead_id"]
    jobs = ai_jobs(lead_id=lead_id)
    assert len(jobs) == 1
    run_jobs(jobs)
    lead = lead_row(lead_id)
    assert (lead.resort, lead.adults, lead.budget) == ("Дананг", 2, Decimal("3000.00"))


def test_an_import_is_scored_but_not_queued_for_the_ai(client, keys):
    phones = [unique_phone() for _ in range(3)]
    content = "Имя;Телефон;Сообщение\n" + "".join(f"Клиент;{p};Хотим в Турцию вдвоём\n" for p in phones)
    response = client.post("/api/v1/leads/import", content=content.encode(),
                           headers={**keys.auth(), "Content-Type": "text/csv"})
    assert response.status_code == 200 and response.json()["imported"] == 3, response.text
    for phone in phones:
        lead = lead_row(_lead_of_phone(phone))
        assert lead.score is not None and ai_jobs(lead_id=lead.id) == []


def _lead_of_phone(phone: str) -> int:
    with session_scope() as session:
        return session.exec(select(Lead.id).join(Customer, col(Customer.id) == col(Lead.customer_id))
                            .where(Customer.phone == phone)).one()


# ---------- the service, on SQLite and PostgreSQL ----------


def test_a_batch_queues_its_job_in_the_same_transaction_and_the_reading_merges(session):
    data = LeadIn(phone=unique_phone(), message="Фукуок 7 ночей, 2 взрослых и ребёнок 6 лет", budget=Decimal("900"))
    result = intake.submit_lead(session=session, data=data, actor=SYSTEM)
    message = session.get(Message, result.message_id)
    job = session.exec(select(OutboxJob).where(
        OutboxJob.idempotency_key == inbound_jobs.job_key(message.id, message.created_at))).one()
    assert (job.kind, job.payload) == (inbound_jobs.KIND, {"lead_id": result.lead_id, "message_id": result.message_id})
    inbound = inbound_jobs.read_message(session=session, message_id=result.message_id)
    assert inbound is not None and inbound.lead_id == result.lead_id
    reading = rules_engine.extract(inbound.text, today=dt.date(2026, 1, 15))
    processed = inbound_jobs.apply_reading(session=session, inbound=inbound, extraction=reading)
    lead = session.get(Lead, result.lead_id)
    assert (lead.resort, lead.nights_min, lead.adults, lead.children, lead.children_ages) == \
        ("Фукуок", 7, 2, 1, [6])
    assert lead.budget == Decimal("900.00") and "budget" not in processed.updated  # the submitted value stays
    assert lead.score == processed.score


def test_a_won_or_lost_lead_is_left_alone(session):
    result = intake.submit_lead(session=session, data=LeadIn(phone=unique_phone(), message="Турция"), actor=SYSTEM)
    inbound = inbound_jobs.read_message(session=session, message_id=result.message_id)
    pipeline.mark_lost(session=session, lead_id=result.lead_id, reason="Передумали", actor=SYSTEM)
    assert inbound_jobs.read_message(session=session, message_id=result.message_id) is None
    reading = rules_engine.extract("Турция вдвоём", today=dt.date(2026, 1, 15))
    assert inbound_jobs.apply_reading(session=session, inbound=inbound, extraction=reading) is None
    assert session.get(Lead, result.lead_id).adults is None


def test_a_message_id_handed_out_again_gets_its_own_job(session):
    first = intake.submit_lead(session=session, data=LeadIn(phone=unique_phone(), message="Турция"), actor=SYSTEM)
    session.execute(delete(Message).where(col(Message.lead_id) == first.lead_id))  # e.g. the lead was deleted
    session.flush()
    second = intake.submit_lead(session=session, data=LeadIn(phone=unique_phone(), message="Египет"), actor=SYSTEM)
    jobs = [j for j in session.exec(select(OutboxJob).where(OutboxJob.kind == inbound_jobs.KIND))
            if j.payload["message_id"] == second.message_id]
    assert {"lead_id": second.lead_id, "message_id": second.message_id} in [j.payload for j in jobs]
