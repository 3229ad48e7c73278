"""The bot's vocabulary: both languages complete, callback data within Telegram's 64 bytes, and the search draft's
rules (what free text fills, which step comes next, what the operator is asked)."""

from __future__ import annotations

import datetime as dt

from telegram import InlineKeyboardMarkup

from crystal_bay.bot import draft as drafts
from crystal_bay.bot import keyboards, states, texts
from crystal_bay.integrations.samo import Ref
from crystal_bay.services.ai import rules_engine

TODAY = dt.date(2026, 11, 25)


def test_russian_and_english_have_the_same_strings():
    assert set(texts.RU) == set(texts.EN)
    assert all(v.strip() for v in [*texts.RU.values(), *texts.EN.values()])
    assert texts.language_of("en-GB") == "en" and texts.language_of("kk") == "ru" and texts.language_of(None) == "ru"


def test_every_keyboard_fits_telegrams_callback_limit():
    refs = [Ref(id=10**9 + i, name="Рас-эль-Хайма" * 3, name_alt="RAS AL KHAIMAH") for i in range(30)]
    boards = [keyboards.main_menu("ru"), keyboards.places(refs, "cty", "en"), keyboards.months(TODAY, "ru"),
              keyboards.nights("ru"), keyboards.numbers("age", range(18), "ru"), keyboards.budgets("KZT", "ru"),
              keyboards.summary("ru"), keyboards.edit_menu("en"), keyboards.offer(14, "ru"),
              keyboards.results_footer("ru", more=True), keyboards.no_offers("ru"), keyboards.booking_name("Я" * 90, "ru"),
              keyboards.skip("ru"), keyboards.confirm("ru"), keyboards.languages(), keyboards.resume("ru"),
              keyboards.places(refs * 10, "dep", "ru", page=14)]
    for board in boards:
        assert isinstance(board, InlineKeyboardMarkup)
        for row in board.inline_keyboard:
            for button in row:
                assert 1 <= len(button.callback_data.encode()) <= 64
    assert [b.text for row in keyboards.main_menu("ru").inline_keyboard for b in row] == \
        ["Подобрать тур", "Мои заявки", "О нас", "Связаться с менеджером"]


def test_the_wizard_asks_the_first_missing_step_and_ages_before_the_budget():
    draft = drafts.new()
    assert drafts.next_step(draft) == states.DEPARTURE
    for step in (states.DEPARTURE, states.COUNTRY, states.DATES, states.NIGHTS, states.ADULTS):
        drafts.done(draft, step)
    draft["children"], draft["children_ages"] = 2, [4]
    drafts.done(draft, states.CHILDREN)
    assert drafts.next_step(draft) == states.CHILD_AGE
    draft["children_ages"].append(9)
    assert drafts.next_step(draft) == states.BUDGET
    drafts.set_budget(draft, None, None)
    assert drafts.next_step(draft) == states.SUMMARY
    assert drafts.previous_step(states.COUNTRY) == states.DEPARTURE and drafts.previous_step(states.DEPARTURE) is None


def test_free_text_fills_what_it_understood_and_the_optional_budget_is_not_asked():
    draft = drafts.new()
    found = drafts.fill(draft, rules_engine.extract("хотим во Вьетнам в марте на 10 ночей вдвоём", today=TODAY))
    assert found == [states.COUNTRY, states.DATES, states.NIGHTS, states.ADULTS]
    assert draft["children"] == 0 and states.CHILDREN in draft["done"]  # "вдвоём": no children, not asked
    assert drafts.next_step(draft) == states.DEPARTURE
    assert (draft["dates_kind"], draft["date_from"], draft["nights_min"]) == ("window", "2027-03-01", 10)
    summary = drafts.summary(draft, "ru")
    assert "Даты: Март 2027" in summary and "Бюджет: не важно" in summary


def test_trip_dates_give_the_nights_and_a_narrow_check_in():
    draft = drafts.new()
    drafts.fill(draft, rules_engine.extract("с 10 по 20 марта", today=TODAY))
    assert (draft["dates_kind"], draft["nights_min"], draft["nights_max"]) == ("trip", 10, 10)
    draft.update(departure="Алматы", country="Вьетнам", adults=2)
    request = drafts.search_request(draft, TODAY)
    assert (request.date_from, request.date_to) == (dt.date(2027, 3, 9), dt.date(2027, 3, 11))
    assert (request.nights_min, request.nights_max, request.currency) == (10, 10, "USD")


