"""The lead board on SQLite and PostgreSQL: columns, sums, filters, search, paging, cards, live version."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import event

from crystal_bay.models import Customer, Message, Reminder, utcnow
from crystal_bay.services import conversations, customers, leads, pipeline
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import ValidationFailed
from crystal_bay.services.leads import BoardFilters
from tests.factories import SYSTEM, make_customer, make_lead, make_user

ALL = BoardFilters()


def _stage(session, slug):
    return leads.get_stage(session=session, slug=slug)


def _columns(session, filters=ALL, group_by="stage"):
    return {c.key: c for c in leads.board_columns(session=session, filters=filters, group_by=group_by)}


def _ids(session, filters=ALL, **kw):
    return [c.id for c in leads.board_cards(session=session, filters=filters, **kw)]


def _move(session, lead, slug):
    return pipeline.move_lead(session=session, lead_id=lead.id, stage_id=_stage(session, slug).id, actor=SYSTEM)


def test_columns_count_leads_and_sum_budgets_per_currency(session):
    make_lead(session, budget=Decimal("1000"), currency="USD")
    make_lead(session, budget=Decimal("1500.40"), currency="USD")
    make_lead(session, budget=Decimal("3400000"), currency="KZT")
    make_lead(session)  # no budget: counted, not summed
    _move(session, make_lead(session, budget=Decimal("700"), currency="USD"), "consultation")
    cols = leads.board_columns(session=session, filters=ALL)
    assert [c.title_ru for c in cols][:2] == ["Новый запрос", "Консультация"] and len(cols) == 9
    by_key = {c.key: c for c in cols}
    assert by_key["new_request"].count == 4
    assert by_key["new_request"].totals == {"USD": "2500", "KZT": "3400000"}
    assert by_key["new_request"].stage_id == _stage(session, "new_request").id
    assert (by_key["consultation"].count, by_key["consultation"].totals) == (1, {"USD": "700"})
    assert (by_key["quote"].count, by_key["quote"].totals) == (0, {})


def test_lost_leads_are_hidden_unless_asked_for(session):
    kept = make_lead(session, budget=Decimal("100"), currency="USD")
    lost = make_lead(session, budget=Decimal("900"), currency="USD")
    pipeline.mark_lost(session=session, lead_id=lost.id, reason="Дорого", actor=SYSTEM)
    assert _columns(session)["new_request"].count == 1
    assert _columns(session)["new_request"].totals == {"USD": "100"}
    assert _ids(session) == [kept.id]
    with_lost = BoardFilters(include_lost=True)
    assert _columns(session, with_lost)["new_request"].count == 2
    cards = leads.board_cards(session=session, filters=with_lost)
    assert [(c.id, c.outcome) for c in cards] == [(lost.id, "lost"), (kept.id, None)]


def test_grouped_by_status_category(session):
    make_lead(session)
    _move(session, make_lead(session), "consultation")
    _move(session, make_lead(session), "tour_selection")
    lost = make_lead(session)
    pipeline.mark_lost(session=session, lead_id=lost.id, reason="Дорого", actor=SYSTEM)
    cols = leads.board_columns(session=session, filters=ALL, group_by="status")
    assert [(c.key, c.title_ru, c.title_en) for c in cols] == [
        ("new", "Новые", "New"), ("in_progress", "В работе", "In progress"), ("pending", "Ожидание", "Pending"),
        ("confirmed", "Подтверждено", "Confirmed"), ("closed", "Закрыто", "Closed"),
    ]
    assert [c.count for c in cols] == [1, 2, 0, 0, 0]
    assert all(c.stage_id is None for c in cols)
    assert _columns(session, BoardFilters(include_lost=True), "status")["closed"].count == 1
    assert len(_ids(session, status="in_progress")) == 2
    assert _ids(session, BoardFilters(include_lost=True), status="closed") == [lost.id]
    with pytest.raises(ValidationFailed):
        leads.board_columns(session=session, filters=ALL, group_by="colour")


def test_assignee_filters(session):
    me, other = make_user(session), make_user(session)
    mine = make_lead(session, assignee_id=me.id)
    theirs = make_lead(session, assignee_id=other.id)
    nobody = make_lead(session)
    assert _ids(session, BoardFilters(assignee="mine", me_id=me.id)) == [mine.id]
    assert _ids(session, BoardFilters(assignee="unassigned")) == [nobody.id]
    assert _ids(session, BoardFilters(assignee=str(other.id))) == [theirs.id]
    assert _columns(session, BoardFilters(assignee="mine", me_id=me.id))["new_request"].count == 1
    # nonsense from a hand-edited URL shows an empty board rather than an error
    assert _ids(session, BoardFilters(assignee="mine")) == []
    assert _ids(session, BoardFilters(assignee="bogus")) == []


def test_channel_tag_and_status_filters(session):
    tg = make_lead(session, source="telegram")
    wa = make_lead(session, source="whatsapp")
    _move(session, wa, "quote")
    leads.add_tag(session=session, lead_id=tg.id, name="VIP", actor=SYSTEM)
    assert _ids(session, BoardFilters(channel="whatsapp")) == [wa.id]
    assert _ids(session, BoardFilters(tag="VIP")) == [tg.id]
    assert _ids(session, BoardFilters(tag="Горящий тур")) == []
    assert _ids(session, BoardFilters(status="pending")) == [wa.id]
    assert _columns(session, BoardFilters(channel="telegram"))["quote"].count == 0


def test_created_range_is_inclusive_in_agency_days(session):
    def at(day, hour):
        return dt.datetime(2027, 3, day, hour, tzinfo=dt.UTC)

    before = make_lead(session, created_at=at(9, 12))
    first = make_lead(session, created_at=at(10, 12))
    last = make_lead(session, created_at=at(12, 12))
    after = make_lead(session, created_at=at(13, 12))
    ids = _ids(session, BoardFilters(created_from=dt.date(2027, 3, 10), created_to=dt.date(2027, 3, 12)))
    assert sorted(ids) == [first.id, last.id]
    assert set(_ids(session, BoardFilters(created_from=dt.date(2027, 3, 12)))) == {last.id, after.id}
    assert set(_ids(session, BoardFilters(created_to=dt.date(2027, 3, 9)))) == {before.id}


def test_overdue_filter_and_flag(session):
    now = utcnow()
    late_follow_up = make_lead(session, next_follow_up_at=now - dt.timedelta(hours=1))
    late_reminder = make_lead(session)
    session.add(Reminder(lead_id=late_reminder.id, due_at=now - dt.timedelta(minutes=5), text="Перезвонить"))
    future = make_lead(session, next_follow_up_at=now + dt.timedelta(days=1))
    done = make_lead(session)
    session.add(Reminder(lead_id=done.id, due_at=now - dt.timedelta(days=1), text="Старое", done_at=now))
    session.flush()
    assert set(_ids(session, BoardFilters(overdue_only=True))) == {late_follow_up.id, late_reminder.id}
    flags = {c.id: c.overdue for c in leads.board_cards(session=session, filters=ALL)}
    assert flags == {late_follow_up.id: True, late_reminder.id: True, future.id: False, done.id: False}


@pytest.fixture()
def searchable(session):
    aigerim = make_lead(session, customer=make_customer(session, name="Айгерим Садыкова", phone="+77011234567",
                                                        email="aigerim.s@example.com"))
    ivan = make_lead(session, customer=make_customer(session, name="Иван Петров", phone="+77779876543",
                                                     email="ivan@example.org"))
    session.add(Message(lead_id=ivan.id, channel="telegram", direction="inbound", author_type="customer",
                        body="Хотим на Фукуок в марте, бюджет 3000$"))
    other = make_lead(session, customer=make_customer(session, name="Olga 50%_off", phone=None))
    session.flush()
    return aigerim, ivan, other


@pytest.mark.parametrize(
    ("term", "who"),
    [
        ("айгерим", "aigerim"), ("САДЫКОВА", "aigerim"), ("Садык", "aigerim"), ("айгерим садыкова", "aigerim"),
        ("7011234", "aigerim"), ("8 701 123 45 67", "aigerim"), ("+7 (701) 123", "aigerim"),
        ("AIGERIM.S@", "aigerim"), ("example.org", "ivan"),
        ("фукуок", "ivan"), ("В МАРТЕ", "ivan"), ("иван", "ivan"),
        ("50%", "other"), ("%", "other"), ("_off", "other"),
    ],
)
def test_search_finds_customers_by_name_phone_email_and_message(session, searchable, term, who):
    aigerim, ivan, other = searchable
    expected = {"aigerim": aigerim, "ivan": ivan, "other": other}[who]
    filters = BoardFilters(search=term)
    assert _ids(session, filters) == [expected.id]
    assert _columns(session, filters)["new_request"].count == 1


def test_search_with_no_match_shows_nothing(session, searchable):
    assert _ids(session, BoardFilters(search="Мальдивы")) == []
    assert _ids(session, BoardFilters(search="   ")) != []  # blank search is no search


def test_paging_walks_a_column_without_duplicates(session):
    made = [make_lead(session).id for _ in range(7)]
    pages = [_ids(session, offset=offset, limit=3) for offset in (0, 3, 6)]
    assert [len(p) for p in pages] == [3, 3, 1]
    seen = [i for page in pages for i in page]
    assert seen == list(reversed(made))  # newest activity first
    # touching an old lead brings it to the top
    leads.add_tag(session=session, lead_id=made[0], name="VIP", actor=SYSTEM)
    assert _ids(session, limit=1) == [made[0]]
    assert len(_ids(session, limit=0)) == 1 and len(_ids(session, limit=10_000)) == 7


def test_card_shows_what_the_manager_needs(session):
    anna = make_user(session, name="Анна Смирнова")
    lead = make_lead(
        session, customer_name="Динара Ахметова", source="whatsapp", resort="Нячанг", country="Вьетнам",
        date_from=dt.date(2027, 3, 10), date_to=dt.date(2027, 3, 20), adults=2, children=1, children_ages=[5],
        budget=Decimal("3000"), currency="USD", score=82, assignee_id=anna.id, needs_human=True,
    )
    for tag in ("Семья с детьми", "VIP", "Горящий тур"):
        leads.add_tag(session=session, lead_id=lead.id, name=tag, actor=SYSTEM)
    (card,) = leads.board_cards(session=session, filters=ALL, stage_id=lead.stage_id)
    assert (card.customer_name, card.channel, card.destination, card.dates) == (
        "Динара Ахметова", "whatsapp", "Нячанг, Вьетнам", "10.03–20.03.2027")
    assert (card.travellers, card.budget, card.currency, card.score) == ("2+1", "3 000", "USD", 82)
    assert (card.assignee_id, card.assignee_initials) == (anna.id, "АС")
    assert card.tags == ["VIP", "Горящий тур", "Семья с детьми"]
    assert card.needs_human and not card.overdue and card.status == "new"
    assert card.last_customer_message_at is None and card.updated_at == lead.updated_at


def test_card_of_an_empty_lead_has_blank_fields(session):
    lead = make_lead(session, country="Турция", date_from=dt.date(2026, 12, 28), date_to=dt.date(2027, 1, 5))
    (card,) = leads.board_cards(session=session, filters=ALL)
    assert (card.destination, card.dates, card.travellers, card.budget, card.assignee_initials, card.tags) == (
        "Турция", "28.12.2026–05.01.2027", "", "", "", [])
    assert card.id == lead.id


def test_board_cards_use_two_queries_for_sixty_tagged_leads(session):
    manager = make_user(session, name="Дмитрий Ковалёв")
    for i in range(60):
        lead = make_lead(session, assignee_id=manager.id if i % 2 else None, budget=Decimal(1000 + i), currency="USD")
        leads.add_tag(session=session, lead_id=lead.id, name=("VIP", "Семья с детьми", "Горящий тур")[i % 3],
                      actor=SYSTEM)
    session.flush()
    statements = []
    conn = session.connection()

    def count(*_args):
        statements.append(_args[2])

    event.listen(conn, "before_cursor_execute", count)
    try:
        cards = leads.board_cards(session=session, filters=BoardFilters(search="Айгерим"), limit=100)
    finally:
        event.remove(conn, "before_cursor_execute", count)
    assert len(cards) == 60 and all(c.tags for c in cards)
    assert len(statements) <= 3, statements


def test_board_version_changes_with_every_change(session):
    lead = make_lead(session)
    manager = make_user(session)
    versions = [leads.board_version(session=session)]
    _move(session, lead, "consultation")
    versions.append(leads.board_version(session=session))
    leads.assign_lead(session=session, lead_id=lead.id, assignee_id=manager.id, actor=SYSTEM)
    versions.append(leads.board_version(session=session))
    make_lead(session)
    versions.append(leads.board_version(session=session))
    conversations.add_note(session=session, lead_id=lead.id, text="Перезвонить вечером", actor=SYSTEM)
    versions.append(leads.board_version(session=session))
    customer = session.get(Customer, lead.customer_id)
    renamed = customers.CustomerUpdate(name="Айгерим Нурланова", phones=[customer.phone], email=None,
                                       telegram_username=None, whatsapp_id=None, language="ru")
    customers.update_customer(session=session, customer_id=customer.id, data=renamed, actor=Actor.system())
    versions.append(leads.board_version(session=session))
    assert len(set(versions)) == len(versions)
    assert leads.board_version(session=session) == versions[-1]  # reading changes nothing
