"""The lead board on SQLite and PostgreSQL: columns, sums, filters, search, paging, cards, live version."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from crystal_bay.models import Customer, Message, Reminder, utcnow
from crystal_bay.services import chat_leads, conversations, customers, leads, pipeline, reminders
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import ValidationFailed
from crystal_bay.services.leads import BoardFilters
from crystal_bay.settings import get_settings
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


def test_the_whole_board_is_read_in_four_statements(session):
    manager = make_user(session, name="Дмитрий Ковалёв")
    for i in range(60):
        lead = make_lead(session, assignee_id=manager.id if i % 2 else None, budget=Decimal(1000 + i), currency="USD")
        leads.add_tag(session=session, lead_id=lead.id, name=("VIP", "Семья с детьми", "Горящий тур")[i % 3],
                      actor=SYSTEM)
        if i % 3 == 0:
            _move(session, lead, ("consultation", "quote", "paid")[i % 9 // 3])
    session.flush()
    filters = BoardFilters(search="Айгерим")
    columns = leads.board_columns(session=session, filters=filters)
    statements = []
    conn = session.connection()

    def count(*_args):
        statements.append(_args[2])

    event.listen(conn, "before_cursor_execute", count)
    try:
        cards = leads.board_page(session=session, filters=filters, columns=columns, limits={"new_request": 100})
    finally:
        event.remove(conn, "before_cursor_execute", count)
    assert [len(cards[c.key]) for c in columns] == [c.count for c in columns] and sum(c.count for c in columns) == 60
    assert {key: len(v) for key, v in cards.items() if v} == {"new_request": 40, "consultation": 7, "quote": 7,
                                                               "paid": 6}
    assert all(card.tags for column in cards.values() for card in column)
    assert len(statements) <= 4, statements
    assert len(leads.board_page(session=session, filters=filters, columns=columns, page_size=5)["new_request"]) == 5


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


# ---------- reminders coming due, "today", the lead page's version, display formats ----------


def test_board_version_changes_when_a_reminder_comes_due_or_the_day_turns(session):
    noon = dt.datetime(2030, 5, 10, 7, 0, tzinfo=dt.UTC)  # midday in Almaty
    lead = make_lead(session)
    reminders.set_reminder(session=session, lead_id=lead.id, due_at=noon + dt.timedelta(hours=1), text="Позвонить",
                           actor=SYSTEM)
    before = leads.board_version(session=session, now=noon)
    assert leads.board_version(session=session, now=noon + dt.timedelta(minutes=59)) == before  # nothing came due
    due = leads.board_version(session=session, now=noon + dt.timedelta(minutes=61))  # no row changed, the time did
    assert due != before
    evening = leads.board_version(session=session, now=noon + dt.timedelta(hours=5))
    assert evening == due
    next_day = reminders.end_of_today(now=noon) + dt.timedelta(minutes=1)
    assert leads.board_version(session=session, now=next_day) != evening  # "today" means another day now


def test_today_is_until_midnight_in_the_agency_time_zone(session):
    tz = ZoneInfo(get_settings().timezone)
    now = utcnow()
    midnight = dt.datetime.combine(now.astimezone(tz).date() + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    assert reminders.end_of_today(now=now) == midnight
    # 20:30 UTC on the 10th is already 01:30 on the 11th in Almaty: that day ends at midnight of the 12th.
    assert reminders.end_of_today(now=dt.datetime(2030, 5, 10, 20, 30, tzinfo=dt.UTC)) == dt.datetime(
        2030, 5, 12, tzinfo=ZoneInfo("Asia/Almaty"))
    manager = make_user(session)
    lead = make_lead(session, customer_name="Динара Ахметова", assignee_id=manager.id)
    actor = Actor.for_user(manager)

    def remind(at, text):
        return reminders.set_reminder(session=session, lead_id=lead.id, due_at=at, text=text, actor=actor).id

    late = remind(now - dt.timedelta(days=3), "Просрочено давно")
    tonight = remind(midnight - dt.timedelta(minutes=1), "До полуночи")
    tomorrow = remind(midnight + dt.timedelta(minutes=1), "Завтра")
    shown = reminders.due_reminders(session=session, user_id=manager.id)
    assert [(r.reminder_id, r.overdue) for r in shown][:1] == [(late, True)]
    assert [r.reminder_id for r in shown] == [late, tonight]
    assert tomorrow not in [r.reminder_id for r in shown]


def test_card_says_today_when_the_next_reminder_is_later_today(session):
    now = utcnow()
    end = reminders.end_of_today(now=now)
    later_today, tomorrow, late = make_lead(session), make_lead(session), make_lead(session)
    for lead, at in ((later_today, now + (end - now) / 2), (tomorrow, end + dt.timedelta(hours=1)),
                     (late, now - dt.timedelta(minutes=5))):
        reminders.set_reminder(session=session, lead_id=lead.id, due_at=at, text="Перезвонить", actor=SYSTEM)
    cards = {c.id: c for c in leads.board_cards(session=session, filters=ALL)}
    assert (cards[later_today.id].due_today, cards[later_today.id].overdue) == (True, False)
    assert (cards[tomorrow.id].due_today, cards[tomorrow.id].overdue) == (False, False)
    assert (cards[late.id].due_today, cards[late.id].overdue) == (False, True)


def test_lead_version_follows_what_the_lead_page_shows(session):
    noon = dt.datetime(2030, 5, 10, 7, 0, tzinfo=dt.UTC)
    lead, other = make_lead(session), make_lead(session)
    seen = [leads.lead_version(session=session, lead_id=lead.id, now=noon)]

    def changed() -> bool:
        seen.append(leads.lead_version(session=session, lead_id=lead.id, now=noon))
        return seen[-1] != seen[-2]

    _move(session, other, "consultation")
    assert not changed()  # another lead
    chat_leads.record_bot_message(session=session, lead_id=lead.id, text="Подбираю варианты")  # does not touch it
    assert changed()
    _move(session, lead, "consultation")
    assert changed()
    customer = session.get(Customer, lead.customer_id)
    customers.update_customer(session=session, customer_id=customer.id, actor=SYSTEM, data=customers.CustomerUpdate(
        name="Айгерим Нурланова", phones=[customer.phone], email=None, telegram_username=None, whatsapp_id=None,
        language="ru"))
    assert changed()
    reminders.set_reminder(session=session, lead_id=lead.id, due_at=noon + dt.timedelta(hours=1), text="Позвонить",
                           actor=SYSTEM)
    assert changed()
    assert leads.lead_version(session=session, lead_id=lead.id, now=noon + dt.timedelta(hours=2)) != seen[-1]
    assert leads.lead_version(session=session, lead_id=999_999) == "missing"


def test_money_has_one_format_on_cards_and_in_totals(session):
    assert leads.format_money(Decimal("3400000"), "KZT") == "3 400 000 ₸"
    assert leads.format_money("2 500", "USD") == "2 500 $"
    assert leads.format_money(Decimal("99.50"), None) == "100"
    assert leads.format_money(None, "USD") == ""
    make_lead(session, budget=Decimal("1000"), currency="USD")
    make_lead(session, budget=Decimal("3400000"), currency="KZT")
    column = _columns(session)["new_request"]
    assert leads.format_totals(column.totals) == "3 400 000 ₸ · 1 000 $"
    card = leads.board_cards(session=session, filters=ALL)[0]
    assert leads.format_money(card.budget, card.currency) == "3 400 000 ₸"


@pytest.mark.parametrize(("stored", "shown"), [
    ("+77011234567", "+7 701 123 45 67"), ("+79161234567", "+7 916 123 45 67"),
    ("+996555123456", "+996 555 123 456"), ("не номер", "не номер"), (None, ""),
])
def test_phones_are_shown_grouped(stored, shown):
    assert leads.display_phone(stored) == shown


def test_tag_lookup_finds_a_rare_tag_beyond_the_first_fifty(session):
    lead = make_lead(session)
    for i in range(60):
        leads.add_tag(session=session, lead_id=lead.id, name=f"Тег {i:02d}", actor=SYSTEM)
    leads.add_tag(session=session, lead_id=make_lead(session).id, name="Тег 00", actor=SYSTEM)  # the most used
    rare = make_lead(session)
    leads.add_tag(session=session, lead_id=rare.id, name="Ясли", actor=SYSTEM)
    assert "Ясли" not in leads.tag_suggestions(session=session, prefix="", limit=50)
    assert leads.tag_suggestions(session=session, prefix="яс", limit=20) == ["Ясли"]
    assert leads.tag_suggestions(session=session, prefix="Тег", limit=3)[0] == "Тег 00"
