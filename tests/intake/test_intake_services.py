"""Lead intake use-cases on SQLite and PostgreSQL: dedupe, open lead vs new lead, idempotency, patch, messages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlmodel import select

from crystal_bay.models import AuditEvent, Customer, Lead, Message, WebhookEvent
from crystal_bay.services import intake, pipeline
from crystal_bay.services.errors import NotFound, PipelineError, ValidationFailed
from crystal_bay.services.intake_schemas import LeadIn, LeadPatch, MessageIn
from tests.factories import SYSTEM, count, make_customer, make_user
from tests.intake.support import spellings, unique_email, unique_phone


def submit(session, **fields):
    return intake.submit_lead(session=session, data=LeadIn(**fields), actor=SYSTEM)


def test_a_new_inquiry_opens_a_lead_for_a_new_customer(session):
    phone = unique_phone()
    result = submit(session, name="Айгерим", phone=phone, message="Вьетнам в марте", budget=Decimal("1500"),
                    currency="usd", adults=2, tags=["VIP"], utm_source="instagram")
    lead, customer = session.get(Lead, result.lead_id), session.get(Customer, result.customer_id)
    assert (result.customer_existed, result.lead_created) == (False, True)
    assert customer.phone == phone and customer.name == "Айгерим"
    assert lead.budget == Decimal("1500.00") and lead.currency == "USD" and lead.adults == 2
    assert lead.utm == {"source": "instagram"} and lead.stage_id == pipeline.first_stage(session=session).id
    message = session.get(Message, result.message_id)
    assert (message.body, message.direction, message.author_type, message.channel) == (
        "Вьетнам в марте", "inbound", "customer", "api")
    actions = {e.action for e in session.exec(select(AuditEvent).where(AuditEvent.entity_id == lead.id,
                                                                       AuditEvent.entity_type == "lead"))}
    assert {"created", "tag_added"} <= actions


def test_every_spelling_of_a_phone_is_one_customer_with_one_open_lead(session):
    phone = unique_phone()
    first = submit(session, name="Марат", phone=spellings(phone)[0], message="первое")
    for i, spelling in enumerate(spellings(phone)[1:]):
        again = submit(session, phone=spelling, message=f"ещё {i}")
        assert (again.customer_id, again.lead_id) == (first.customer_id, first.lead_id)
        assert (again.customer_existed, again.lead_created) == (True, False)
    assert count_where(session, Customer, Customer.phone == phone) == 1
    assert count_where(session, Message, Message.lead_id == first.lead_id) == len(spellings(phone))


def count_where(session, model, *conds) -> int:
    return len(session.exec(select(model).where(*conds)).all())


def test_email_is_matched_case_insensitively_and_telegram_without_at(session):
    email = unique_email()
    by_mail = submit(session, email=email.upper(), message="a")
    assert submit(session, email=email, name="Оля").customer_id == by_mail.customer_id
    tg = f"tour_fan_{unique_phone()[-6:]}"
    by_tg = submit(session, telegram=f"@{tg}")
    assert submit(session, telegram=tg.upper()).customer_id == by_tg.customer_id


def test_a_known_customer_gains_new_contacts_and_a_real_name(session):
    phone = unique_phone()
    first = submit(session, phone=phone)
    assert session.get(Customer, first.customer_id).name == phone
    email = unique_email()
    submit(session, phone=phone, email=email, name="Динара", telegram="dinara_travel")
    customer = session.get(Customer, first.customer_id)
    assert (customer.email, customer.telegram_username, customer.name) == (email, "dinara_travel", "Динара")


def test_an_extra_phone_of_a_customer_matches(session):
    main, extra = unique_phone(), unique_phone()
    customer = make_customer(session, phone=main)
    customer.phones = [main, extra]
    session.add(customer)
    session.flush()
    assert submit(session, phone=extra).customer_id == customer.id


def test_a_closed_lead_makes_the_next_inquiry_a_new_lead(session):
    phone = unique_phone()
    first = submit(session, phone=phone, message="первый раз")
    pipeline.mark_lost(session=session, lead_id=first.lead_id, reason="дорого", actor=SYSTEM)
    second = submit(session, phone=phone, message="снова")
    assert second.customer_existed and second.lead_created and second.lead_id != first.lead_id
    completed = [s for s in pipeline.list_stages(session=session) if s.slug == "completed"][0]
    pipeline.reopen(session=session, lead_id=first.lead_id, actor=SYSTEM)
    pipeline.move_lead(session=session, lead_id=second.lead_id, stage_id=completed.id, outcome="won", actor=SYSTEM)
    third = submit(session, phone=phone, message="опять")
    assert third.lead_id == first.lead_id and not third.lead_created  # the reopened one is the open lead


def test_attaching_fills_blank_travel_fields_but_never_overwrites(session):
    phone = unique_phone()
    first = submit(session, phone=phone, country="Вьетнам", adults=2)
    submit(session, phone=phone, country="Турция", adults=3, nights_min=7, budget=Decimal("900"))
    lead = session.get(Lead, first.lead_id)
    assert (lead.country, lead.adults, lead.nights_min, lead.budget) == ("Вьетнам", 2, 7, Decimal("900.00"))


def test_inconsistent_blanks_are_not_filled(session):
    phone = unique_phone()
    first = submit(session, phone=phone, date_from=dt.date(2027, 3, 10))
    submit(session, phone=phone, date_to=dt.date(2027, 3, 1), message="обратно раньше?")
    assert session.get(Lead, first.lead_id).date_to is None


def test_the_same_external_id_returns_the_first_result_and_writes_nothing(session):
    phone = unique_phone()
    first = submit(session, phone=phone, external_id="crm-1", message="a")
    before = {m: count(session, m) for m in (Customer, Lead, Message, WebhookEvent, AuditEvent)}
    again = submit(session, phone=unique_phone(), external_id="crm-1", message="другое")
    assert again.replayed and again.public() == first.public()
    assert {m: count(session, m) for m in before} == before
    other_source = submit(session, phone=phone, external_id="crm-1", source="website")
    assert not other_source.replayed  # external ids are per source


def test_idempotency_key_replays_and_refuses_a_different_body(session):
    data = LeadIn(phone=unique_phone(), message="m")
    first = intake.submit_lead(session=session, data=data, api_key_id=7, idempotency_key="k-1", actor=SYSTEM)
    again = intake.submit_lead(session=session, data=data, api_key_id=7, idempotency_key="k-1", actor=SYSTEM)
    assert again.replayed and again.public() == first.public()
    before = count(session, Lead)
    with pytest.raises(ValidationFailed) as exc:
        intake.submit_lead(session=session, data=LeadIn(phone=unique_phone()), api_key_id=7, idempotency_key="k-1",
                           actor=SYSTEM)
    assert exc.value.code == "idempotency_key_reused" and count(session, Lead) == before
    other_key = intake.submit_lead(session=session, data=data, api_key_id=8, idempotency_key="k-1", actor=SYSTEM)
    assert not other_key.replayed and other_key.lead_id == first.lead_id  # same customer, open lead


def test_a_batch_with_repeats_processes_each_inquiry_once(session):
    phone = unique_phone()
    rows = [LeadIn(phone=phone, external_id="dup", message="x"), LeadIn(phone=phone, external_id="dup", message="x"),
            LeadIn(phone=unique_phone(), message="y")]
    results = intake.process(session=session, inquiries=[intake.inquiry_for(r) for r in rows], actor=SYSTEM)
    assert [r.replayed for r in results] == [False, True, False]
    assert results[0].lead_id == results[1].lead_id != results[2].lead_id


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({"phone": "123"}, "phone", "invalid_phone"),
    ({"email": "not-an-email"}, "email", "invalid_email"),
    ({"name": "no contact"}, None, "contact_required"),
    ({"phone": "+77011234567", "currency": "XXX"}, "currency", "invalid_currency"),
    ({"phone": "+77011234567", "date_from": "2027-03-10", "date_to": "2027-03-01"}, None, "invalid_dates"),
    ({"phone": "+77011234567", "children_ages": [3, 5], "children": 1}, None, "invalid_children_ages"),
    ({"phone": "+77011234567", "message": "a\x00b"}, "message", "invalid_characters"),
    ({"phone": "+77011234567", "adults": "2"}, "adults", "int_type"),
    ({"phone": "+77011234567", "colour": "red"}, "colour", "extra_forbidden"),
])
def test_lead_in_refuses_bad_input(fields, field, code):
    with pytest.raises(ValidationError) as exc:
        LeadIn.model_validate_json(__import__("json").dumps(fields))
    errors = exc.value.errors()
    assert errors[0]["type"] == code
    assert field is None or errors[0]["loc"] == (field,)


def test_children_default_to_the_number_of_ages():
    assert LeadIn(phone="+77011234567", children_ages=[3, 5]).children == 2


def test_patch_moves_assigns_tags_and_updates_travel(session):
    lead_id = submit(session, phone=unique_phone(), tags=["старый"]).lead_id
    manager = make_user(session)
    patched = intake.patch_lead(session=session, lead_id=lead_id, actor=SYSTEM, data=LeadPatch(
        stage="consultation", assignee_id=manager.id, tags=["VIP", "Вьетнам"], adults=2, budget=Decimal("2000")))
    assert (patched.stage, patched.status, patched.assignee_id) == ("consultation", "in_progress", manager.id)
    assert patched.tags == ["VIP", "Вьетнам"] and patched.adults == 2 and patched.budget == Decimal("2000.00")
    cleared = intake.patch_lead(session=session, lead_id=lead_id, actor=SYSTEM,
                                data=LeadPatch.model_validate({"assignee_id": None, "budget": None}))
    assert cleared.assignee_id is None and cleared.budget is None and cleared.adults == 2


def test_patch_refusals(session):
    lead_id = submit(session, phone=unique_phone()).lead_id
    with pytest.raises(PipelineError):
        intake.patch_lead(session=session, lead_id=lead_id, data=LeadPatch(stage="completed"), actor=SYSTEM)
    with pytest.raises(ValidationFailed) as exc:
        intake.patch_lead(session=session, lead_id=lead_id, data=LeadPatch(assignee_id=999_999), actor=SYSTEM)
    assert exc.value.field == "assignee_id"
    with pytest.raises(ValidationFailed):
        intake.patch_lead(session=session, lead_id=lead_id, data=LeadPatch(stage="no-such-stage"), actor=SYSTEM)
    with pytest.raises(NotFound):
        intake.patch_lead(session=session, lead_id=999_999, data=LeadPatch(adults=1), actor=SYSTEM)
    done = intake.patch_lead(session=session, lead_id=lead_id, data=LeadPatch(stage="completed", outcome="won"),
                             actor=SYSTEM)
    assert (done.status, done.outcome) == ("closed", "won")


def test_log_message_is_idempotent_per_channel_and_external_id(session):
    lead_id = submit(session, phone=unique_phone(), source="website").lead_id
    sent = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    data = MessageIn(text="Письмо отправлено", direction="outbound", channel="email", external_id="m-1", sent_at=sent)
    message, created = intake.log_message(session=session, lead_id=lead_id, data=data, actor=SYSTEM)
    again, created_again = intake.log_message(session=session, lead_id=lead_id, data=data, actor=SYSTEM)
    assert created and not created_again and again.id == message.id
    assert (message.author_type, message.created_at) == ("system", sent)
    inbound, _ = intake.log_message(session=session, lead_id=lead_id, actor=SYSTEM,
                                    data=MessageIn(text="Ответ клиента"))
    assert inbound.channel == "website" and session.get(Lead, lead_id).last_customer_message_at is not None


def test_list_pages_with_a_cursor_and_filters(session):
    source_phone = unique_phone()
    ids = [submit(session, phone=unique_phone(), source="phone", name=source_phone).lead_id for _ in range(5)]
    seen, cursor = [], None
    while True:
        page, cursor = intake.list_leads(session=session, filters=intake.LeadFilter(source="phone"), cursor=cursor,
                                         limit=2)
        seen += [item.id for item in page]
        if cursor is None:
            break
    assert set(ids) <= set(seen) and len(seen) == len(set(seen))
    with pytest.raises(ValidationFailed):
        intake.list_leads(session=session, filters=intake.LeadFilter(), cursor="garbage!")
    with pytest.raises(ValidationFailed):
        intake.list_leads(session=session, filters=intake.LeadFilter(stage="nope"))
