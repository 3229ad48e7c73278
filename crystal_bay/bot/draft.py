"""The search the customer is putting together in a chat: a JSON-safe dict kept in chat_data["draft"].

Fields: departure, country, resort, date_from, date_to (ISO), nights_min, nights_max, adults,
children_ages (list), children (how many; ages may still be missing), budget (str), currency, and
`done`: the wizard steps already answered. The wizard asks the first step not done; free text fills
what it understood and marks those steps done, so only what is missing gets asked.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from crystal_bay.bot import states
from crystal_bay.bot.texts import day, money, month_name, t
from crystal_bay.services import leads, tours
from crystal_bay.services.ai import Extraction

Draft = dict[str, Any]
MAX_CHILDREN = tours.MAX_CHILDREN
DEFAULT_CURRENCY = "USD"


def new() -> Draft:
    return {"done": []}


def done(draft: Draft, step: str) -> None:
    if step not in draft.setdefault("done", []):
        draft["done"].append(step)


def undo(draft: Draft, step: str) -> None:
    if step in draft.setdefault("done", []):
        draft["done"].remove(step)


def next_step(draft: Draft) -> str:
    """The first wizard step not answered yet (ages before the rest when children are known), else SUMMARY."""
    answered = set(draft.get("done") or [])
    for step in states.WIZARD:
        if step == states.CHILDREN and step in answered and missing_ages(draft):
            return states.CHILD_AGE
        if step not in answered:
            return step
    return states.SUMMARY


def previous_step(step: str) -> str | None:
    """The wizard step before this one (None before the first)."""
    if step == states.CHILD_AGE:
        return states.CHILDREN
    if step in (states.SUMMARY, states.EDIT):
        return states.WIZARD[-1]
    if step not in states.WIZARD:
        return None
    index = states.WIZARD.index(step)
    return states.WIZARD[index - 1] if index > 0 else None


def missing_ages(draft: Draft) -> int:
    return max(0, int(draft.get("children") or 0) - len(draft.get("children_ages") or []))


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) and value else None


def set_month(draft: Draft, year: int, month: int, today: dt.date) -> None:
    """Check in any day of that month (from tomorrow when it is this month)."""
    first = dt.date(year, month, 1)
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    draft["date_from"] = max(first, today + dt.timedelta(days=1)).isoformat()
    draft["date_to"] = last.isoformat()
    draft["dates_kind"] = "window"
    done(draft, states.DATES)


def set_dates(draft: Draft, start: dt.date, end: dt.date | None, nights: int | None) -> None:
    """Dates from text: a trip ("с 10 по 20 марта": the nights follow from them) or a check-in window
    ("в марте на 10 ночей")."""
    end = end or start
    span = (end - start).days
    whole_month = start.day == 1 and start.month == end.month and (end + dt.timedelta(days=1)).day == 1
    trip_like = span <= 21 if nights is None else abs(span - nights) <= 1
    if span >= 1 and not whole_month and trip_like:
        draft["dates_kind"] = "trip"
        if nights is None:
            draft["nights_min"] = draft["nights_max"] = min(span, tours.MAX_NIGHTS)
            done(draft, states.NIGHTS)
    else:
        draft["dates_kind"] = "window" if span >= 1 else "day"
    draft["date_from"], draft["date_to"] = start.isoformat(), end.isoformat()
    done(draft, states.DATES)


def dates_in_past(draft: Draft, today: dt.date) -> bool:
    end = _date(draft.get("date_to")) or _date(draft.get("date_from"))
    return end is not None and end <= today


def set_nights(draft: Draft, low: int, high: int) -> None:
    draft["nights_min"], draft["nights_max"] = sorted((low, high))
    done(draft, states.NIGHTS)


def set_budget(draft: Draft, amount: Decimal | int | None, currency: str | None) -> None:
    draft["budget"] = str(amount) if amount else None
    draft["currency"] = (currency or draft.get("currency") or DEFAULT_CURRENCY).upper()
    done(draft, states.BUDGET)


def parse_amount(text: str) -> Decimal | None:
    try:
        amount = Decimal(text.replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and 0 < amount < 10**12 else None


def fill(draft: Draft, reading: Extraction, *, free_text: bool = True) -> list[str]:
    """Take what the AI understood into the draft; the wizard steps it answered (in wizard order)."""
    before = set(draft.get("done") or [])
    touched: set[str] = set()
    if reading.departure_city:
        touched.add(states.DEPARTURE)
        draft["departure"] = reading.departure_city
        done(draft, states.DEPARTURE)
    if reading.country:
        touched.add(states.COUNTRY)
        draft["country"] = reading.country
        done(draft, states.COUNTRY)
    if reading.resort:
        touched.add(states.COUNTRY)
        draft["resort"] = reading.resort
    nights = reading.nights_min or reading.nights_max
    if reading.nights_min or reading.nights_max:
        touched.add(states.NIGHTS)
        set_nights(draft, reading.nights_min or reading.nights_max, reading.nights_max or reading.nights_min)
    if reading.date_from or reading.date_to:
        touched.add(states.DATES)
        set_dates(draft, reading.date_from or reading.date_to, reading.date_to, nights)
    if reading.adults:
        touched.add(states.ADULTS)
        draft["adults"] = min(max(reading.adults, 1), 6)
        done(draft, states.ADULTS)
        if reading.children is None and free_text and states.CHILDREN not in before:
            draft["children"], draft["children_ages"] = 0, []
            done(draft, states.CHILDREN)
    if reading.children is not None:
        touched.add(states.CHILDREN)
        draft["children"] = min(reading.children, MAX_CHILDREN)
        draft["children_ages"] = [a for a in reading.children_ages if 0 <= a <= 17][: draft["children"]]
        done(draft, states.CHILDREN)
    if reading.budget:
        touched.add(states.BUDGET)
        set_budget(draft, reading.budget, reading.currency)
    found = [s for s in states.WIZARD if s in touched]
    if found and free_text and states.BUDGET not in draft["done"]:
        done(draft, states.BUDGET)  # optional: not asked after a free-text request
    return found


# ---------- showing it ----------


def _dates_text(draft: Draft, lang: str) -> str:
    start, end = _date(draft.get("date_from")), _date(draft.get("date_to"))
    if start is None:
        return t(lang, "value.any")
    kind = draft.get("dates_kind")
    if kind == "window" and end and start.day <= 2 and (end + dt.timedelta(days=1)).day == 1 \
            and start.month == end.month:
        return month_name(lang, start.month, start.year)
    if kind == "trip" and end:
        return t(lang, "value.trip", start=day(start), end=day(end))
    if kind == "window" and end:
        return t(lang, "value.window", start=day(start), end=day(end))
    return day(start)


def _nights_text(draft: Draft) -> str:
    low, high = draft.get("nights_min"), draft.get("nights_max")
    if not low:
        return "—"
    return str(low) if low == high else f"{low}–{high}"


def travellers_text(draft: Draft, lang: str) -> str:
    adults = draft.get("adults")
    if not adults:
        return "—"
    parts = [t(lang, "value.adults", n=adults)]
    ages = draft.get("children_ages") or []
    if draft.get("children"):
        shown = ", ".join(t(lang, "value.age", n=a) for a in ages) or "?"
        parts.append(t(lang, "value.children", n=draft["children"], ages=shown))
    return " + ".join(parts)


def budget_text(draft: Draft, lang: str) -> str:
    if not draft.get("budget"):
        return t(lang, "value.any")
    return t(lang, "value.budget", amount=money(Decimal(draft["budget"])), currency=draft.get("currency") or "USD")


def summary(draft: Draft, lang: str) -> str:
    """The request line by line (only what is known)."""
    lines = []
    if draft.get("departure"):
        lines.append(f"🛫 {t(lang, 'field.departure')}: {draft['departure']}")
    if draft.get("country"):
        place = draft["country"] + (f", {draft['resort']}" if draft.get("resort") else "")
        lines.append(f"🌴 {t(lang, 'field.country')}: {place}")
    if draft.get("date_from"):
        lines.append(f"📅 {t(lang, 'field.dates')}: {_dates_text(draft, lang)}")
    if draft.get("nights_min"):
        lines.append(f"🌙 {t(lang, 'field.nights')}: {_nights_text(draft)}")
    if draft.get("adults"):
        lines.append(f"👥 {t(lang, 'field.travellers')}: {travellers_text(draft, lang)}")
    if states.BUDGET in (draft.get("done") or []) or draft.get("budget"):
        lines.append(f"💰 {t(lang, 'field.budget')}: {budget_text(draft, lang)}")
    return "\n".join(lines)


def chosen_value(draft: Draft, step: str, lang: str) -> str:
    """The answer to one step, for the "✓ Вылет: Алматы" line."""
    return {
        states.DEPARTURE: lambda: draft.get("departure") or "—",
        states.COUNTRY: lambda: draft.get("country") or "—",
        states.DATES: lambda: _dates_text(draft, lang),
        states.NIGHTS: lambda: _nights_text(draft),
        states.ADULTS: lambda: str(draft.get("adults") or "—"),
        states.CHILDREN: lambda: str(draft["children"]) if draft.get("children") else t(lang, "value.no_children"),
        states.CHILD_AGE: lambda: ", ".join(t(lang, "value.age", n=a) for a in draft.get("children_ages") or []),
        states.BUDGET: lambda: budget_text(draft, lang),
    }[step]()


def field_label(step: str, lang: str) -> str:
    key = {states.CHILD_AGE: "field.ages", states.CHILDREN: "field.children"}.get(step, f"field.{step}")
    return t(lang, key)


# ---------- into the operator's search and the lead ----------


def search_request(draft: Draft, today: dt.date, *, per_page: int = 100) -> tours.SearchRequest:
    """The operator search for the draft: a trip searches check-in ±1 day; a window any day in it (at most
    45 days, from tomorrow)."""
    start = _date(draft.get("date_from")) or today + dt.timedelta(days=14)
    end = _date(draft.get("date_to")) or start
    if draft.get("dates_kind") in ("trip", "day"):
        start, end = start - dt.timedelta(days=1), start + dt.timedelta(days=1)
    start = max(start, today + dt.timedelta(days=1))
    end = min(max(end, start), start + dt.timedelta(days=tours.MAX_RANGE_DAYS))
    low = int(draft.get("nights_min") or 7)
    high = int(draft.get("nights_max") or max(low, 10))
    budget = Decimal(draft["budget"]) if draft.get("budget") else None
    return tours.SearchRequest(
        departure=draft.get("departure") or tours.DEFAULT_DEPARTURE, country=draft.get("country") or "",
        date_from=start, date_to=end, nights_min=min(low, tours.MAX_NIGHTS), nights_max=min(high, tours.MAX_NIGHTS),
        adults=int(draft.get("adults") or 2), children_ages=tuple(draft.get("children_ages") or ()),
        resorts=(draft["resort"],) if draft.get("resort") else (), budget=budget,
        currency=draft.get("currency") or DEFAULT_CURRENCY, per_page=per_page,
    )


def travel_request(draft: Draft) -> leads.TravelRequestUpdate:
    """The draft as the lead's travel request (what is unknown is left as it is on the lead)."""
    def given(key: str, value: Any = None) -> Any:
        value = draft.get(key) if value is None else value
        return leads.UNSET if value in (None, "", []) else value

    ages = list(draft.get("children_ages") or [])
    children = draft.get("children")
    return leads.TravelRequestUpdate(
        departure_city=given("departure"), country=given("country"), resort=given("resort"),
        date_from=given("date_from"), date_to=given("date_to"), nights_min=given("nights_min"),
        nights_max=given("nights_max"), adults=given("adults"),
        children=children if children is not None and len(ages) == children else leads.UNSET,
        children_ages=ages if children is not None and len(ages) == children else leads.UNSET,
        budget=given("budget"), currency=given("currency") if draft.get("budget") else leads.UNSET,
    )


