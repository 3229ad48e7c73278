"""Lead scoring, 0..100, with the reasons a manager can check.

Five parts: completeness of the request (35), budget against typical prices (25), urgency of the
dates (20), channel (10), engagement (10). Deterministic and offline: the same lead scores the same
with or without OpenAI. Prices are rough per-person package prices from Almaty (flight + hotel +
transfer), USD, for a 7-night trip; they only rank leads, they are not quotes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

# typical package price per adult for 7 nights from Almaty, USD (children count half)
TYPICAL_PRICE_USD = {
    "Вьетнам": 900, "Турция": 800, "ОАЭ": 1000, "Египет": 750, "Таиланд": 1100, "Китай": 900,
    "Шри-Ланка": 1200, "Мальдивы": 3000, "Грузия": 500, "Индонезия": 1400, "Индия": 900,
}
DEFAULT_PRICE_USD = 1000
USD_PER = {"USD": Decimal("1"), "EUR": Decimal("1.08"), "KZT": Decimal("0.002"), "RUB": Decimal("0.0105")}
CHANNEL_POINTS = {"phone": 10, "walk_in": 10, "whatsapp": 8, "telegram": 8, "website": 6, "email": 5, "api": 4}
COMPLETENESS = (("destination", 8), ("dates", 8), ("nights", 5), ("travellers", 7), ("budget", 7))
FIELD_WORDS = {"destination": ("направление", "destination"), "dates": ("даты", "dates"),
               "nights": ("ночи", "nights"), "travellers": ("туристы", "travellers"), "budget": ("бюджет", "budget")}


@dataclass(frozen=True)
class Reason:
    """One part of the score: its code, points out of max, and the sentence in Russian and English."""

    code: str
    points: int
    max_points: int
    ru: str
    en: str

    def text(self, lang: str = "ru") -> str:
        return f"{self.en if lang == 'en' else self.ru} ({self.points}/{self.max_points})"


@dataclass(frozen=True)
class Score:
    value: int
    reasons: list[Reason]

    def texts(self, lang: str = "ru") -> list[str]:
        return [r.text(lang) for r in self.reasons]


def _present(request) -> dict[str, bool]:
    return {
        "destination": bool(request.country or request.resort),
        "dates": bool(request.date_from or request.date_to),
        "nights": bool(request.nights_min or request.nights_max),
        "travellers": bool(request.adults),
        "budget": bool(request.budget),
    }


def _completeness(request) -> Reason:
    present = _present(request)
    points = sum(weight for key, weight in COMPLETENESS if present[key])
    missing = [key for key, _ in COMPLETENESS if not present[key]]
    if not missing:
        return Reason("completeness", points, 35, "Заявка заполнена полностью", "The request is complete")
    ru = ", ".join(FIELD_WORDS[k][0] for k in missing)
    en = ", ".join(FIELD_WORDS[k][1] for k in missing)
    return Reason("completeness", points, 35, f"Не хватает: {ru}", f"Missing: {en}")


def typical_price_usd(request) -> Decimal:
    """What the trip usually costs in USD: per-adult price × travellers × nights/7."""
    per_adult = Decimal(TYPICAL_PRICE_USD.get(request.country or "", DEFAULT_PRICE_USD))
    people = Decimal(request.adults or 2) + Decimal(request.children or 0) / 2
    nights = Decimal(request.nights_max or request.nights_min or 7)
    return per_adult * people * (Decimal("0.6") + Decimal("0.4") * nights / 7)


def _budget(request) -> Reason:
    if not request.budget:
        return Reason("budget", 0, 25, "Бюджет не назван", "No budget given")
    currency = request.currency or ("KZT" if request.budget >= 20_000 else "USD")
    budget_usd = Decimal(request.budget) * USD_PER.get(currency, Decimal("1"))
    ratio = budget_usd / typical_price_usd(request)
    percent = int(ratio * 100)
    if ratio >= 1:
        return Reason("budget", 25, 25, f"Бюджет на уровне типичных цен или выше ({percent}%)",
                      f"Budget meets typical prices ({percent}%)")
    if ratio >= Decimal("0.75"):
        return Reason("budget", 17, 25, f"Бюджет немного ниже типичных цен ({percent}%)",
                      f"Budget slightly below typical prices ({percent}%)")
    if ratio >= Decimal("0.5"):
        return Reason("budget", 8, 25, f"Бюджет заметно ниже типичных цен ({percent}%)",
                      f"Budget well below typical prices ({percent}%)")
    return Reason("budget", 2, 25, f"Бюджет намного ниже типичных цен ({percent}%)",
                  f"Budget far below typical prices ({percent}%)")


def _urgency(request, today: dt.date) -> Reason:
    start = request.date_from or request.date_to
    if start is None:
        return Reason("urgency", 0, 20, "Даты не известны", "Dates unknown")
    days = (start - today).days
    if days < 0:
        return Reason("urgency", 0, 20, "Даты уже прошли", "The dates have passed")
    if days <= 45:
        return Reason("urgency", 20, 20, f"Вылет скоро: через {days} дн.", f"Departure soon: in {days} days")
    if days <= 90:
        return Reason("urgency", 14, 20, f"Вылет через {days} дн.", f"Departure in {days} days")
    if days <= 180:
        return Reason("urgency", 8, 20, f"Вылет через {days} дн.", f"Departure in {days} days")
    return Reason("urgency", 4, 20, f"Вылет не скоро: через {days} дн.", f"Departure far off: in {days} days")


def _channel(channel: str) -> Reason:
    points = CHANNEL_POINTS.get(channel, 4)
    return Reason("channel", points, 10, f"Канал: {channel}", f"Channel: {channel}")


def _engagement(inbound_messages: int) -> Reason:
    points = min(10, 4 * inbound_messages) if inbound_messages else 0
    return Reason("engagement", points, 10, f"Сообщений от клиента: {inbound_messages}",
                  f"Messages from the customer: {inbound_messages}")


def score_lead(request, *, channel: str, inbound_messages: int, today: dt.date) -> Score:
    """Score a travel request (a Lead, an Extraction, anything with the TravelRequest fields)."""
    reasons = [_completeness(request), _budget(request), _urgency(request, today), _channel(channel),
               _engagement(inbound_messages)]
    return Score(value=max(0, min(100, sum(r.points for r in reasons))), reasons=reasons)