def test_a_month_window_starts_tomorrow_and_is_kept_within_the_operators_range():
    draft = drafts.new()
    drafts.set_month(draft, 2026, 11, TODAY)
    request = drafts.search_request({**draft, "country": "Турция"}, TODAY)
    assert (request.date_from, request.date_to) == (dt.date(2026, 11, 26), dt.date(2026, 11, 30))
    draft = {"date_from": "2026-12-01", "date_to": "2027-03-31", "dates_kind": "window", "country": "Египет"}
    request = drafts.search_request(draft, TODAY)
    assert (request.date_to - request.date_from).days == 45


def test_offers_survive_the_trip_through_json():
    from decimal import Decimal

    from crystal_bay.services import tours

    offer = tours.Offer(key="k", offer_id="0x1", hotel="Palm Bay 5*", hotel_id=1, stars=5, resort="Дубай", resort_id=160,
                        country="ОАЭ", meal="AI", meal_id=5, room="Suite", room_id=6, date_from=dt.date(2027, 1, 5),
                        date_to=dt.date(2027, 1, 12), nights=7, adults=2, children_ages=(7,), price=Decimal("4120.50"),
                        currency="USD", availability="few", bookable=True, tour="ОАЭ", raw={"stateKey": 13})
    import json

    again = drafts.offer_from_dict(json.loads(json.dumps(drafts.offer_to_dict(offer, demo=True))))
    assert again == offer and again.raw["cb_demo"] is True


def _offer(**kw):
    from decimal import Decimal

    from crystal_bay.services import tours

    values = dict(key="k", offer_id="0x1", hotel="Palm Bay 5*", hotel_id=1, stars=5, resort="Дубай", resort_id=160,
                  country="ОАЭ", meal="AI", meal_id=5, room="Suite", room_id=6, date_from=dt.date(2027, 1, 5),
                  date_to=dt.date(2027, 1, 12), nights=7, adults=2, children_ages=(), price=Decimal("4120"),
                  currency="USD", availability="available", bookable=True, tour="ОАЭ", raw={})
    values.update(kw)
    return drafts.offer_to_dict(tours.Offer(**values), demo=False)


def test_an_offer_card_shows_the_hotels_stars_in_both_languages():
    from crystal_bay.bot.search import _offer_text

    assert _offer_text(_offer(), "ru").splitlines()[0] == "🏨 Palm Bay ★★★★★"  # "5*" from the name becomes stars
    assert _offer_text(_offer(hotel="Sea Breeze", stars=3), "en").splitlines()[0] == "🏨 Sea Breeze ★★★"
    assert _offer_text(_offer(hotel="Guest House", stars=None), "ru").splitlines()[0] == "🏨 Guest House"


def test_long_place_lists_page_through_all_entries():
    refs = [Ref(id=i, name=f"Город {i}", name_alt="") for i in range(45)]

    def page(n: int) -> tuple[list[str], list[str]]:
        rows = keyboards.places(refs, "dep", "ru", page=n).inline_keyboard
        data = [b.callback_data for row in rows for b in row]
        return [d for d in data if d.startswith("dep:")], [d for d in data if d.startswith("pg:")]

    seen = []
    for n, turns in ((0, ["pg:dep:1"]), (1, ["pg:dep:0", "pg:dep:2"]), (2, ["pg:dep:1"])):
        places, paging = page(n)
        assert paging == turns
        seen += places
    assert seen == [f"dep:{i}" for i in range(45)]  # every city reachable, none twice
    first = keyboards.places(refs, "dep", "ru").inline_keyboard
    assert [b.text for b in first[-2]] == ["Ещё (25) ›"] and [b.text for b in first[-1]] == ["« Назад", "Отмена"]
    single = keyboards.places(refs[:20], "dep", "ru").inline_keyboard
    assert all(b.callback_data.startswith("dep:") for b in single[-2])  # a list that fits: no paging row
