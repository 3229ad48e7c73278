"""Working a lead on SQLite and PostgreSQL: customers, assignment, tags, travel request, manual leads,
notes and the timeline, reminders, and the lead drawer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlmodel import select

from crystal_bay.models import AuditEvent, Customer, Lead, Message, Reminder, Tag, utcnow
from crystal_bay.services import audit, conversations, customers, leads, pipeline, reminders
from crystal_bay.services.audit import Actor
from crystal_bay.services.customers import CustomerUpdate
from crystal_bay.services.errors import NotFound, ValidationFailed
from crystal_bay.services.leads import TravelRequestUpdate
from tests.factories import SYSTEM, count, make_customer, make_lead, make_user

SPELLINGS = ("8 701 123 45 67", "+7 (701) 123-45-67", "77011234567", "87011234567", "7011234567")


def _actions(session, lead_id):
    return [e.action for e in audit.events_for(session=session, entity_type="lead", entity_id=lead_id)]


def _last_event(session, lead_id):
    return audit.events_for(session=session, entity_type="lead", entity_id=lead_id)[-1]


# ---------- customers ----------


@pytest.mark.parametrize("raw", SPELLINGS)
def test_every_kazakh_phone_spelling_normalises_to_e164(raw):
    assert customers.normalize_phone(raw) == "+77011234567"


@pytest.mark.parametrize("raw", ["", "123", "+7 701 123", "телефон", "+999 1234567"])
def test_impossible_phones_are_refused(raw):
    with pytest.raises(ValidationFailed) as err:
        customers.normalize_phone(raw)
    assert err.value.field == "phone"


def test_email_is_lower_cased_and_checked():
    assert customers.normalize_email(" Aigerim@Example.COM ") == "aigerim@example.com"
    with pytest.raises(ValidationFailed) as err:
        customers.normalize_email("not-an-email")
    assert err.value.field == "email"


def _update(**kw) -> CustomerUpdate:
    values = {"name": "Айгерим Садыкова", "phones": ["+77011234567"], "email": None, "telegram_username": None,
              "whatsapp_id": None, "language": "ru"}
    return CustomerUpdate(**{**values, **kw})


def test_customer_update_normalises_and_dedupes_phones(session):
    manager = make_user(session, name="Анна Смирнова")
    customer = make_customer(session, phone="+77770000000")
    saved = customers.update_customer(
        session=session, customer_id=customer.id, actor=Actor.for_user(manager),
        data=_update(phones=[*SPELLINGS, "", "+7 916 123-45-67"], email="Aigerim@Example.com",
                     telegram_username="@aigerim_s", language="en"),
    )
    assert saved.phone == "+77011234567" and saved.phones == ["+77011234567", "+79161234567"]
    assert (saved.email, saved.telegram_username, saved.language) == ("aigerim@example.com", "aigerim_s", "en")
    (event,) = audit.events_for(session=session, entity_type="customer", entity_id=customer.id)
    assert event.action == "updated" and event.actor_id == manager.id
    assert sorted(event.data["fields"]) == ["email", "language", "phone", "phones", "telegram_username"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phones": ["+77011234567", "12345"]}, "phone"),
        ({"name": "  "}, "name"),
        ({"name": "Я" * 201}, "name"),
        ({"email": "no-at-sign"}, "email"),
        ({"telegram_username": "@ab"}, "telegram_username"),
        ({"telegram_username": "имя_пользователя"}, "telegram_username"),
        ({"language": "kk"}, "language"),
    ],
)
def test_bad_customer_input_changes_nothing(session, change, field):
    customer = make_customer(session, name="Иван Петров", phone="+77779876543")
    with pytest.raises(ValidationFailed) as err:
        customers.update_customer(session=session, customer_id=customer.id, actor=SYSTEM,
                                  data=_update(**{"name": "Новое имя", **change}))
    assert err.value.field == field
    session.flush()
    session.refresh(customer)
    assert (customer.name, customer.phone) == ("Иван Петров", "+77779876543")
    assert audit.events_for(session=session, entity_type="customer", entity_id=customer.id) == []


def test_unchanged_customer_writes_no_audit(session):
    customer = make_customer(session)
    customers.update_customer(session=session, customer_id=customer.id, data=_update(), actor=SYSTEM)
    assert audit.events_for(session=session, entity_type="customer", entity_id=customer.id) == []
    with pytest.raises(NotFound):
        customers.update_customer(session=session, customer_id=999_999, data=_update(), actor=SYSTEM)


def test_find_or_create_dedupes_by_phone_then_email(session):
    first, created = customers.find_or_create_customer(session=session, name="Айгерим", phone="8 701 123 45 67",
                                                       actor=SYSTEM)
    assert created and first.phone == "+77011234567"
    again, created = customers.find_or_create_customer(session=session, name="Другая", phone="+7 (701) 123-45-67",
                                                       email="a@example.com", actor=SYSTEM)
    assert not created and again.id == first.id and again.email == "a@example.com"  # the blank is filled in
    by_mail, created = customers.find_or_create_customer(session=session, name="X", email="A@Example.com",
                                                         actor=SYSTEM)
    assert not created and by_mail.id == first.id
    listed = make_customer(session, name="Ольга", phone="+77770000000")
    listed.phones = ["+77770000000", "+77051112233"]
    session.add(listed)
    found, created = customers.find_or_create_customer(session=session, name="Ольга", phone="87051112233",
                                                       actor=SYSTEM)
    assert not created and found.id == listed.id
    assert count(session, Customer) == 2


# ---------- assignment and tags ----------


def test_assignment_is_audited_and_needs_an_active_user(session):
    anna, boss = make_user(session, name="Анна Смирнова"), make_user(session, role="admin")
    lead = make_lead(session)
    before = lead.updated_at
    leads.assign_lead(session=session, lead_id=lead.id, assignee_id=anna.id, actor=Actor.for_user(boss))
    assert lead.assignee_id == anna.id and lead.updated_at > before
    event = _last_event(session, lead.id)
    assert (event.action, event.data) == ("assigned", {"from": None, "to": anna.id, "to_name": "Анна Смирнова"})
    leads.assign_lead(session=session, lead_id=lead.id, assignee_id=anna.id, actor=SYSTEM)  # no-op
    assert _actions(session, lead.id).count("assigned") == 1
    with pytest.raises(NotFound):
        leads.assign_lead(session=session, lead_id=lead.id, assignee_id=999_999, actor=SYSTEM)
    gone = make_user(session)
    gone.is_active = False
    with pytest.raises(ValidationFailed) as err:
        leads.assign_lead(session=session, lead_id=lead.id, assignee_id=gone.id, actor=SYSTEM)
    assert err.value.field == "assignee_id" and lead.assignee_id == anna.id
    leads.assign_lead(session=session, lead_id=lead.id, assignee_id=None, actor=SYSTEM)
    assert lead.assignee_id is None and _last_event(session, lead.id).data["from"] == anna.id


def test_tags_add_remove_idempotent_and_suggested(session):
    lead, other = make_lead(session), make_lead(session)
    assert leads.add_tag(session=session, lead_id=lead.id, name="  VIP ", actor=SYSTEM) == ["VIP"]
    assert leads.add_tag(session=session, lead_id=lead.id, name="VIP", actor=SYSTEM) == ["VIP"]
    assert leads.add_tag(session=session, lead_id=lead.id, name="vip", actor=SYSTEM) == ["VIP"]
    assert leads.add_tag(session=session, lead_id=lead.id, name="Семья с детьми", actor=SYSTEM) == [
        "VIP", "Семья с детьми"]
    leads.add_tag(session=session, lead_id=other.id, name="Семья с детьми", actor=SYSTEM)
    leads.add_tag(session=session, lead_id=other.id, name="Свадьба", actor=SYSTEM)
    assert count(session, Tag) == 3
    assert _actions(session, lead.id).count("tag_added") == 2
    assert leads.tag_suggestions(session=session, prefix="") == ["Семья с детьми", "VIP", "Свадьба"]
    assert leads.tag_suggestions(session=session, prefix="с") == ["Семья с детьми", "Свадьба"]
    assert leads.tag_suggestions(session=session, prefix="vi", limit=1) == ["VIP"]
    assert leads.remove_tag(session=session, lead_id=lead.id, name="VIP", actor=SYSTEM) == ["Семья с детьми"]
    assert leads.remove_tag(session=session, lead_id=lead.id, name="VIP", actor=SYSTEM) == ["Семья с детьми"]
    assert _last_event(session, lead.id).data == {"tag": "VIP"} and _actions(session, lead.id).count("tag_removed") == 1
    for bad in ("   ", "x" * 51):
        with pytest.raises(ValidationFailed):
            leads.add_tag(session=session, lead_id=lead.id, name=bad, actor=SYSTEM)


# ---------- the travel request ----------


def test_travel_request_update_saves_changed_fields(session):
    lead = make_lead(session, country="Турция", adults=2)
    leads.update_travel_request(session=session, lead_id=lead.id, actor=SYSTEM, data=TravelRequestUpdate(
        country="Вьетнам", resort=" Нячанг ", date_from=dt.date(2027, 3, 10), date_to=dt.date(2027, 3, 20),
        nights_min=9, nights_max=10, children=2, children_ages=[4, 9], budget=Decimal("3500"), currency="usd",
        hotel_stars=4, meal="ai"))
    session.flush()
    session.refresh(lead)
    assert (lead.country, lead.resort, lead.adults, lead.children_ages) == ("Вьетнам", "Нячанг", 2, [4, 9])
    assert (lead.budget, lead.currency, lead.meal) == (Decimal("3500.00"), "USD", "AI")
    event = _last_event(session, lead.id)
    assert event.action == "travel_request_updated" and "adults" not in event.data["fields"]
    assert {"country", "resort", "budget", "meal"} <= set(event.data["fields"])
    leads.update_travel_request(session=session, lead_id=lead.id, actor=SYSTEM,
                                data=TravelRequestUpdate(resort=None))
    assert lead.resort is None and lead.country == "Вьетнам"  # fields left out stay as they are


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"date_from": dt.date(2027, 3, 20), "date_to": dt.date(2027, 3, 10)}, "date_to"),
        ({"nights_min": 0}, "nights_min"), ({"nights_max": 61}, "nights_max"),
        ({"nights_min": 12, "nights_max": 7}, "nights_max"), ({"adults": 21}, "adults"), ({"adults": -1}, "adults"),
        ({"children": 11}, "children"), ({"children": 2, "children_ages": [5]}, "children_ages"),
        ({"children": 1, "children_ages": [18]}, "children_ages"), ({"budget": Decimal("-1")}, "budget"),
        ({"budget": "много"}, "budget"), ({"currency": "GBP"}, "currency"), ({"hotel_stars": 6}, "hotel_stars"),
        ({"meal": "XX"}, "meal"), ({"country": "Я" * 101}, "country"),
    ],
)
def test_bad_travel_request_writes_nothing(session, change, field):
    lead = make_lead(session, country="Турция", nights_min=7, nights_max=9)
    before = (lead.updated_at, len(_actions(session, lead.id)))
    with pytest.raises(ValidationFailed) as err:
        leads.update_travel_request(session=session, lead_id=lead.id, actor=SYSTEM,
                                    data=TravelRequestUpdate(resort="Кемер", **change))
    assert err.value.field == field
    session.flush()
    session.refresh(lead)
    assert lead.resort is None and (lead.updated_at, len(_actions(session, lead.id))) == before


# ---------- manual leads ----------


def test_manual_lead_reuses_the_customer_by_phone_and_keeps_the_message_as_note(session):
    anna = make_user(session, name="Анна Смирнова")
    known = make_customer(session, name="Айгерим Садыкова", phone="+77011234567")
    lead = leads.create_manual_lead(
        session=session, name="Айгерим", phone="8 (701) 123-45-67", email=None, source="phone",
        message="Звонила: хочет Вьетнам в марте", assignee_id=anna.id, actor=Actor.for_user(anna))
    assert lead.customer_id == known.id and lead.source == "phone" and lead.assignee_id == anna.id
    assert lead.last_customer_message_at is None
    (note,) = session.exec(select(Message).where(Message.lead_id == lead.id)).all()
    assert (note.channel, note.direction, note.author_type, note.author_user_id) == (
        "note", "internal", "manager", anna.id)
    assert _actions(session, lead.id) == ["created", "assigned", "note_added"]
    walk_in = leads.create_manual_lead(session=session, name="Новый Клиент", phone=None, email="New@Example.com",
                                       source="walk_in", message=None, assignee_id=None, actor=SYSTEM)
    assert session.get(Customer, walk_in.customer_id).email == "new@example.com"


@pytest.mark.parametrize(
    ("kw", "field"),
    [({"phone": None, "email": None}, "phone"), ({"phone": "123"}, "phone"), ({"source": "pigeon"}, "source"),
     ({"name": ""}, "name"), ({"assignee_id": 999_999}, "assignee_id")],
)
def test_bad_manual_lead_creates_nothing(session, kw, field):
    values = {"name": "Иван", "phone": "+77011234567", "email": None, "source": "phone", "message": "Привет",
              "assignee_id": None, **kw}
    with pytest.raises((ValidationFailed, NotFound)) as err:
        leads.create_manual_lead(session=session, actor=SYSTEM, **values)
    assert err.value.field == field
    assert count(session, Lead) == 0 and count(session, Customer) == 0 and count(session, AuditEvent) == 0


# ---------- notes and the timeline ----------


def test_timeline_merges_messages_notes_and_events_in_order(session):
    anna = make_user(session, name="Анна Смирнова")
    me = Actor.for_user(anna)
    lead = make_lead(session, customer_name="Динара Ахметова")
    session.add(Message(lead_id=lead.id, channel="telegram", direction="inbound", author_type="customer",
                        body="Хотим во Вьетнам"))
    session.flush()
    conversations.add_note(session=session, lead_id=lead.id, text="Бюджет около 3000$", actor=me)
    pipeline.move_lead(session=session, lead_id=lead.id, stage_id=leads.get_stage(session=session,
                       slug="consultation").id, actor=me)
    leads.assign_lead(session=session, lead_id=lead.id, assignee_id=anna.id, actor=me)
    leads.add_tag(session=session, lead_id=lead.id, name="VIP", actor=me)
    reminder = reminders.set_reminder(session=session, lead_id=lead.id, text="Отправить подборку", actor=me,
                                      due_at=dt.datetime(2027, 3, 1, 4, 0, tzinfo=dt.UTC))
    reminders.complete_reminder(session=session, reminder_id=reminder.id, actor=me)
    pipeline.mark_lost(session=session, lead_id=lead.id, reason="Дорого", actor=me)
    items = conversations.timeline(session=session, lead_id=lead.id)
    assert [(i.kind, i.author, i.text) for i in items] == [
        ("event", "tests", "Заявка создана"),
        ("message", "Динара Ахметова", "Хотим во Вьетнам"),
        ("note", "Анна Смирнова", "Бюджет около 3000$"),
        ("event", "Анна Смирнова", "Этап: Новый запрос → Консультация"),
        ("event", "Анна Смирнова", "Назначен: Анна Смирнова"),
        ("event", "Анна Смирнова", "Тег добавлен: VIP"),
        ("event", "Анна Смирнова", "Напоминание: Отправить подборку (01.03.2027 09:00)"),
        ("event", "Анна Смирнова", "Напоминание выполнено: Отправить подборку"),
        ("event", "Анна Смирнова", "Потеряна: Дорого"),
    ]
    assert items[3].text_en == "Stage: New request → Consultation" and items[1].text_en == "Хотим во Вьетнам"
    assert (items[1].direction, items[1].channel, items[2].direction) == ("inbound", "telegram", "internal")
    assert [i.at for i in items] == sorted(i.at for i in items)


def test_notes_are_checked_and_bump_the_lead(session):
    lead = make_lead(session)
    before = lead.updated_at
    note = conversations.add_note(session=session, lead_id=lead.id, text="  Клиент в отпуске  ", actor=SYSTEM)
    assert note.body == "Клиент в отпуске" and note.author_type == "system" and lead.updated_at > before
    for bad in ("", "x" * 5001):
        with pytest.raises(ValidationFailed):
            conversations.add_note(session=session, lead_id=lead.id, text=bad, actor=SYSTEM)
    with pytest.raises(NotFound):
        conversations.add_note(session=session, lead_id=999_999, text="x", actor=SYSTEM)


# ---------- reminders ----------


def test_reminders_drive_the_next_follow_up_and_the_today_list(session):
    anna, dmitry = make_user(session, name="Анна Смирнова"), make_user(session, name="Дмитрий Ковалёв")
    now = utcnow()
    lead = make_lead(session, customer_name="Динара Ахметова", assignee_id=anna.id)
    later = reminders.set_reminder(session=session, lead_id=lead.id, due_at=now + dt.timedelta(hours=3),
                                   text="Отправить КП", actor=Actor.for_user(anna))
    late = reminders.set_reminder(session=session, lead_id=lead.id, due_at=now - dt.timedelta(minutes=30),
                                  text="Перезвонить", actor=Actor.for_user(anna))
    assert lead.next_follow_up_at == late.due_at
    other = make_lead(session)
    mine_elsewhere = reminders.set_reminder(session=session, lead_id=other.id, due_at=now + dt.timedelta(hours=1),
                                            text="Проверить визу", actor=Actor.for_user(dmitry))
    tomorrow = now + dt.timedelta(hours=12)
    today = reminders.due_reminders(session=session, user_id=anna.id, until=tomorrow)
    assert [(r.reminder_id, r.customer_name, r.overdue) for r in today] == [
        (late.id, "Динара Ахметова", True), (later.id, "Динара Ахметова", False)]
    assert [r.reminder_id for r in reminders.due_reminders(session=session, user_id=dmitry.id, until=tomorrow)] == [
        mine_elsewhere.id]
    assert len(reminders.due_reminders(session=session, user_id=None, until=tomorrow)) == 3
    assert reminders.due_reminders(session=session, user_id=None, until=now - dt.timedelta(hours=1)) == []
    done = reminders.complete_reminder(session=session, reminder_id=late.id, actor=Actor.for_user(anna))
    assert done.done_at is not None and lead.next_follow_up_at == later.due_at
    assert reminders.complete_reminder(session=session, reminder_id=late.id, actor=SYSTEM).done_at == done.done_at
    assert _actions(session, lead.id).count("reminder_done") == 1
    reminders.complete_reminder(session=session, reminder_id=later.id, actor=SYSTEM)
    assert lead.next_follow_up_at is None
    assert [r.reminder_id for r in reminders.due_reminders(session=session, user_id=anna.id, until=tomorrow)] == []


def test_bad_reminders_are_refused(session):
    lead = make_lead(session)
    soon = utcnow() + dt.timedelta(hours=1)
    for text, due, field in (("", soon, "text"), ("x" * 501, soon, "text"), ("Позвонить", soon.replace(tzinfo=None),
                                                                                "due_at")):
        with pytest.raises(ValidationFailed) as err:
            reminders.set_reminder(session=session, lead_id=lead.id, due_at=due, text=text, actor=SYSTEM)
        assert err.value.field == field
    assert count(session, Reminder) == 0 and lead.next_follow_up_at is None
    with pytest.raises(NotFound):
        reminders.complete_reminder(session=session, reminder_id=999_999, actor=SYSTEM)


# ---------- the lead drawer ----------


def test_lead_detail_has_everything_the_drawer_shows(session):
    anna = make_user(session, name="Анна Смирнова")
    customer = make_customer(session, name="Динара Ахметова")
    old = make_lead(session, customer=customer, created_at=utcnow() - dt.timedelta(days=300))
    pipeline.move_lead(session=session, lead_id=old.id, stage_id=leads.get_stage(session=session, slug="quote").id,
                       actor=SYSTEM)
    lead = make_lead(session, customer=customer, assignee_id=anna.id)
    leads.add_tag(session=session, lead_id=lead.id, name="VIP", actor=SYSTEM)
    now = utcnow()
    done = reminders.set_reminder(session=session, lead_id=lead.id, due_at=now - dt.timedelta(days=1), text="a",
                                  actor=SYSTEM)
    reminders.complete_reminder(session=session, reminder_id=done.id, actor=SYSTEM)
    second = reminders.set_reminder(session=session, lead_id=lead.id, due_at=now + dt.timedelta(days=2), text="b",
                                    actor=SYSTEM)
    first = reminders.set_reminder(session=session, lead_id=lead.id, due_at=now + dt.timedelta(days=1), text="c",
                                   actor=SYSTEM)
    detail = leads.lead_detail(session=session, lead_id=lead.id)
    assert (detail.lead.id, detail.customer.name, detail.stage.slug, detail.assignee.name, detail.tags) == (
        lead.id, "Динара Ахметова", "new_request", "Анна Смирнова", ["VIP"])
    assert [tuple(o)[:3] for o in detail.other_leads] == [(old.id, "Коммерческое предложение", "pending")]
    assert [r.id for r in detail.reminders] == [first.id, second.id, done.id]
    with pytest.raises(NotFound):
        leads.lead_detail(session=session, lead_id=999_999)
