"""The bot's keyboards. Callback data stays well under Telegram's 64 bytes: "<kind>:<value>"."""

from __future__ import annotations

import datetime as dt

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from crystal_bay.bot.texts import month_name, t
from crystal_bay.integrations.samo import Ref

NIGHT_CHOICES = ((6, 8), (7, 10), (10, 12), (12, 14), (14, 21))
BUDGETS = {"USD": (1000, 2000, 3000, 5000), "EUR": (1000, 2000, 3000, 5000),
           "KZT": (500_000, 1_000_000, 1_500_000, 2_500_000), "RUB": (100_000, 200_000, 300_000, 500_000)}
MONTHS_AHEAD = 9
PLACES_PAGE = 20  # departure cities or countries per screen (ten rows of two), then «Ещё ›»


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def _rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i:i + width] for i in range(0, len(buttons), width)]


def _nav(lang: str, *, back: bool = True) -> list[InlineKeyboardButton]:
    row = [_button(t(lang, "btn.back"), "back")] if back else []
    return [*row, _button(t(lang, "btn.cancel"), "cancel")]


def main_menu(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [_button(t(lang, "btn.search"), "m:search")],
        [_button(t(lang, "btn.requests"), "m:requests"), _button(t(lang, "btn.about"), "m:about")],
        [_button(t(lang, "btn.manager"), "m:manager")],
    ])


def to_menu(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(t(lang, "btn.menu"), "m:menu")]])


def resume(lang: str) -> InlineKeyboardMarkup:
    """While a manager has the chat: the way back to the bot."""
    return InlineKeyboardMarkup([[_button(t(lang, "btn.resume"), "resume")]])


def languages() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button("Русский", "lang:ru"), _button("English", "lang:en")]])


def places(refs: list[Ref], kind: str, lang: str, *, back: bool = True, page: int = 0) -> InlineKeyboardMarkup:
    """Departure cities ("dep") or countries ("cty") from the operator's dictionaries, two per row, PLACES_PAGE at a
    time: «‹ Предыдущие» / «Ещё ›» turn the pages ("pg:<kind>:<page>")."""
    pages = max(1, -(-len(refs) // PLACES_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = refs[page * PLACES_PAGE:(page + 1) * PLACES_PAGE]
    buttons = [_button(ref.name if lang == "ru" or not ref.name_alt else ref.name_alt.title(), f"{kind}:{ref.id}")
               for ref in shown]
    turn = []
    if page > 0:
        turn.append(_button(t(lang, "btn.page_back"), f"pg:{kind}:{page - 1}"))
    if page < pages - 1:
        turn.append(_button(t(lang, "btn.page_more", n=len(refs) - (page + 1) * PLACES_PAGE), f"pg:{kind}:{page + 1}"))
    return InlineKeyboardMarkup([*_rows(buttons, 2), *([turn] if turn else []), _nav(lang, back=back)])


def months(today: dt.date, lang: str) -> InlineKeyboardMarkup:
    """This month and the next ones: "mon:2027-03"."""
    buttons, year, month = [], today.year, today.month
    for _ in range(MONTHS_AHEAD):
        buttons.append(_button(month_name(lang, month, year if year != today.year else None),
                               f"mon:{year:04d}-{month:02d}"))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return InlineKeyboardMarkup([*_rows(buttons, 3), _nav(lang)])


def nights(lang: str) -> InlineKeyboardMarkup:
    buttons = [_button(f"{low}–{high}", f"ngt:{low}-{high}") for low, high in NIGHT_CHOICES]
    buttons += [_button(t(lang, "btn.nights_exact", n=n), f"ngt:{n}-{n}") for n in (7, 10, 14)]
    return InlineKeyboardMarkup([*_rows(buttons, 4), _nav(lang)])


def numbers(kind: str, values: range, lang: str, *, width: int = 6) -> InlineKeyboardMarkup:
    """Adults ("adl"), children ("chn") or a child's age ("age")."""
    return InlineKeyboardMarkup([*_rows([_button(str(n), f"{kind}:{n}") for n in values], width), _nav(lang)])


def budgets(currency: str, lang: str) -> InlineKeyboardMarkup:
    sign = {"USD": "$", "EUR": "€", "KZT": "₸", "RUB": "₽"}.get(currency, currency)
    amounts = BUDGETS.get(currency, BUDGETS["USD"])
    buttons = [_button(f"≤ {amount:,} {sign}".replace(",", " "), f"bud:{amount}:{currency}") for amount in amounts]
    return InlineKeyboardMarkup([*_rows(buttons, 2), [_button(t(lang, "btn.no_budget"), "bud:0")], _nav(lang)])


def summary(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(t(lang, "btn.go"), "go")],
                                 [_button(t(lang, "btn.edit"), "edit")], _nav(lang)])


EDITABLE = ("departure", "country", "dates", "nights", "adults", "children", "budget")


def edit_menu(lang: str) -> InlineKeyboardMarkup:
    labels = {"departure": "field.departure", "country": "field.country", "dates": "field.dates",
              "nights": "field.nights", "adults": "field.adults", "children": "field.children",
              "budget": "field.budget"}
    buttons = [_button(t(lang, labels[step]), f"edit:{step}") for step in EDITABLE]
    return InlineKeyboardMarkup([*_rows(buttons, 3), [_button(t(lang, "btn.back"), "back")]])


def offer(index: int, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(t(lang, "btn.want"), f"want:{index}")]])


def results_footer(lang: str, *, more: bool) -> InlineKeyboardMarkup:
    rows = [[_button(t(lang, "btn.more"), "more")]] if more else []
    rows.append([_button(t(lang, "btn.edit"), "edit"), _button(t(lang, "btn.new_search"), "m:search")])
    rows.append([_button(t(lang, "btn.manager"), "m:manager"), _button(t(lang, "btn.menu"), "m:menu")])
    return InlineKeyboardMarkup(rows)


def no_offers(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [_button(t(lang, "btn.change_dates"), "edit:dates"), _button(t(lang, "btn.change_nights"), "edit:nights")],
        [_button(t(lang, "btn.manager"), "m:manager"), _button(t(lang, "btn.menu"), "m:menu")],
    ])


def booking_name(first_name: str, lang: str) -> InlineKeyboardMarkup:
    rows = [[_button(t(lang, "btn.use_name", name=first_name[:40]), "name:tg")]] if first_name else []
    return InlineKeyboardMarkup([*rows, _nav(lang)])


def share_phone(lang: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup([[KeyboardButton(t(lang, "btn.share_phone"), request_contact=True)],
                                [KeyboardButton(t(lang, "btn.back")), KeyboardButton(t(lang, "btn.cancel"))]],
                               resize_keyboard=True, one_time_keyboard=True)


def skip(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(t(lang, "btn.skip"), "skip")], _nav(lang)])


def confirm(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(t(lang, "btn.send"), "send")], _nav(lang)])
