"""The public quote page over HTTP, the demo sandbox mount, the tours state's form parsing, and the CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from crystal_bay.integrations import samo
from crystal_bay.models import Lead, Message, Quote, QuoteDocument
from crystal_bay.services import quotes, tours
from crystal_bay.services.errors import ValidationFailed
from crystal_bay.services.tour_catalog import Catalog, clear_memory
from crystal_bay.state.tours import parse_search_form, samo_error_text
from tests.factories import SYSTEM, make_lead

START = dt.date.today() + dt.timedelta(days=35)


@pytest.fixture()
def api(app_db):
    from crystal_bay.api.app import create_api

    with TestClient(create_api(), follow_redirects=False) as client:
        yield client


def _make_quote(**kw):
    from crystal_bay.db import session_scope

    async def offers():
        client = samo.get_client(samo.sandbox_settings(), demo=True)
        try:
            # a week of check-in dates: the sandbox flies on some weekdays only, so one date may have no tours
            request = tours.SearchRequest(departure="Алматы", country="Вьетнам", date_from=START,
                                          date_to=START + dt.timedelta(days=6), nights_min=7, nights_max=7)
            return (await tours.search(request, client=client, catalog=Catalog(client))).offers[:2]
        finally:
            await samo.close_clients()

    found = asyncio.run(offers())
    with session_scope() as session:
        lead = make_lead(session, customer_name="Данияр Ахметов")
        quote = quotes.create_quote(session=session, lead_id=lead.id, offers=found, actor=SYSTEM, demo=True, **kw)
        ids = [o.id for o in quotes.quote_offers(session=session, quote_id=quote.id)]
        return lead.id, quote.token, ids, found


def test_the_public_page_shows_the_offers_and_counts_the_view(api):
    lead_id, token, ids, found = _make_quote()
    page = api.get(f"/q/{token}")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Выбрать" in page.text and "Данияр Ахметов" in page.text and "ДЕМО" in page.text
    assert 'name="viewport"' in page.text and f'data-offer-card="{ids[0]}"' in page.text
    from crystal_bay.db import session_scope

    with session_scope() as session:
        quote = quotes.by_token(session=session, token=token)
        assert quote.viewed_at is not None and session.get(QuoteDocument, quote.id).view_count == 1


def test_choosing_on_the_page_lands_on_the_lead_and_the_page_says_so(api):
    lead_id, token, ids, found = _make_quote()
    answer = api.post(f"/q/{token}/choose", data={"offer_id": str(ids[1]), "comment": "Этот!"})
    assert answer.status_code == 303 and answer.headers["location"] == f"/q/{token}?done=choice"
    page = api.get(answer.headers["location"])
    assert 'data-received="choice"' in page.text and 'data-chosen="1"' in page.text
    from crystal_bay.db import session_scope

    with session_scope() as session:
        lead = session.get(Lead, lead_id)
        body = session.exec(select(Message.body).where(Message.lead_id == lead_id)).one()
        assert lead.needs_human and "Этот!" in body and found[1].hotel in body
        assert session.exec(select(Quote).where(Quote.token == token)).one().chosen_offer_id == ids[1]


def test_a_question_on_the_page(api):
    lead_id, token, _, _ = _make_quote()
    answer = api.post(f"/q/{token}/ask", data={"text": "Можно ли с собакой?"})
    assert answer.status_code == 303
    assert 'data-received="question"' in api.get(answer.headers["location"]).text


def test_the_pdf_link(api):
    _, token, _, _ = _make_quote()
    pdf = api.get(f"/q/{token}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content[:4] == b"%PDF"


def test_expired_revoked_and_unknown_links(api):
    from crystal_bay.db import session_scope

    _, token, _, _ = _make_quote(ttl_days=1)
    with session_scope() as session:
        quote = quotes.by_token(session=session, token=token)
        quote.expires_at = quote.created_at - dt.timedelta(minutes=1)
        session.add(quote)
    expired = api.get(f"/q/{token}")
    assert expired.status_code == 410 and 'data-state="expired"' in expired.text
    assert api.get(f"/q/{token}/pdf").status_code == 410
    _, other, ids, _ = _make_quote()
    with session_scope() as session:
        quotes.revoke_quote(session=session, quote_id=quotes.by_token(session=session, token=other).id, actor=SYSTEM)
    assert api.post(f"/q/{other}/choose", data={"offer_id": str(ids[0])}).status_code == 410
    assert api.get("/q/" + "a" * 43).status_code == 404


def test_the_sandbox_is_mounted_in_demo_mode(api):
    answer = api.get("/sandbox/samo/export/default.php", params={
        "samo_action": "api", "version": "1.0", "type": "json", "action": "SearchTour_TOWNFROMS",
        "oauth_token": "sandbox-samo-token"})
    assert answer.status_code == 200 and answer.json()["SearchTour_TOWNFROMS"][0]["name"] == "Алматы"
    assert api.get("/sandbox/samo/images/5001-1.svg").headers["content-type"].startswith("image/svg")


def test_real_credentials_shut_the_sandbox_and_the_client_uses_them(app_db, settings_env):
    from crystal_bay.db import session_scope
    from crystal_bay.sandbox.samo import DemoOnly, demo_app

    settings_env(SAMO_API_URL="https://booking.example.kz/export/default.php", SAMO_OAUTH_TOKEN="real-token-0001")
    with session_scope() as session:
        config, demo = tours.samo_config(session=session)
    assert not demo and str(config.api_url).startswith("https://booking.example.kz")
    gate = DemoOnly(demo_app(), ttl_s=0)
    assert not gate._allowed()
    settings_env(SAMO_API_URL=None, SAMO_OAUTH_TOKEN=None, CRYSTAL_BAY_DEMO="0", SECRET_KEY="x" * 40)
    with session_scope() as session, pytest.raises(samo.SamoError) as info:
        tours.samo_config(session=session)
    assert info.value.kind == "not_configured"


# ---------- the panel's form and error texts ----------


def test_the_search_form_is_parsed():
    request = parse_search_form({"departure": "Алматы", "country": "Вьетнам", "resorts": "Нячанг, Фукуок",
                                 "date_from": START.isoformat(), "date_to": "", "nights_min": "7", "nights_max": "10",
                                 "adults": "2", "children_ages": "5; 9", "stars": "4", "meal": "any", "budget": "3 000"})
    assert request.resorts == ("Нячанг", "Фукуок") and request.date_to == START and request.children_ages == (5, 9)
    assert request.stars_min == 4 and request.meals == () and request.budget == 3000
    with pytest.raises(ValidationFailed) as info:
        parse_search_form({"date_from": "завтра"})
    assert info.value.field == "date_from"


def test_samo_errors_are_shown_in_russian():
    exc = samo.forbidden_error("<Error>apiKey provided, but invalid, blacklisted address 198.51.100.4</Error>",
                               url="https://x/export/default.php")
    assert samo_error_text(exc, "ru") == ("IP-адрес сервера не в белом списке Crystal Bay — отправьте им этот IP: "
                                          "198.51.100.4. Его добавляют на их стороне.")
    assert "allow-list" in samo_error_text(exc, "en")


# ---------- the CLI ----------


def _cli(capsys, *args) -> tuple[int, str, str]:
    from crystal_bay.__main__ import main

    clear_memory()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_search_in_demo_mode_says_so(app_db, capsys):
    code, out, err = _cli(capsys, "tours", "search", "--from", "Алматы", "--country", "Вьетнам", "--date-from",
                          START.isoformat(), "--date-to", (START + dt.timedelta(days=3)).isoformat(), "--nights",
                          "7-10", "--adults", "2", "--children-ages", "5", "--json")
    assert code == 0 and "ДЕМО" in err
    data = json.loads(out)
    assert data["demo"] is True and data["offers"] and data["offers"][0]["children_ages"] == [5]
    assert all(7 <= o["nights"] <= 10 for o in data["offers"])
    code, out, _ = _cli(capsys, "tours", "search", "--country", "Турция", "--date-from", START.isoformat(), "--limit", "3")
    assert code == 0 and out.startswith("ДЕМО") and "Отель" in out and "Показано 3" in out


def test_cli_search_refuses_an_unknown_country(app_db, capsys):
    code, _, err = _cli(capsys, "tours", "search", "--country", "Марс", "--date-from", START.isoformat())
    assert code == 1 and "Марс" in err


def test_cli_check(app_db, capsys):
    code, out, _ = _cli(capsys, "tours", "check")
    assert code == 0 and "OK: Connected: 3 departure cities" in out
