"""Leads from bot chats, on SQLite and PostgreSQL: one lead per chat until a booking request, messages stored once,
customers deduplicated by Telegram id and phone, handoff and hand back, replies through the outbox, and the bot's
persisted state."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlmodel import col, select

from crystal_bay.bot.persistence import _rows, _write
from crystal_bay.models import AuditEvent, BotChat, BotState, Customer, Lead, Message, OutboxJob, TourOffer
from crystal_bay.services import chat_leads, conversations, messaging, tours
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import ValidationFailed
from tests.factories import make_customer, make_lead

MANAGER = Actor(type="user", id=None, label="Анна")


def _person(chat_id: int = 501, **kw) -> chat_leads.ChatPerson:
    return chat_leads.ChatPerson(namespace=kw.pop("namespace", "telegram"), chat_id=chat_id, user_id=chat_id,
                                 first_name=kw.pop("first_name", "Данияр"), username=kw.pop("username", "daniyar_kz"),
                                 **kw)


def _offer(**kw) -> tours.Offer:
    values = dict(key="k1", offer_id="0xABC", hotel="Sea Breeze Resort 4*", hotel_id=5001, stars=4, resort="Нячанг",
                  resort_id=77, country="Вьетнам", meal="BB", meal_id=2, room="Standard", room_id=1,
                  date_from=dt.date(2027, 3, 10), date_to=dt.date(2027, 3, 20), nights=10, adults=2, children_ages=(),
                  price=Decimal("2450"), currency="USD", availability="available", bookable=True, tour="Вьетнам",
                  raw={"townFromKey": 1344, "stateKey": 95, "cb_demo": True})
    values.update(kw)
    return tours.Offer(**values)


def test_typed_messages_open_one_lead_and_are_stored_once(session):
    person = _person()
    first = chat_leads.record_inbound(session=session, person=person, message_id=10, text="Хотим во Вьетнам")
    again = chat_leads.record_inbound(session=session, person=person, message_id=10, text="Хотим во Вьетнам")
    later = chat_leads.record_inbound(session=session, person=person, message_id=11, text="в марте")
    assert first.lead_id == again.lead_id == later.lead_id
    lead = session.get(Lead, first.lead_id)
    customer = session.get(Customer, lead.customer_id)
    assert (lead.source, customer.telegram_id, customer.telegram_username) == ("telegram", "501", "daniyar_kz")
    bodies = list(session.exec(select(Message.body).where(Message.lead_id == lead.id).order_by(col(Message.id))))
    assert bodies == ["Хотим во Вьетнам", "в марте"] and lead.last_customer_message_at is not None


def test_a_known_telegram_customer_gets_their_open_lead_back(session):
    customer = make_customer(session, name="Данияр", phone=None)
    customer.telegram_id = "502"
    old = make_lead(session, customer=customer, source="telegram")
    info = chat_leads.record_inbound(session=session, person=_person(502), message_id=1, text="Добрый день")
    assert (info.customer_id, info.lead_id) == (customer.id, old.id)


def test_a_booking_request_snapshots_the_offer_and_the_next_search_opens_a_new_lead(session):
    person = _person(503)
    search = chat_leads.save_search(session=session, person=person, request=chat_leads.leads.TravelRequestUpdate(
        country="Вьетнам", adults=2, nights_min=10, nights_max=10))
    booked = chat_leads.book_offer(session=session, person=person, offer=_offer(),
                                   contact=chat_leads.ContactDetails(name="Данияр Сейтказы", phone="8 701 222 33 44",
                                                                     comment="Номер с видом на море"))
    assert booked.lead_id == search.lead_id and booked.booked
    lead = session.get(Lead, booked.lead_id)
    offer = session.exec(select(TourOffer).where(TourOffer.lead_id == lead.id)).one()
    assert (offer.hotel, offer.price, offer.raw["cb_demo"]) == ("Sea Breeze Resort 4*", Decimal("2450.00"), True)
    assert (lead.resort, lead.date_from, lead.nights_min, lead.meal, lead.needs_human) == \
        ("Нячанг", dt.date(2027, 3, 10), 10, "BB", True)
    customer = session.get(Customer, lead.customer_id)
    assert (customer.name, customer.phone) == ("Данияр Сейтказы", "+77012223344")
    timeline = [i.text for i in conversations.timeline(session=session, lead_id=lead.id)]
    assert any(t.startswith("Заявка на тур из бота: Sea Breeze") for t in timeline)
    assert any("Номер с видом на море" in t and "+77012223344" in t for t in timeline)

    chat_leads.record_inbound(session=session, person=person, message_id=20, text="Спасибо!")
    assert chat_leads.chat_info(session=session, namespace="telegram", chat_id=503).lead_id == lead.id
    fresh = chat_leads.new_request(session=session, person=person, message_id=21)  # 21 was never stored
    assert fresh.lead_id != lead.id and not fresh.booked
    chat_leads.record_inbound(session=session, person=person, message_id=22, text="А ещё в Турцию летом")
    assert chat_leads.new_request(session=session, person=person).lead_id == fresh.lead_id  # not booked: same
    second = chat_leads.save_search(session=session, person=person,
                                    request=chat_leads.leads.TravelRequestUpdate(country="Турция"))
    assert second.lead_id == fresh.lead_id != lead.id


def test_new_request_after_a_booking_moves_the_asking_message(session):
    person = _person(509)
    chat_leads.save_search(session=session, person=person, request=chat_leads.leads.TravelRequestUpdate(adults=2))
    booked = chat_leads.book_offer(session=session, person=person, offer=_offer(),
                                   contact=chat_leads.ContactDetails(name="Данияр", phone="+77017778899"))
    chat_leads.record_inbound(session=session, person=person, message_id=30, text="Теперь хотим в Египет")
    fresh = chat_leads.new_request(session=session, person=person, message_id=30)
    assert fresh.lead_id != booked.lead_id and not fresh.booked
    moved = session.exec(select(Message).where(Message.external_id == "telegram:509:30")).one()
    assert moved.lead_id == fresh.lead_id


def test_a_phone_known_from_another_channel_merges_the_customers(session):
    known = make_customer(session, name="Данияр С.", phone="+77015550011")
    earlier = make_lead(session, customer=known, source="phone")
    person = _person(504)
    chat_leads.record_inbound(session=session, person=person, message_id=1, text="Здравствуйте")
    info = chat_leads.book_offer(session=session, person=person, offer=_offer(),
                                 contact=chat_leads.ContactDetails(name="Данияр", phone="+7 701 555 00 11"))
    assert info.customer_id == known.id
    assert session.get(Lead, info.lead_id).customer_id == known.id
    assert session.get(Customer, known.id).telegram_id == "504"
    assert session.exec(select(Customer).where(Customer.telegram_id == "504")).all() == [session.get(Customer, known.id)]
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "merged")).first() is not None
    requests = chat_leads.customer_requests(session=session, namespace="telegram", chat_id=504)
    assert {r.number for r in requests} == {earlier.id, info.lead_id}


def test_someone_elses_telegram_account_with_the_same_phone_is_not_merged(session):
    other = make_customer(session, name="Брат", phone="+77015550022")
    other.telegram_id = "999"
    info = chat_leads.book_offer(session=session, person=_person(505), offer=_offer(),
                                 contact=chat_leads.ContactDetails(name="Данияр", phone="+77015550022"))
    assert info.customer_id != other.id


def test_a_bad_phone_or_name_is_refused_before_anything_is_written(session):
    with pytest.raises(ValidationFailed) as bad:
        chat_leads.book_offer(session=session, person=_person(506), offer=_offer(),
                              contact=chat_leads.ContactDetails(name="Данияр", phone="12345"))
    assert bad.value.field == "phone"
    assert session.get(BotChat, ("telegram", 506)) is None


def test_handoff_pauses_the_chat_and_hand_back_releases_it(session):
    person = _person(507)
    info = chat_leads.request_human(session=session, person=person, reason="complaint")
    lead = session.get(Lead, info.lead_id)
    assert info.paused and lead.needs_human
    assert messaging.is_paused(session=session, lead_id=lead.id)
    timeline = [i.text for i in conversations.timeline(session=session, lead_id=lead.id)]
    assert "Клиент в Telegram: жалоба — бот на паузе" in timeline
    assert messaging.hand_back(session=session, lead_id=lead.id, actor=MANAGER) == 1
    assert not chat_leads.chat_info(session=session, namespace="telegram", chat_id=507).paused
    assert not session.get(Lead, lead.id).needs_human
    assert "Диалог возвращён боту" in [i.text for i in conversations.timeline(session=session, lead_id=lead.id)]


def test_a_manager_reply_is_logged_and_queued_in_one_transaction(session):
    person = _person(508)
    info = chat_leads.record_inbound(session=session, person=person, message_id=1, text="Есть туры на май?")
    message = messaging.send_to_customer(session=session, lead_id=info.lead_id, text="Да, сейчас пришлю", actor=MANAGER)
    job = session.exec(select(OutboxJob).where(OutboxJob.idempotency_key == f"telegram.send:{message.id}")).one()
    assert job.kind == "telegram.send" and job.payload == {"message_id": message.id, "namespace": "telegram",
                                                           "chat_id": 508}
    assert (message.direction, message.author_type, message.delivery_status) == ("outbound", "manager", "queued")
    no_chat = make_lead(session, customer=make_customer(session, phone="+77019990000"))
    with pytest.raises(ValidationFailed) as refused:
        messaging.send_to_customer(session=session, lead_id=no_chat.id, text="Привет", actor=MANAGER)
    assert refused.value.code == "no_telegram_chat"
    chat_leads.mark_blocked(session=session, namespace="telegram", chat_id=508)
    with pytest.raises(ValidationFailed) as blocked:
        messaging.send_to_customer(session=session, lead_id=info.lead_id, text="Ау", actor=MANAGER)
    assert blocked.value.code == "telegram_blocked"


def test_bot_state_rows_are_upserted_and_deleted(session):
    now_rows = [{"namespace": "t", "kind": "chat", "name": "", "key": "1", "data": {"lang": "ru"},
                 "updated_at": dt.datetime.now(dt.UTC)},
                {"namespace": "t", "kind": "conversation", "name": "main", "key": "[1, 1]", "data": {"state": "dates"},
                 "updated_at": dt.datetime.now(dt.UTC)}]
    _write(session=session, upserts=now_rows, deletes=[])
    _write(session=session, upserts=[{**now_rows[0], "data": {"lang": "en", "draft": {"adults": 2}}}], deletes=[])
    assert [r.data for r in _rows(session=session, namespace="t", kind="chat")] == [{"lang": "en",
                                                                                     "draft": {"adults": 2}}]
    _write(session=session, upserts=[], deletes=[("t", "conversation", "main", "[1, 1]")])
    assert _rows(session=session, namespace="t", kind="conversation", name="main") == []
    assert session.get(BotState, ("t", "chat", "", "1")) is not None


def _timeline(session, lead_id: int) -> list[str]:
    return [i.text for i in conversations.timeline(session=session, lead_id=lead_id)]


def test_the_customer_going_back_to_the_bot_unflags_the_lead_unless_it_was_a_complaint(session):
    asked = chat_leads.request_human(session=session, person=_person(511), reason="button")
    info = chat_leads.resume_bot(session=session, namespace="telegram", chat_id=511)
    assert not info.paused and not session.get(Lead, asked.lead_id).needs_human
    assert "Клиент вернулся к боту — бот снова отвечает автоматически" in _timeline(session, asked.lead_id)

    complaint = chat_leads.request_human(session=session, person=_person(512), reason="complaint")
    assert not chat_leads.resume_bot(session=session, namespace="telegram", chat_id=512).paused
    assert session.get(Lead, complaint.lead_id).needs_human  # a complaint still waits for a manager


def test_an_idle_handoff_goes_back_to_the_bot_but_not_while_a_manager_is_writing(session):
    info = chat_leads.request_human(session=session, person=_person(513), reason="button")
    paused_at = session.get(BotChat, ("telegram", 513)).paused_at
    soon, later = paused_at + dt.timedelta(hours=3), paused_at + dt.timedelta(hours=5)
    assert chat_leads.resume_if_idle(session=session, namespace="telegram", chat_id=513, hours=4, now=soon).paused
    reply = messaging.send_to_customer(session=session, lead_id=info.lead_id, text="Смотрю варианты", actor=MANAGER)
    reply.created_at = paused_at + dt.timedelta(hours=2)
    session.add(reply)
    session.flush()
    # 5 h after the handoff but only 3 h after the manager's last message: the manager keeps the chat
    assert chat_leads.resume_if_idle(session=session, namespace="telegram", chat_id=513, hours=4, now=later).paused
    after = chat_leads.resume_if_idle(session=session, namespace="telegram", chat_id=513, hours=4,
                                      now=later + dt.timedelta(hours=2))
    assert not after.paused
    assert session.get(Lead, info.lead_id).needs_human  # nobody answered the customer's request: still flagged
    assert any("автоматически возвращён боту" in text for text in _timeline(session, info.lead_id))


def test_a_write_over_a_revision_another_process_made_is_reported(session):
    row = {"namespace": "t2", "kind": "chat", "name": "", "key": "7", "data": {"lang": "ru", "_rev": "a"},
           "updated_at": dt.datetime.now(dt.UTC)}
    assert _write(session=session, upserts=[row], deletes=[], expected={"7": None}) == []
    assert _write(session=session, upserts=[{**row, "data": {"lang": "en", "_rev": "b"}}], deletes=[],
                  expected={"7": "a"}) == []  # the revision this process wrote: no conflict
    # another process wrote "b" meanwhile; this one still expects "a"
    assert _write(session=session, upserts=[{**row, "data": {"lang": "ru", "_rev": "c"}}], deletes=[],
                  expected={"7": "a"}) == ["7"]
    assert session.get(BotState, ("t2", "chat", "", "7")).data == {"lang": "ru", "_rev": "c"}  # the newest answer
