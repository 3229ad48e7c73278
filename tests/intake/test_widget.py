"""The website widget: the iframe page, the form post, the honeypot, the per-client rate limit, widget.js."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from crystal_bay.db import session_scope
from crystal_bay.models import Customer, Lead, Message
from tests.intake.support import row_counts, unique_phone

KEY = "pk_site_main_2026"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def widget_on(client, settings_env):
    settings_env(WIDGET_PUBLIC_KEYS=f" {KEY} , pk_second_site ", WIDGET_RATE_LIMIT_PER_MINUTE="100")
    return client


def test_the_widget_page_is_a_russian_form_with_a_honeypot(widget_on):
    page = widget_on.get("/widget", params={"key": KEY})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "Отправить заявку" in html and 'name="website"' in html and 'tabindex="-1"' in html
    assert f'var KEY = "{KEY}"' in html and "/api/widget/leads" in html
    assert "x-frame-options" not in {k.lower() for k in page.headers}  # embeddable in an iframe
    assert widget_on.get("/widget", params={"key": "pk_unknown_key"}).status_code == 404
    assert widget_on.get("/widget").status_code == 404


def test_the_widget_is_off_without_keys(client, settings_env):
    settings_env(WIDGET_PUBLIC_KEYS="")
    assert client.get("/widget", params={"key": KEY}).status_code == 404
    refused = client.post("/api/widget/leads", json={"key": KEY, "name": "Оля", "phone": unique_phone()})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "unknown_widget_key"


def test_a_submission_creates_a_website_lead_and_thanks_in_russian(widget_on):
    phone = unique_phone()
    response = widget_on.post("/api/widget/leads", json={
        "key": KEY, "name": "Оля Петрова", "phone": phone, "message": "Хотим в Нячанг", "website": "",
        "page_url": "https://crystalbay.kz/vietnam", "utm_source": "instagram"})
    assert response.status_code == 201, response.text
    assert response.json() == {"ok": True, "message": "Оля, спасибо за заявку! Менеджер Crystal Bay Travel "
                                                      "свяжется с вами в ближайшее время."}
    with session_scope() as session:
        customer = session.exec(select(Customer).where(Customer.phone == phone)).one()
        lead = session.exec(select(Lead).where(Lead.customer_id == customer.id)).one()
        message = session.exec(select(Message).where(Message.lead_id == lead.id)).one()
    assert (lead.source, lead.utm, customer.name) == ("website", {"source": "instagram"}, "Оля Петрова")
    assert message.body == "Хотим в Нячанг\n\nСтраница: https://crystalbay.kz/vietnam"


def test_a_filled_honeypot_gets_the_same_thanks_and_writes_nothing(widget_on):
    counts = row_counts()
    response = widget_on.post("/api/widget/leads", json={"key": KEY, "name": "Bot", "phone": unique_phone(),
                                                         "website": "http://spam.example"})
    assert response.status_code == 201 and response.json()["ok"] is True
    assert row_counts() == counts


@pytest.mark.parametrize("body", [
    {"key": KEY, "name": "Bot", "phone": "12", "website": "http://spam.example"},  # a bad phone
    {"key": KEY, "name": "Bot", "phone": "+77011234567", "website": "buy now", "x-extra": 1},  # an unknown field
    {"key": KEY, "website": 42},  # no name, a number in the honeypot
    {"key": "pk_not_configured", "name": "Bot", "website": "x"},  # any key
])
def test_a_bot_that_fills_the_honeypot_gets_the_thanks_even_with_an_invalid_form(widget_on, body):
    counts = row_counts()
    response = widget_on.post("/api/widget/leads", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["ok"] is True and "спасибо за заявку" in response.json()["message"]
    assert row_counts() == counts


@pytest.mark.parametrize(("body", "field"), [
    ({"key": KEY, "name": "Оля"}, "phone"),
    ({"key": KEY, "name": "Оля", "phone": "12"}, "phone"),
    ({"key": KEY, "name": "", "phone": "+77011234567"}, "name"),
    ({"key": KEY, "name": "Оля", "phone": "+77011234567", "extra": 1}, "extra"),
])
def test_bad_submissions_are_422_naming_the_field(widget_on, body, field):
    counts = row_counts()
    response = widget_on.post("/api/widget/leads", json=body)
    assert response.status_code == 422 and response.json()["error"]["field"] == field
    assert row_counts() == counts


def test_the_per_client_rate_limit(widget_on, settings_env):
    settings_env(WIDGET_RATE_LIMIT_PER_MINUTE="2")
    statuses = [widget_on.post("/api/widget/leads", json={"key": KEY, "name": "Оля", "phone": unique_phone()}
                               ).status_code for _ in range(3)]
    assert statuses[:2] == [201, 201] and statuses[2] == 429
    limited = widget_on.post("/api/widget/leads", json={"key": KEY, "name": "Оля", "phone": unique_phone()})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_widget_js_injects_the_iframe():
    script = (ROOT / "assets" / "widget.js").read_text(encoding="utf-8")
    assert 'createElement("iframe")' in script and '"/widget?"' in script and "data-key" in script
    assert "cb-widget-height" in script


def test_the_original_widget_route_is_an_alias_while_the_widget_is_on(widget_on, client, settings_env):
    phone = unique_phone()
    body = {"name": "Старый виджет", "email": f"w{phone[-7:]}@example.kz", "phone": phone, "message": "Тур",
            "widget_id": "contact_form_1", "page_url": "https://crystalbay.kz/", "ignored_field": True}
    response = widget_on.post("/api/leads/import/widget", json=body)
    assert response.status_code == 201 and response.json()["success"] is True
    with session_scope() as session:
        customer = session.exec(select(Customer).where(Customer.phone == phone)).one()
        assert session.exec(select(Lead).where(Lead.customer_id == customer.id)).one().utm == {
            "content": "contact_form_1"}
    settings_env(WIDGET_PUBLIC_KEYS="")
    assert client.post("/api/leads/import/widget", json=body).status_code == 404