# ---------- offers kept between messages ----------


def offer_to_dict(offer: tours.Offer, *, demo: bool) -> dict:
    """An offer as JSON (kept in chat_data until the customer chooses)."""
    raw = dict(offer.raw)
    raw["cb_demo"] = demo
    return {
        "key": offer.key, "offer_id": offer.offer_id, "hotel": offer.hotel, "hotel_id": offer.hotel_id,
        "stars": offer.stars, "resort": offer.resort, "resort_id": offer.resort_id, "country": offer.country,
        "meal": offer.meal, "meal_id": offer.meal_id, "room": offer.room, "room_id": offer.room_id,
        "date_from": offer.date_from.isoformat(), "date_to": offer.date_to.isoformat(), "nights": offer.nights,
        "adults": offer.adults, "children_ages": list(offer.children_ages), "price": str(offer.price),
        "currency": offer.currency, "availability": offer.availability, "bookable": offer.bookable,
        "tour": offer.tour, "raw": raw,
    }


def offer_from_dict(data: dict) -> tours.Offer:
    return tours.Offer(
        key=data["key"], offer_id=data["offer_id"], hotel=data["hotel"], hotel_id=data.get("hotel_id"),
        stars=data.get("stars"), resort=data.get("resort") or "", resort_id=data.get("resort_id"),
        country=data.get("country") or "", meal=data.get("meal") or "", meal_id=data.get("meal_id"),
        room=data.get("room") or "", room_id=data.get("room_id"), date_from=dt.date.fromisoformat(data["date_from"]),
        date_to=dt.date.fromisoformat(data["date_to"]), nights=int(data["nights"]), adults=int(data["adults"]),
        children_ages=tuple(data.get("children_ages") or ()), price=Decimal(data["price"]),
        currency=data["currency"], availability=data.get("availability") or "available",
        bookable=bool(data.get("bookable", True)), tour=data.get("tour") or "", raw=dict(data.get("raw") or {}),
    )
