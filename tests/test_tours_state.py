"""The tours panel's state, driven like the browser would: the form prefilled from the lead (defaults marked, a
tenge budget kept in tenge), the budget conversion notice, and a quote marked as sent from the quote list."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal

import pytest

import crystal_bay.crystal_bay  # noqa: F401  (registers every page and state)
from crystal_bay.db import session_scope
from crystal_bay.integrations import samo
from crystal_bay.models import Quote
from crystal_bay.services import conversations, quotes, tours, users
from crystal_bay.services.tour_catalog import Catalog, clear_memory
from crystal_bay.state.tours import ToursState, budget_notice, parse_search_form
from tests.factories import SYSTEM, make_lead
from tests.state_support import call_handler, state_instance

START = dt.date.today() + dt.timedelta(days=30)


_instance, _call = state_instance, call_handler



def _sandbox_search(request: tours.SearchRequest) -> tours.SearchResult:
    async def go():
        clear_memory()
        client = samo.get_client(samo.sandbox_settings(), demo=True)
        try:
            return await tours.search(request, client=client, catalog=Catalog(client))
        finally:
            await samo.close_clients()
    return asyncio.run(go())


def _panel(**lead_fields) -> ToursState:
    with session_scope() as session:
        user = users.create_user(session=session, email=f"tours-panel-{uuid.uuid4().hex[:12]}@crystalbay.kz",
                                 name="Алия", role="manager", password="panel-password", actor=SYSTEM)
        token = users.authenticate(session=session, email=user.email, password="panel-password", client_ip="t").token
        lead_id = make_lead(session, **lead_fields).id
    state = _instance(ToursState)
    state.auth_token = token
    state.lead_id = lead_id
    state._refresh()
    return state


@pytest.fixture()
def panel(app_db):
    return _panel(country="Вьетнам", date_from=START, date_to=START + dt.timedelta(days=6), nights_min=7,
                  nights_max=9, budget=Decimal(1_500_000), currency="KZT")


def test_the_form_is_prefilled_with_the_budget_in_its_currency_and_defaults_marked(panel):
    _call(panel, "prefill")
    assert (panel.tf["budget"], panel.tf["budget_currency"]) == ("1500000", "KZT")
    assert panel.tf["departure"] == "Алматы" and panel.tf["adults"] == "2"
    assert panel.tf_defaults == ["adults", "departure"]  # the customer named neither
    form = {f"ts_{k}": v for k, v in panel.tf.items()}
    request = parse_search_form(form)
    assert (request.budget, request.budget_in) == (1_500_000, "KZT")
    form["ts_departure"] = "Астана"  # the manager corrects one default; the other stays marked
    clear_memory()
    _call(panel, "search", form)
    assert panel.tf_defaults == ["adults"]
    assert panel.search_error == "" and panel.rows and all(r.price <= 2884 for r in panel.rows)
    assert "1\u00a0500\u00a0000\u00a0KZT ≈ 2\u00a0884\u00a0USD" in panel.search_notice


def test_the_converted_budget_is_explained_to_the_manager(panel):
    _call(panel, "prefill")
    request = parse_search_form({f"ts_{k}": v for k, v in panel.tf.items()})
    result = _sandbox_search(request)
    assert budget_notice(result, "ru") == ("Бюджет 1\u00a0500\u00a0000\u00a0KZT ≈ 2\u00a0884\u00a0USD по курсу "
                                           "туроператора (1 USD = 520 KZT).")
    same_currency = _sandbox_search(parse_search_form({**{f"ts_{k}": v for k, v in panel.tf.items()},
                                                       "ts_budget": "2884", "ts_budget_currency": "USD"}))
    assert budget_notice(same_currency, "ru") == ""


def test_a_quote_is_marked_sent_from_the_list(panel):
    offers = _sandbox_search(tours.SearchRequest(departure="Алматы", country="Вьетнам", date_from=START,
                                                 date_to=START + dt.timedelta(days=6))).offers[:2]
    with session_scope() as session:
        quote_id = quotes.create_quote(session=session, lead_id=panel.lead_id, offers=offers, actor=SYSTEM).id
    _call(panel, "prefill")
    row = panel.quotes_list[0]
    assert (row.status, row.status_text, row.sent, row.status_hint) == ("created", "создано", False,
                                                                       "Ещё не отправлено клиенту")
    assert row.link.endswith("/q/" + row.link.rsplit("/", 1)[-1]) and len(row.link.rsplit("/", 1)[-1]) >= 40
    _call(panel, "mark_quote_sent", quote_id)
    row = panel.quotes_list[0]
    assert (row.status, row.status_text, row.sent) == ("sent", "отправлено", True)
    assert row.status_hint.startswith("Отправлено клиенту ")
    with session_scope() as session:
        assert session.get(Quote, quote_id).sent_at is not None
        texts = [i.text for i in conversations.timeline(session=session, lead_id=panel.lead_id)]
    assert f"КП №{quote_id} отправлено клиенту" in texts


def test_a_quote_of_another_lead_is_not_touched(panel):
    other = _panel()
    offers = _sandbox_search(tours.SearchRequest(departure="Алматы", country="Вьетнам", date_from=START,
                                                 date_to=START + dt.timedelta(days=6))).offers[:1]
    with session_scope() as session:
        quote_id = quotes.create_quote(session=session, lead_id=other.lead_id, offers=offers, actor=SYSTEM).id
    _call(panel, "prefill")
    _call(panel, "mark_quote_sent", quote_id)
    with session_scope() as session:
        assert session.get(Quote, quote_id).sent_at is None
