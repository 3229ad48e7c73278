"""The rules engine on the table of real-looking inquiries (tests/data/inquiries.json): every case's
fields, the per-field accuracy goal, and edge cases. Speed is measured by bench/extraction.py."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from crystal_bay.services.ai import gazetteer, rules_engine

DATA = json.loads((Path(__file__).parent / "data" / "inquiries.json").read_text(encoding="utf-8"))
KEYS = ("intent", "departure_city", "country", "resort", "date_from", "date_to", "nights_min", "nights_max",
        "adults", "children", "children_ages", "budget", "currency", "hotel_stars", "meal", "name", "phone", "email",
        "language")
GROUPS = {"destination": ("country", "resort"), "dates": ("date_from", "date_to"),
          "nights": ("nights_min", "nights_max"), "travellers": ("adults", "children", "children_ages"),
          "budget": ("budget", "currency")}


def expected(case: dict) -> dict:
    return {key: case["expect"].get(key, [] if key == "children_ages" else None) for key in KEYS}


def read(case: dict) -> dict:
    today = dt.date.fromisoformat(case.get("today", DATA["today"]))
    return rules_engine.extract(case["text"], today=today).model_dump(mode="json")


def test_the_table_is_big_and_varied():
    cases = DATA["cases"]
    assert len(cases) >= 80
    english = [c for c in cases if c["expect"].get("language") == "en"]
    assert len(english) >= 12
    assert {c["expect"]["intent"] for c in cases} == {"tour_search", "booking", "question", "human_request",
                                                      "complaint", "greeting", "other"}


@pytest.mark.parametrize("case", DATA["cases"], ids=[c["text"][:40] for c in DATA["cases"]])
def test_each_inquiry_reads_as_a_manager_would(case):
    got, want = read(case), expected(case)
    assert {k: got[k] for k in KEYS} == want


def test_accuracy_per_group_is_at_least_90_percent():
    right = dict.fromkeys(GROUPS, 0)
    for case in DATA["cases"]:
        got, want = read(case), expected(case)
        for group, keys in GROUPS.items():
            right[group] += all(got[k] == want[k] for k in keys)
    accuracy = {g: n / len(DATA["cases"]) for g, n in right.items()}
    assert all(value >= 0.9 for value in accuracy.values()), accuracy


def test_unknown_stays_null():
    found = rules_engine.extract("Добрый день!", today=dt.date(2026, 1, 15))
    assert found.travel_fields() == {} and found.intent == "greeting" and found.engine == "rules"
    assert rules_engine.extract("", today=dt.date(2026, 1, 15)).intent == "other"


def test_dates_roll_into_next_year_and_respect_explicit_years():
    today = dt.date(2026, 11, 20)
    found = rules_engine.extract("Нячанг с 10 по 20 марта", today=today)
    assert (found.date_from, found.date_to) == (dt.date(2027, 3, 10), dt.date(2027, 3, 20))
    found = rules_engine.extract("Нячанг в ноябре", today=today)
    assert (found.date_from, found.date_to) == (today, dt.date(2026, 11, 30))
    found = rules_engine.extract("Фукуок 28.12-08.01", today=today)
    assert (found.date_from, found.date_to) == (dt.date(2026, 12, 28), dt.date(2027, 1, 8))


def test_numbers_that_are_not_budgets_stay_out_of_the_budget():
    found = rules_engine.extract("Нячанг 2 взрослых 10 ночей с 5 по 15 мая 4* тел 87011234567",
                                 today=dt.date(2026, 1, 15))
    assert found.budget is None and found.phone == "+77011234567" and found.hotel_stars == 4


def test_gazetteer_forgives_typos_but_not_ordinary_words():
    assert gazetteer.fuzzy("нячнг").name == "Нячанг"
    assert gazetteer.fuzzy("вьетнан").name == "Вьетнам"
    for word in ("хотим", "бюджет", "ночей", "взрослых", "неделю", "отель", "завтрак", "спасибо", "потом"):
        assert gazetteer.fuzzy(word) is None, word
    assert gazetteer.canonical("Nha Trang", kind="resort") == "Нячанг"
    assert gazetteer.canonical("Атлантида", kind="resort") == "Атлантида"
