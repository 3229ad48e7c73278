"""The board's and the lead page's states, driven as the browser would (on the app's SQLite database):
live refresh when a reminder comes due or someone else changes the lead, drops in the status view,
tag lookup as you type, one money format, readable phone and language."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from decimal import Decimal

import pytest
from reflex.istate.data import ReflexURL, RouterData

import crystal_bay.crystal_bay  # noqa: F401  (registers every page and state)
from crystal_bay.db import session_scope
from crystal_bay.models import utcnow
from crystal_bay.services import chat_leads, leads, pipeline, reminders, users
from crystal_bay.services.audit import Actor
from crystal_bay.state.board import BoardState
from crystal_bay.state.lead import LeadState
from tests.factories import SYSTEM, make_customer, make_lead
from tests.state_support import call_handler, state_instance

_instance, _call = state_instance, call_handler



def _open(cls, token: str, url: str):
    state = _instance(cls)
    state.auth_token = token
    state.router = RouterData(url=ReflexURL(url))
    _call(state, "load")
    assert state.access == "ok"
    return state


@pytest.fixture()
def manager(app_db):
    """A logged-in manager: (user id, session token). Names are unique so boards filtered by them are ours."""
    with session_scope() as session:
        user = users.create_user(session=session, email=f"board-{uuid.uuid4().hex[:12]}@crystalbay.kz",
                                 name="Алия Доскина", role="manager", password="board-password", actor=SYSTEM)
        token = users.authenticate(session=session, email=user.email, password="board-password", client_ip="t").token
        return user.id, token


def _lead(user_id: int | None = None, **kw) -> int:
    with session_scope() as session:
        name = kw.pop("customer_name", f"Клиент {uuid.uuid4().hex[:6]}")
        customer = make_customer(session, name=name, phone=kw.pop("phone", None))
        return make_lead(session, customer=customer, assignee_id=user_id, **kw).id


def _card(state, lead_id: int):
    return next((c for col in state.columns for c in col.cards if c.id == lead_id), None)


def test_a_reminder_coming_due_shows_on_an_open_board_without_reload(manager):
    user_id, token = manager
    lead_id = _lead(user_id)
    due_at = utcnow() + dt.timedelta(seconds=5)  # time enough to open the board before it comes due
    with session_scope() as session:
        reminders.set_reminder(session=session, lead_id=lead_id, due_at=due_at, text="Перезвонить клиенту",
                               actor=Actor(type="user", id=user_id, label="Алия"))
    board = _open(BoardState, token, "http://localhost:3000/?assignee=mine")
    card = _card(board, lead_id)
    assert card is not None and not card.overdue and card.today
    (item,) = [i for i in board.today if i.lead_id == lead_id]
    assert item.text == "Перезвонить клиенту" and not item.overdue

    _call(board, "poll")  # nothing changed yet: the board stays as it is
    assert not _card(board, lead_id).overdue
    time.sleep(max(0.0, (due_at - utcnow()).total_seconds()) + 0.3)
    _call(board, "poll")  # no row changed; the reminder came due
    assert _card(board, lead_id).overdue and not _card(board, lead_id).today
    assert [i.overdue for i in board.today if i.lead_id == lead_id] == [True]


def test_dropping_while_grouped_by_status_explains_and_moves_nothing(manager):
    user_id, token = manager
    lead_id = _lead(user_id)
    board = _open(BoardState, token, "http://localhost:3000/?assignee=mine&group=status")
    assert [c.key for c in board.columns] == ["new", "in_progress", "pending", "confirmed", "closed"]
    result = _call(board, "on_drop", {
        "source": {"lead_id": lead_id, "stage_id": _card(board, lead_id).stage_id},
        "dropTargets": [{}, {"kind": "stage", "stage_id": 0, "key": "in_progress"}, {}],
    })
    assert "По этапам" in str(result)  # a toast says where cards can be moved
    with session_scope() as session:
        assert leads.lead_detail(session=session, lead_id=lead_id).stage.slug == "new_request"


def test_drop_on_a_column_inside_scroll_areas_moves_the_card(manager):
    user_id, token = manager
    lead_id = _lead(user_id)
    board = _open(BoardState, token, "http://localhost:3000/?assignee=mine")
    consultation = next(c for c in board.columns if c.key == "consultation")
    _call(board, "on_drop", {  # the innermost target is the column's scroll area (no data), as in the browser
        "source": {"lead_id": lead_id, "stage_id": _card(board, lead_id).stage_id},
        "target": {}, "dropTargets": [{}, {"kind": "stage", "stage_id": consultation.stage_id, "key": "consultation"}],
    })
    assert _card(board, lead_id).stage_id == consultation.stage_id
    assert [c.id for c in next(c for c in board.columns if c.key == "consultation").cards] == [lead_id]


def test_tag_filter_looks_tags_up_as_typed(manager):
    user_id, token = manager
    rare_tag = f"Ясли-{uuid.uuid4().hex[:6]}"
    tagged, untagged = _lead(user_id), _lead(user_id)
    with session_scope() as session:
        for i in range(55):  # more popular tags than any fixed list of 50 would hold
            for lead_id in (tagged, untagged):
                leads.add_tag(session=session, lead_id=lead_id, name=f"Популярный {i:02d}", actor=SYSTEM)
        leads.add_tag(session=session, lead_id=tagged, name=rare_tag, actor=SYSTEM)
    board = _open(BoardState, token, "http://localhost:3000/?assignee=mine")
    _call(board, "type_tag", rare_tag[:6].lower())
    assert rare_tag in board.tag_matches and board.f_tag == ""  # suggested, not yet a filter
    assert {untagged, tagged} <= {c.id for col in board.columns for c in col.cards}
    _call(board, "type_tag", rare_tag)
    assert board.f_tag == rare_tag
    assert [c.id for col in board.columns for c in col.cards] == [tagged]
    _call(board, "type_tag", "")
    assert board.f_tag == "" and {untagged, tagged} <= {c.id for col in board.columns for c in col.cards}


def test_a_tag_from_the_url_shows_in_the_filter(manager):
    user_id, token = manager
    lead_id = _lead(user_id)
    with session_scope() as session:
        leads.add_tag(session=session, lead_id=lead_id, name="Редкий тег из ссылки", actor=SYSTEM)
    board = _open(BoardState, token, "http://localhost:3000/?assignee=mine&tag=Редкий+тег+из+ссылки")
    assert (board.f_tag, board.tag_query) == ("Редкий тег из ссылки", "Редкий тег из ссылки")
    assert [c.id for col in board.columns for c in col.cards] == [lead_id]


def test_cards_and_totals_use_the_same_money_format(manager):
    user_id, token = manager
    lead_id = _lead(user_id, budget=Decimal("1500000"), currency="KZT", score=82)
    _lead(user_id, budget=Decimal("2000"), currency="USD")
    board = _open(BoardState, token, "http://localhost:3000/?assignee=mine")
    card = _card(board, lead_id)
    assert card.budget == "1 500 000 ₸"
    assert next(c for c in board.columns if c.key == "new_request").totals == "1 500 000 ₸ · 2 000 $"
    assert (card.score, card.score_tone, card.href) == ("82", "green", f"/lead/{lead_id}")


def test_first_load_shows_twenty_cards_per_column_then_more(manager):
    user_id, token = manager
    for _ in range(23):
        _lead(user_id)
    board = _open(BoardState, token, "http://localhost:3000/?assignee=mine")
    new = next(c for c in board.columns if c.key == "new_request")
    assert (new.count, len(new.cards), new.has_more) == (23, 20, True)
    _call(board, "load_more", "new_request")
    new = next(c for c in board.columns if c.key == "new_request")
    assert (len(new.cards), new.has_more) == (23, False)


def test_lead_page_updates_live_and_reads_well(manager):
    user_id, token = manager
    lead_id = _lead(user_id, customer_name="Динара Ахметова", phone="+77011234567")
    page = _open(LeadState, token, f"http://localhost:3000/lead/{lead_id}")
    assert page.customer["phones_display"] == "+7 701 123 45 67"
    assert page.customer["language_name"] == "Русский"
    assert page.stage_name == "Новый запрос"
    key = page.form_key

    _call(page, "poll")
    assert page.form_key == key  # nothing changed: the forms keep what is being typed

    with session_scope() as session:  # the bot writes; a colleague moves the lead
        chat_leads.record_bot_message(session=session, lead_id=lead_id, text="Подобрал три отеля в Нячанге")
        stage = leads.get_stage(session=session, slug="consultation")
        pipeline.move_lead(session=session, lead_id=lead_id, stage_id=stage.id, actor=SYSTEM)
    _call(page, "poll")
    assert page.stage_name == "Консультация"
    assert any("Подобрал три отеля" in row.text for row in page.timeline)
    assert page.form_key == key  # the customer and travel forms showed the same values: not re-mounted


def test_lead_page_suggests_matching_tags_as_typed(manager):
    user_id, token = manager
    lead_id, other = _lead(user_id), _lead(user_id)
    with session_scope() as session:
        for i in range(55):
            leads.add_tag(session=session, lead_id=other, name=f"Частый {i:02d}", actor=SYSTEM)
        leads.add_tag(session=session, lead_id=other, name="Медовый месяц", actor=SYSTEM)
        leads.add_tag(session=session, lead_id=lead_id, name="Медовый вечер", actor=SYSTEM)
    page = _open(LeadState, token, f"http://localhost:3000/lead/{lead_id}")
    _call(page, "suggest_tags", "медо")
    assert page.tag_suggestions == ["Медовый месяц"]  # the lead's own tag is not offered again
