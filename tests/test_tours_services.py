"""Tour search, the dictionary cache, quotes (snapshot, public link, choice), bookings and price re-checks,
on SQLite and PostgreSQL, against the sandbox in-process."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from dataclasses import replace
from decimal import Decimal
from html import escape

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import select

from crystal_bay.integrations.samo import SamoClient, SamoSettings
from crystal_bay.models import (
    AuditEvent,
    Booking,
    Lead,
    Message,
    OutboxJob,
    Payment,
    PipelineStage,
    Quote,
    QuoteDocument,
    SamoDictionary,
    TourOffer,
    Traveller,
)
from crystal_bay.sandbox import samo as sandbox
from crystal_bay.services import bookings, conversations, quotes, tours
from crystal_bay.services.errors import NotFound, PipelineError, ValidationFailed
from crystal_bay.services.tour_catalog import Catalog, clear_memory, refresh_dictionaries
from tests.factories import SYSTEM, count, make_lead, make_user

TODAY = dt.date.today()
START = TODAY + dt.timedelta(days=40)


@pytest.fixture(scope="module")
def app():
    return sandbox.create_app(token=sandbox.DEFAULT_TOKEN)


@pytest.fixture()
def samo_app(app):
    sandbox.reset(app)
    clear_memory()
    yield app
    sandbox.reset(app)
    clear_memory()


def _client(app) -> SamoClient:
    config = SamoSettings(api_url="http://samo-sandbox/export/default.php",
                          oauth_token=SecretStr(sandbox.DEFAULT_TOKEN), min_interval_s=0)
    return SamoClient(config, transport=httpx.ASGITransport(app=app), demo=True)


def _factory(session):
    return lambda: contextlib.nullcontext(session)


def _request(**kw) -> tours.SearchRequest:
    base = dict(departure="Алматы", country="Вьетнам", date_from=START, date_to=START + dt.timedelta(days=6),
                nights_min=7, nights_max=9, adults=2)
    return tours.SearchRequest(**{**base, **kw})


def _search(app, session, request, page=1):
    async def go():
        client = _client(app)
        try:
            return await tours.search(request, client=client, catalog=Catalog(client, session_factory=_factory(session)),
                                      page=page)
        finally:
            await client.aclose()
    return asyncio.run(go())


def _stage(session, lead_id) -> str:
    return session.get(PipelineStage, session.get(Lead, lead_id).stage_id).slug


# ---------- search and the dictionary cache ----------


def test_search_filters_and_offers(session, samo_app):
    result = _search(samo_app, session, _request(resorts=("Нячанг",), stars_min=4, meals=("AI", "HB"),
                                                 children_ages=(5,), budget=Decimal(4000)))
    assert result.demo and result.offers
    for offer in result.offers:
        assert offer.resort == "Нячанг" and offer.stars >= 4 and offer.meal in ("AI", "HB")
        assert START <= offer.date_from <= START + dt.timedelta(days=6) and 7 <= offer.nights <= 9
        assert offer.price <= 4000 and offer.children_ages == (5,) and offer.country == "Вьетнам"
        assert offer.price_per_person == (offer.price / 3).quantize(Decimal(1))
    prices = [o.price for o in result.offers]
    assert prices == sorted(prices)


def test_a_warm_search_costs_one_prices_call_and_the_cache_lives_in_the_database(session, samo_app):
    _search(samo_app, session, _request(stars_min=4))
    cold_calls = sum(samo_app.state.calls.values())
    assert cold_calls >= 4 and samo_app.state.calls["SearchTour_PRICES"] == 1
    samo_app.state.calls.clear()
    _search(samo_app, session, _request(stars_min=3, date_to=START + dt.timedelta(days=3)))
    assert dict(samo_app.state.calls) == {"SearchTour_PRICES": 1}
    clear_memory()  # a new process: only the database remembers
    samo_app.state.calls.clear()
    _search(samo_app, session, _request())
    assert dict(samo_app.state.calls) == {"SearchTour_PRICES": 1}
    rows = session.exec(select(SamoDictionary).where(SamoDictionary.source == "sandbox")).all()
    assert {"townfroms", "states", "currencies"} <= {r.kind for r in rows}


def test_refresh_dictionaries_stores_every_dictionary(session, samo_app):
    async def go():
        client = _client(samo_app)
        try:
            return await refresh_dictionaries(client, session_factory=_factory(session))
        finally:
            await client.aclose()

    counts = asyncio.run(go())
    assert counts["townfroms"] == 3 and counts["hotels"] >= 300 and counts["resorts"] > 10
    assert session.exec(select(SamoDictionary).where(SamoDictionary.kind == "hotels")).first() is not None


def test_unknown_names_are_refused_with_the_field(session, samo_app):
    with pytest.raises(ValidationFailed) as info:
        _search(samo_app, session, _request(country="Атлантида"))
    assert info.value.field == "country" and "Вьетнам" in info.value.message
    with pytest.raises(ValidationFailed) as info:
        _search(samo_app, session, _request(resorts=("Бали",)))
    assert info.value.code == "unknown_resort"


@pytest.mark.parametrize(("changes", "field"), [
    ({"date_to": START - dt.timedelta(days=1)}, "date_to"),
    ({"date_from": TODAY - dt.timedelta(days=1), "date_to": TODAY}, "date_from"),
    ({"nights_min": 10, "nights_max": 7}, "nights_max"),
    ({"adults": 0}, "adults"),
    ({"children_ages": (5, 18)}, "children_ages"),
])
def test_bad_requests_name_the_field(changes, field):
    with pytest.raises(ValidationFailed) as info:
        tours.validate(_request(**changes))
    assert info.value.field == field


def test_the_request_is_prefilled_from_the_lead(session):
    lead = make_lead(session, departure_city="Шымкент", country="Турция", resort="Кемер, Белек", date_from=START,
                     date_to=START + dt.timedelta(days=10), nights_min=7, nights_max=10, adults=2, children=1,
                     children_ages=[6], hotel_stars=4, meal="AI", budget=Decimal(3000), currency="USD")
    request = tours.request_from_lead(lead)
    assert (request.departure, request.country, request.resorts) == ("Шымкент", "Турция", ("Кемер", "Белек"))
    assert (request.nights_min, request.nights_max, request.children_ages) == (7, 10, (6,))
    assert request.stars_min == 4 and request.meals == ("AI",) and request.budget == 3000
    assert request.budget_in == "USD" and request.defaults == frozenset()
    empty = tours.request_from_lead(make_lead(session))
    assert empty.departure == "Алматы" and empty.date_from > TODAY and empty.adults == 2
    # what the customer did not say is filled in, and the panel is told which fields those are
    assert empty.defaults == {"departure", "country", "adults", "date_from", "date_to", "nights_min", "nights_max"}
    partial = tours.request_from_lead(make_lead(session, country="Турция", date_from=START,
                                                date_to=START + dt.timedelta(days=9), budget=Decimal(400000)))
    assert partial.defaults == {"departure", "adults", "budget_currency"}  # nights come from the trip's dates
    assert partial.budget == 400000 and partial.budget_in == "USD"


def test_a_budget_in_tenge_is_kept_and_converted_at_the_operators_rate(session, samo_app):
    lead = make_lead(session, country="Вьетнам", date_from=START, date_to=START + dt.timedelta(days=6),
                     nights_min=7, nights_max=9, adults=2, budget=Decimal(1_500_000), currency="KZT")
    request = tours.request_from_lead(lead)
    assert (request.budget, request.budget_in, request.currency) == (1_500_000, "KZT", "USD")
    result = _search(samo_app, session, request)
    # the sandbox's rate is 520 KZT per USD: 1 500 000 KZT is a ceiling of 2 884 USD
    assert result.budget_rate == 520 and result.budget_limit == 2884
    rates = [r["params"] for r in samo_app.state.requests if r["params"].get("action") == "Currency_RATES"]
    assert [(p["CURRENCY"], p["CURRENCYBASE"]) for p in rates] == [("1", "3")]
    prices = [r["params"] for r in samo_app.state.requests if r["params"].get("action") == "SearchTour_PRICES"]
    assert prices[-1]["COSTMAX"] == "2884"
    assert result.offers and all(o.price <= 2884 and o.currency == "USD" for o in result.offers)
    in_usd = _search(samo_app, session, replace(request, budget=Decimal(2884), budget_currency="USD"))
    assert [o.key for o in in_usd.offers] == [o.key for o in result.offers]
    samo_app.state.calls.clear()  # the rate is cached with the dictionaries: a warm search is one call again
    _search(samo_app, session, request)
    assert dict(samo_app.state.calls) == {"SearchTour_PRICES": 1}


def test_a_budget_currency_the_operator_has_no_rate_for_is_refused_not_dropped(session, samo_app):
    with pytest.raises(ValidationFailed) as info:
        _search(samo_app, session, _request(budget=Decimal(20000), budget_currency="CNY"))
    assert (info.value.code, info.value.field) == ("no_rate", "budget_currency")
    assert samo_app.state.calls["SearchTour_PRICES"] == 0


# ---------- quotes ----------


def _offers(session, app, n=2):
    return _search(app, session, _request(children_ages=(5,))).offers[:n]


def _quote(session, app, lead=None, n=2, **kw):
    lead = lead or make_lead(session)
    manager = make_user(session, name="Анна Смирнова")
    offers = _offers(session, app, n)
    quote = quotes.create_quote(session=session, lead_id=lead.id, offers=offers, actor=SYSTEM, manager=manager,
                                details={offers[0].hotel_id: {"description": "У моря", "images": ["/x.svg"]}}, **kw)
    return lead, quote, offers


def test_a_quote_keeps_a_snapshot_of_each_offer_and_moves_the_lead(session, samo_app):
    lead, quote, offers = _quote(session, samo_app)
    stored = quotes.quote_offers(session=session, quote_id=quote.id)
    assert [o.price for o in stored] == [o.price for o in offers] and all(o.lead_id == lead.id for o in stored)
    assert stored[0].raw["cb_ages"] == [5] and stored[0].raw["cb_details"]["description"] == "У моря"
    assert stored[0].raw["hotelKey"] == offers[0].hotel_id
    assert len(quote.token) >= 40 and quote.expires_at > quote.created_at
    assert _stage(session, lead.id) == "quote"
    samo_app.state.price_factor[offers[0].hotel_id] = 1.2  # the operator raises the price: the snapshot stays
    assert quotes.quote_offers(session=session, quote_id=quote.id)[0].price == offers[0].price
    timeline = [i.text for i in conversations.timeline(session=session, lead_id=lead.id)]
    assert f"Создано КП №{quote.id}: вариантов 2" in timeline
    document = session.get(QuoteDocument, quote.id)
    assert document.manager["name"] == "Анна Смирнова" and document.language == "ru"


def test_a_quote_never_moves_a_lead_backwards_and_refuses_a_lost_lead(session, samo_app):
    lead = make_lead(session)
    paid = session.exec(select(PipelineStage).where(PipelineStage.slug == "paid")).one()
    from crystal_bay.services import pipeline

    pipeline.move_lead(session=session, lead_id=lead.id, stage_id=paid.id, actor=SYSTEM)
    _quote(session, samo_app, lead=lead)
    assert _stage(session, lead.id) == "paid"
    pipeline.mark_lost(session=session, lead_id=lead.id, reason="дорого", actor=SYSTEM)
    with pytest.raises(PipelineError):
        _quote(session, samo_app, lead=lead)


def test_the_public_link_counts_views_and_logs_the_first(session, samo_app):
    lead, quote, _ = _quote(session, samo_app)
    before = session.get(Lead, lead.id).updated_at
    view = quotes.record_view(session=session, token=quote.token)
    quotes.record_view(session=session, token=quote.token)
    assert view.quote.viewed_at is not None and session.get(QuoteDocument, quote.id).view_count == 2
    assert session.get(Quote, quote.id).status == "viewed" and session.get(Lead, lead.id).updated_at > before
    events = [i.text for i in conversations.timeline(session=session, lead_id=lead.id)]
    assert events.count(f"Клиент открыл подборку №{quote.id}") == 1


def test_an_expired_or_revoked_link_refuses_and_an_unknown_one_is_not_found(session, samo_app):
    _, quote, _ = _quote(session, samo_app)
    quote.expires_at = quote.created_at - dt.timedelta(seconds=1)
    session.add(quote)
    with pytest.raises(ValidationFailed) as info:
        quotes.record_view(session=session, token=quote.token)
    assert info.value.code == "quote_link_expired" and quotes.link_state(quote) == "expired"
    _, other, _ = _quote(session, samo_app)
    quotes.revoke_quote(session=session, quote_id=other.id, actor=SYSTEM)
    with pytest.raises(ValidationFailed) as info:
        quotes.choose_offer(session=session, token=other.token, offer_id=1)
    assert info.value.code == "quote_link_revoked"
    with pytest.raises(NotFound):
        quotes.record_view(session=session, token="x" * 43)


def test_the_customer_chooses_an_offer_and_it_lands_on_the_lead(session, samo_app):
    lead, quote, _ = _quote(session, samo_app)
    offer = quotes.quote_offers(session=session, quote_id=quote.id)[1]
    before = session.get(Lead, lead.id).updated_at
    quotes.choose_offer(session=session, token=quote.token, offer_id=offer.id, comment="Хотим этот")
    quotes.choose_offer(session=session, token=quote.token, offer_id=offer.id)  # a double tap
    lead_now = session.get(Lead, lead.id)
    assert lead_now.needs_human and lead_now.updated_at > before and lead_now.last_customer_message_at
    messages = session.exec(select(Message).where(Message.lead_id == lead.id)).all()
    assert len(messages) == 1 and messages[0].direction == "inbound" and messages[0].author_type == "customer"
    assert offer.hotel in messages[0].body and "Хотим этот" in messages[0].body
    assert session.get(Quote, quote.id).chosen_offer_id == offer.id
    _, foreign, _ = _quote(session, samo_app)
    with pytest.raises(NotFound):
        quotes.choose_offer(session=session, token=foreign.token, offer_id=offer.id)


def test_marking_a_quote_sent_goes_on_the_timeline_and_the_status_follows_the_customer(session, samo_app):
    lead, quote, _ = _quote(session, samo_app)
    assert quotes.quote_status(quote) == "created" and quote.sent_at is None
    quotes.mark_sent(session=session, quote_id=quote.id, actor=SYSTEM)
    quotes.mark_sent(session=session, quote_id=quote.id, actor=SYSTEM)  # a second press changes nothing
    assert quotes.quote_status(session.get(Quote, quote.id)) == "sent"
    timeline = [i.text for i in conversations.timeline(session=session, lead_id=lead.id)]
    assert timeline.count(f"КП №{quote.id} отправлено клиенту") == 1
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "quote_sent")).all()
    assert [(e.entity_id, e.data["quote_id"]) for e in events] == [(lead.id, quote.id)]
    quotes.record_view(session=session, token=quote.token)
    assert quotes.quote_status(session.get(Quote, quote.id)) == "viewed"
    offer = quotes.quote_offers(session=session, quote_id=quote.id)[0]
    quotes.choose_offer(session=session, token=quote.token, offer_id=offer.id)
    assert quotes.quote_status(session.get(Quote, quote.id)) == "chosen"
    _, other, _ = _quote(session, samo_app)
    quotes.revoke_quote(session=session, quote_id=other.id, actor=SYSTEM)
    with pytest.raises(ValidationFailed) as info:
        quotes.mark_sent(session=session, quote_id=other.id, actor=SYSTEM)
    assert info.value.code == "quote_link_revoked" and session.get(Quote, other.id).sent_at is None
    assert quotes.quote_status(session.get(Quote, other.id)) == "revoked"


def test_the_customer_asks_a_question(session, samo_app):
    lead, quote, _ = _quote(session, samo_app)
    with pytest.raises(ValidationFailed):
        quotes.ask_question(session=session, token=quote.token, text="  ")
    quotes.ask_question(session=session, token=quote.token, text="Есть ли детский клуб?")
    body = session.exec(select(Message.body).where(Message.lead_id == lead.id)).one()
    assert "Есть ли детский клуб?" in body and session.get(Lead, lead.id).needs_human


def test_the_pdf_and_the_email_render_in_russian(session, samo_app):
    from crystal_bay.services import quote_render

    _, quote, offers = _quote(session, samo_app, demo=True)
    view = quotes.quote_view(session=session, quote_id=quote.id)
    pdf = quote_render.render_pdf(view, public_url="https://crm.example.kz/q/" + quote.token)
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
    html = quote_render.render_email_html(view, public_url="https://crm.example.kz/q/" + quote.token)
    assert "Коммерческое предложение" in html and escape(offers[0].hotel) in html and "ДЕМО" in html


# ---------- price re-check ----------


def _recheck(app, offer):
    async def go():
        client = _client(app)
        try:
            return await tours.recheck(offer, client=client)
        finally:
            await client.aclose()
    return asyncio.run(go())


def test_recheck_same_changed_and_lost(session, samo_app):
    offer = _offers(session, samo_app, 1)[0]
    same = _recheck(samo_app, offer)
    assert not same.changed and same.new_price == offer.price
    sent = samo_app.state.requests[-1]["params"]
    assert sent["HOTELS"] == str(offer.hotel_id) and sent["CHECKIN_BEG"] == sent["CHECKIN_END"]
    assert sent["NIGHTS_FROM"] == sent["NIGHTS_TILL"] == str(offer.nights) and sent["AGES"] == "5"
    samo_app.state.price_factor[offer.hotel_id] = 1.1
    changed = _recheck(samo_app, offer)
    assert changed.changed and changed.price_changed and changed.new_price > offer.price and not changed.lost
    samo_app.state.stop_sale.add(offer.hotel_id)
    lost = _recheck(samo_app, offer)
    assert lost.lost and lost.changed


def test_apply_recheck_updates_the_stored_offer(session, samo_app):
    lead, quote, offers = _quote(session, samo_app, n=1)
    stored = quotes.quote_offers(session=session, quote_id=quote.id)[0]
    samo_app.state.price_factor[offers[0].hotel_id] = 1.1
    result = _recheck(samo_app, tours.offer_from_snapshot(stored))
    tours.apply_recheck(session=session, offer_id=stored.id, result=result)
    assert stored.price == result.new_price and Decimal(stored.raw["cb_previous_price"]) == offers[0].price


# ---------- bookings ----------


def _offer_row(session, app) -> TourOffer:
    lead, quote, _ = _quote(session, app, n=1)
    return quotes.quote_offers(session=session, quote_id=quote.id)[0]


def _people(offer: TourOffer, **override):
    back = offer.date_from + dt.timedelta(days=offer.nights)
    people = [bookings.TravellerInput("Ivanov Ivan", dt.date(1985, 3, 1), "N12345678", back + dt.timedelta(days=900)),
              bookings.TravellerInput("IVANOVA ANNA", dt.date(1987, 6, 2), "n 87654321", back + dt.timedelta(days=900)),
              bookings.TravellerInput("IVANOV PETR", TODAY - dt.timedelta(days=5 * 365), "N11223344",
                                      back + dt.timedelta(days=900))]
    for index, changes in override.items():
        i = int(index[1:])
        people[i] = bookings.TravellerInput(**{**people[i].__dict__, **changes})
    return people


def _input(offer: TourOffer, **kw) -> bookings.BookingInput:
    base = dict(offer_id=offer.id, travellers=_people(offer), client_price=offer.price,
                net_price=(offer.price * Decimal("0.9")).quantize(Decimal(1)), currency="USD",
                exchange_rate=Decimal("520.5"), deposit=Decimal(500), deposit_due=TODAY + dt.timedelta(days=2),
                balance_due=offer.date_from - dt.timedelta(days=14), operator_due=offer.date_from - dt.timedelta(days=10))
    return bookings.BookingInput(**{**base, **kw})


def test_a_booking_with_travellers_money_and_schedule(session, samo_app):
    offer = _offer_row(session, samo_app)
    booking = bookings.create_booking(session=session, data=_input(offer, claim_number="CB-1001"), actor=SYSTEM)
    assert booking.status == "requested" and booking.exchange_rate == Decimal("520.5")
    names = [t.full_name for t in session.exec(select(Traveller).where(Traveller.booking_id == booking.id))]
    assert names == ["IVANOV IVAN", "IVANOVA ANNA", "IVANOV PETR"]
    lines = {p.kind: p.amount for p in session.exec(select(Payment).where(Payment.booking_id == booking.id))}
    assert lines == {"client_deposit": Decimal(500), "client_balance": offer.price - 500,
                     "operator": (offer.price * Decimal("0.9")).quantize(Decimal(1))}
    assert _stage(session, offer.lead_id) == "add_ons"
    view = bookings.booking_view(session=session, booking_id=booking.id)
    assert view.margin == offer.price - (offer.price * Decimal("0.9")).quantize(Decimal(1))
    assert view.in_kzt(Decimal(100)) == Decimal(52050)
    assert bookings.mask_passport("N12345678") == "N1•••••78"


@pytest.mark.parametrize(("change", "code"), [
    ({"travellers": "cyrillic"}, "traveller_name"),
    ({"travellers": "passport"}, "traveller_passport"),
    ({"travellers": "expired"}, "traveller_passport_expiry"),
    ({"travellers": "future_birth"}, "traveller_birth"),
    ({"travellers": "missing"}, "traveller_count"),
    ({"net_price": Decimal(999_999)}, "negative_margin"),
    ({"currency": "GBP"}, "currency"),
    ({"exchange_rate": Decimal(0)}, "rate"),
    ({"deposit": Decimal(999_999)}, "deposit"),
    ({"deposit_due": TODAY - dt.timedelta(days=1)}, "due_dates"),
])
def test_booking_validation_names_the_problem_and_writes_nothing(session, samo_app, change, code):
    offer = _offer_row(session, samo_app)
    back = offer.date_from + dt.timedelta(days=offer.nights)
    variants = {
        "cyrillic": _people(offer, t0={"full_name": "Иванов Иван"}),
        "passport": _people(offer, t1={"passport_number": "12"}),
        "expired": _people(offer, t2={"passport_expires": back - dt.timedelta(days=1)}),
        "future_birth": _people(offer, t0={"birth_date": TODAY + dt.timedelta(days=1)}),
        "missing": _people(offer)[:2],
    }
    if "travellers" in change:
        change = {"travellers": variants[change["travellers"]]}
    before = count(session, Booking), count(session, Payment), count(session, Traveller)
    with pytest.raises(ValidationFailed) as info:
        bookings.create_booking(session=session, data=_input(offer, **change), actor=SYSTEM)
    assert info.value.code == code
    assert (count(session, Booking), count(session, Payment), count(session, Traveller)) == before


def test_kzt_bookings_record_a_rate_of_one(session, samo_app):
    offer = _offer_row(session, samo_app)
    booking = bookings.create_booking(session=session, data=_input(offer, currency="KZT", exchange_rate=Decimal(0)),
                                      actor=SYSTEM)
    assert booking.exchange_rate == 1


def test_status_tracking_moves_the_lead(session, samo_app):
    offer = _offer_row(session, samo_app)
    booking = bookings.create_booking(session=session, data=_input(offer), actor=SYSTEM)
    with pytest.raises(ValidationFailed):
        bookings.set_status(session=session, booking_id=booking.id, status="travelled", actor=SYSTEM)
    bookings.set_status(session=session, booking_id=booking.id, status="confirmed", actor=SYSTEM)
    with pytest.raises(ValidationFailed) as info:
        bookings.set_status(session=session, booking_id=booking.id, status="paid", actor=SYSTEM)
    assert info.value.code == "unpaid"
    lines = session.exec(select(Payment).where(Payment.booking_id == booking.id, Payment.kind != "operator")
                         .order_by(Payment.id)).all()
    deposit, balance = lines
    bookings.record_payment(session=session, payment_id=deposit.id, amount=deposit.amount, actor=SYSTEM)
    half = (balance.amount / 2).quantize(Decimal(1))
    bookings.record_payment(session=session, payment_id=balance.id, amount=half, actor=SYSTEM)  # splits the line
    assert session.get(Booking, booking.id).status == "confirmed"
    rest = session.exec(select(Payment).where(Payment.booking_id == booking.id, Payment.kind == "client_balance",
                                              Payment.paid_at.is_(None))).one()
    assert rest.amount == balance.amount
    bookings.record_payment(session=session, payment_id=rest.id, amount=rest.amount, actor=SYSTEM)
    assert session.get(Booking, booking.id).status == "paid" and _stage(session, offer.lead_id) == "paid"
    bookings.set_status(session=session, booking_id=booking.id, status="documents_issued", actor=SYSTEM)
    assert _stage(session, offer.lead_id) == "confirmed"
    bookings.set_status(session=session, booking_id=booking.id, status="travelled", actor=SYSTEM)
    lead = session.get(Lead, offer.lead_id)
    assert _stage(session, lead.id) == "completed" and lead.outcome == "won"
    texts = [i.text for i in conversations.timeline(session=session, lead_id=lead.id)]
    assert f"Бронирование №{booking.id}: подтверждено туроператором" in texts


def test_a_cancellation_needs_a_reason_and_takes_the_lead_back(session, samo_app):
    offer = _offer_row(session, samo_app)
    booking = bookings.create_booking(session=session, data=_input(offer), actor=SYSTEM)
    with pytest.raises(ValidationFailed):
        bookings.set_status(session=session, booking_id=booking.id, status="cancelled", actor=SYSTEM)
    bookings.set_status(session=session, booking_id=booking.id, status="cancelled", actor=SYSTEM, reason="Передумали")
    assert _stage(session, offer.lead_id) == "tour_selection"
    assert bookings.booking_view(session=session, booking_id=booking.id).detail.cancel_reason == "Передумали"


def test_payments_view_overdue_upcoming_and_reminders(session, samo_app):
    offer = _offer_row(session, samo_app)
    booking = bookings.create_booking(session=session, data=_input(offer), actor=SYSTEM)
    deposit_due = TODAY + dt.timedelta(days=2)
    upcoming = [d for d in bookings.due_payments(session=session, today=TODAY) if d.booking_id == booking.id]
    assert [d.payment.kind for d in upcoming] == ["client_deposit"] and not upcoming[0].overdue and upcoming[0].days == 2
    later = deposit_due + dt.timedelta(days=3)
    overdue = [d for d in bookings.due_payments(session=session, today=later) if d.booking_id == booking.id]
    assert overdue[0].overdue and overdue[0].days == -3
    jobs_before = count(session, OutboxJob)
    new = bookings.enqueue_due_payments(session=session, today=later)
    again = bookings.enqueue_due_payments(session=session, today=later)
    assert new >= 1 and again == 0 and count(session, OutboxJob) == jobs_before + new
    bookings.set_status(session=session, booking_id=booking.id, status="cancelled", actor=SYSTEM, reason="x")
    assert not [d for d in bookings.due_payments(session=session, today=later) if d.booking_id == booking.id]


def test_list_bookings_shows_money_without_passports(session, samo_app):
    offer = _offer_row(session, samo_app)
    booking = bookings.create_booking(session=session, data=_input(offer), actor=SYSTEM)
    row = next(r for r in bookings.list_bookings(session=session) if r.booking.id == booking.id)
    assert row.paid == 0 and row.due == offer.price and row.offer.id == offer.id
    assert "N12345678" not in repr(row.travellers)
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "booking_created")).first() is not None
