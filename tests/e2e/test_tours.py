"""Tours in chromium against `reflex run` in demo mode (issue 8): search the SAMO sandbox from a lead,
select two offers, create a quote (PDF link, stage change), choose an offer on the public page in a
fresh browser context (no login, phone-sized), see the choice on the lead, and book that offer."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.engine import Engine
from sqlmodel import select

from crystal_bay.db import make_engine, session_scope
from crystal_bay.models import Booking, Lead, PipelineStage
from tests.e2e.conftest import LiveApp
from tests.e2e.test_board import SLOW, STEP, WIDE, _create_lead, _log_in, _shot

pytestmark = pytest.mark.e2e
START = dt.date.today() + dt.timedelta(days=30)


@pytest.fixture(scope="module")
def db(live_app: LiveApp) -> Iterator[Engine]:
    engine = make_engine(live_app.database_url)
    yield engine
    engine.dispose()


def _lead_with_request(db: Engine, name: str) -> int:
    lead_id = _create_lead(db, name)
    with session_scope(db) as session:
        lead = session.get(Lead, lead_id)
        lead.departure_city, lead.country = "Алматы", "Вьетнам"
        lead.date_from, lead.date_to = START, START + dt.timedelta(days=6)
        lead.nights_min, lead.nights_max, lead.adults = 7, 9, 2
        session.add(lead)
    return lead_id


def _stage(db: Engine, lead_id: int) -> str:
    with session_scope(db) as session:
        return session.get(PipelineStage, session.get(Lead, lead_id).stage_id).slug


def _price(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def test_search_quote_public_choice_and_booking(browser: Browser, live_app: LiveApp, db: Engine) -> None:
    lead_id = _lead_with_request(db, "Гульнара Сапарова")
    ctx = browser.new_context(viewport=WIDE | {"height": 1400}, locale="ru-RU", timezone_id="Asia/Almaty")
    ctx.set_default_timeout(STEP)
    page = ctx.new_page()
    public = None
    try:
        _log_in(page, live_app, live_app.manager)
        page.goto(live_app.url(f"/lead/{lead_id}"), timeout=SLOW)
        panel = page.get_by_test_id("tours-panel")
        expect(panel).to_be_visible(timeout=SLOW)
        expect(page.locator('input[name="ts_country"]')).to_have_value("Вьетнам", timeout=STEP)
        expect(page.locator('input[name="ts_date_from"]')).to_have_value(START.isoformat())

        # Search the sandbox (a background event with a spinner), results marked as demo.
        page.get_by_test_id("tours-search").click()
        rows = page.locator("tr.tour-row")
        expect(rows.first).to_be_visible(timeout=SLOW)
        expect(page.get_by_test_id("tours-demo")).to_be_visible()
        expect(rows).to_have_count(20)
        prices = [_price(t) for t in rows.locator("td:nth-child(9)").all_inner_texts()]
        assert prices == sorted(prices)
        page.locator('[data-sort="price"]').click()  # the cheapest first → the dearest first
        expect(page.locator('[data-sort="price"]')).to_contain_text("↓")
        dearest = [_price(t) for t in rows.locator("td:nth-child(9)").all_inner_texts()]
        assert dearest == sorted(dearest, reverse=True) and dearest[0] >= prices[-1]
        page.locator('[data-sort="price"]').click()
        page.get_by_test_id("tours-next").click()
        expect(page.get_by_test_id("tours-page")).to_contain_text("2 /")
        page.get_by_test_id("tours-next").locator("xpath=preceding-sibling::button[1]").click()
        _shot(page, "e2e-tours-results.png")

        # Select two offers and create the quote.
        hotels = []
        for i in (0, 1):
            row = rows.nth(i)
            hotels.append(row.locator("td:nth-child(2)").inner_text())
            row.get_by_role("checkbox").click()
        page.get_by_test_id("create-quote").click()
        expect(page.get_by_test_id("quote-ready")).to_be_visible(timeout=SLOW)
        expect(page.get_by_test_id("lead-stage")).to_have_text("Коммерческое предложение", timeout=STEP)
        assert _stage(db, lead_id) == "quote"
        pdf_href = page.get_by_test_id("last-quote-pdf").get_attribute("href")
        link = page.get_by_test_id("last-quote-link").get_attribute("href")
        assert pdf_href and pdf_href.endswith("/pdf") and link and "/q/" in link
        pdf = page.request.get(pdf_href)
        assert pdf.status == 200 and pdf.body()[:4] == b"%PDF"
        expect(page.get_by_test_id("quote-status").first).to_have_text("создано")
        _shot(page, "e2e-tours-quote.png")

        # The customer opens the link on a phone, with no login, and chooses the second offer.
        public = browser.new_context(viewport={"width": 390, "height": 844}, locale="ru-RU", is_mobile=True)
        customer = public.new_page()
        customer.goto(link, timeout=SLOW)
        expect(customer.get_by_role("button", name="Выбрать")).to_have_count(2, timeout=STEP)
        expect(customer.locator("body")).to_contain_text(hotels[1])
        _shot(customer, "e2e-quote-public-mobile.png")
        customer.locator("button[data-offer]").nth(1).click()
        expect(customer.locator('[data-received="choice"]')).to_be_visible(timeout=STEP)
        expect(customer.locator('[data-chosen="1"]')).to_be_visible()
        _shot(customer, "e2e-quote-public-chosen.png")

        # The manager sees the choice on the lead.
        page.get_by_test_id("quotes-refresh").click()
        expect(page.get_by_test_id("quote-status").first).to_have_text("клиент выбрал", timeout=STEP)
        expect(page.get_by_test_id("quote-views").first).to_contain_text("1")
        expect(page.get_by_test_id("timeline")).to_contain_text("Клиент выбрал вариант")
        expect(page.get_by_test_id("timeline")).to_contain_text(hotels[1])
        _shot(page, "e2e-tours-choice-on-lead.png")

        # Book the chosen offer: re-checked at the operator, travellers, money, schedule.
        chosen = page.get_by_test_id("quote-chosen").locator("xpath=..")
        chosen.get_by_test_id("book-offer").click()
        expect(page.get_by_test_id("booking-form")).to_be_visible(timeout=SLOW)
        expect(page.get_by_test_id("recheck-same")).to_be_visible(timeout=SLOW)
        expect(page.locator('input[name="exchange_rate"]')).to_have_value(re.compile(r"^5\d\d"), timeout=STEP)
        travellers = [("Saparova Gulnara", "1990-05-12", "N12345678"), ("SAPAROV ERLAN", "1988-11-02", "N87654321")]
        for i, (name, birth, passport) in enumerate(travellers, start=1):
            page.locator(f'input[name="t{i}_name"]').fill(name)
            page.locator(f'input[name="t{i}_birth"]').fill(birth)
            page.locator(f'input[name="t{i}_passport"]').fill(passport)
            page.locator(f'input[name="t{i}_expires"]').fill("2032-01-01")
        page.locator('input[name="claim_number"]').fill("CB-77001")
        _shot(page, "e2e-booking-form.png")
        page.get_by_test_id("booking-submit").click()
        expect(page.get_by_test_id("booking-detail")).to_be_visible(timeout=SLOW)
        expect(page.get_by_test_id("booking-status").first).to_have_text("запрошено")
        expect(page.get_by_test_id("passport-masked").first).to_have_text("N1•••••78")
        expect(page.get_by_test_id("booking-detail")).not_to_contain_text("N12345678")
        _shot(page, "e2e-booking-detail.png")
        with session_scope(db) as session:
            booking = session.exec(select(Booking).where(Booking.lead_id == lead_id)).one()
            assert booking.claim_number == "CB-77001" and booking.status == "requested"
        assert _stage(db, lead_id) == "add_ons"

        page.get_by_test_id("tab-payments").click()
        expect(page.get_by_test_id("payments-table")).to_contain_text("Гульнара Сапарова", timeout=STEP)
        _shot(page, "e2e-booking-payments.png")
    finally:
        if public is not None:
            public.close()
        ctx.close()
