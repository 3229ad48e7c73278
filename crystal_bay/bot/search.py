"""The guided search: one step per question (departure, country, dates, nights, adults, children and their
ages, budget), a summary to check, the operator's offers a few at a time — and free text at any point,
read by the AI engine, filling whatever it understood so only the rest is asked."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

from telegram import Update
from telegram.error import BadRequest

from crystal_bay.bot import draft as drafts
from crystal_bay.bot import keyboards, states
from crystal_bay.bot.backends import in_session, today
from crystal_bay.bot.common import (
    Context,
    backends,
    handoff,
    lang,
    person,
    send,
    settle,
    show_menu,
    typing,
)
from crystal_bay.bot.texts import day, money, t
from crystal_bay.integrations.base import IntegrationError
from crystal_bay.services import chat_leads
from crystal_bay.services.errors import DomainError, ValidationFailed
from crystal_bay.services.quote_render import meal_label

log = logging.getLogger("crystal_bay.bot")
PAGE = 3
KEEP_OFFERS = 15
Handler = Callable[[Update, Context], Awaitable[str | None]]
NUMBER_RANGES = {states.NIGHTS: (1, 30), states.ADULTS: (1, 6), states.CHILDREN: (0, drafts.MAX_CHILDREN),
                 states.CHILD_AGE: (0, 17)}
AI_NOTE_EVERY_S = 1800  # an OpenAI failure goes on the lead's timeline at most this often per chat
STARS_IN_NAME = re.compile(r"\s*[1-5]\s?\*+\s*$")  # operators write "Sea Breeze Resort 4*"


def _draft(context: Context) -> drafts.Draft:
    return context.chat_data.setdefault("draft", drafts.new())


# ---------- asking ----------


async def ask(update: Update, context: Context, step: str, prefix: str = "") -> str:
    """Send the question of a step with its keyboard (after `prefix`, e.g. what was understood); returns the step.
    Departure and country lists come from the operator's dictionaries; when they cannot be read the customer is
    told so and the search falls back to free text."""
    code, draft = lang(context), _draft(context)
    head = f"{prefix}\n\n" if prefix else ""
    context.chat_data["step"] = step
    try:
        if step == states.DEPARTURE:
            refs = await backends(context).departures()
            await send(update, context, head + t(code, "ask.departure"), keyboards.places(refs, "dep", code))
        elif step == states.COUNTRY:
            refs = await backends(context).destinations(draft.get("departure") or "Алматы")
            await send(update, context, head + t(code, "ask.country"), keyboards.places(refs, "cty", code))
        elif step == states.DATES:
            await send(update, context, head + t(code, "ask.dates"), keyboards.months(today(), code))
        elif step == states.NIGHTS:
            await send(update, context, head + t(code, "ask.nights"), keyboards.nights(code))
        elif step == states.ADULTS:
            await send(update, context, head + t(code, "ask.adults"), keyboards.numbers("adl", range(1, 7), code))
        elif step == states.CHILDREN:
            await send(update, context, head + t(code, "ask.children"),
                       keyboards.numbers("chn", range(0, drafts.MAX_CHILDREN + 1), code, width=5))
        elif step == states.CHILD_AGE:
            number = len(draft.get("children_ages") or []) + 1
            await send(update, context, head + t(code, "ask.child_age", n=number),
                       keyboards.numbers("age", range(0, 18), code))
        elif step == states.BUDGET:
            await send(update, context, head + t(code, "ask.budget"),
                       keyboards.budgets(draft.get("currency") or drafts.DEFAULT_CURRENCY, code))
        elif step == states.EDIT:
            await send(update, context, head + t(code, "ask.edit"), keyboards.edit_menu(code))
        else:
            context.chat_data["step"] = step = states.SUMMARY
            question = head + t(code, "ask.go") if prefix else t(code, "summary", summary=drafts.summary(draft, code))
            await send(update, context, question, keyboards.summary(code))
    except (IntegrationError, DomainError) as exc:
        log.warning("operator dictionaries unavailable for step %s: %s", step, exc)
        await send(update, context, t(code, "samo_down.dictionaries"), keyboards.main_menu(code))
        context.chat_data["step"] = states.MENU
        return states.MENU
    return step


async def start_search(update: Update, context: Context) -> str:
    """«Подобрать тур»: starts a fresh search. Asks: the departure city."""
    await settle(update, context)
    context.chat_data["draft"] = drafts.new()
    return await ask(update, context, drafts.next_step(_draft(context)))


async def advance(update: Update, context: Context, step: str) -> str:
    """After a step was answered: show the answer in place of its buttons, then ask what is still missing."""
    draft = _draft(context)
    code = lang(context)
    shown = t(code, "chosen", label=drafts.field_label(step, code), value=drafts.chosen_value(draft, step, code))
    await settle(update, context, shown)
    return await ask(update, context, drafts.next_step(draft))


# ---------- answers by button ----------


async def _ref_name(context: Context, kind: str, ref_id: int) -> str | None:
    if kind == "dep":
        refs = await backends(context).departures()
    else:
        refs = await backends(context).destinations(_draft(context).get("departure") or "Алматы")
    return next((r.name for r in refs if r.id == ref_id), None)


async def pick_departure(update: Update, context: Context) -> str:
    """Stores the departure city chosen from the operator's list (a country not flown to from there is dropped).
    Asks: the next missing step (usually the country)."""
    draft = _draft(context)
    name = await _ref_name(context, "dep", int(update.callback_query.data.split(":")[1]))
    if name is None:
        await settle(update, context)
        return await ask(update, context, states.DEPARTURE)
    draft["departure"] = name
    drafts.done(draft, states.DEPARTURE)
    if draft.get("country"):
        served = await backends(context).destinations(name)
        if await backends(context).match(served, draft["country"]) is None:
            draft["country"] = draft["resort"] = None
            drafts.undo(draft, states.COUNTRY)
    return await advance(update, context, states.DEPARTURE)


async def pick_country(update: Update, context: Context) -> str:
    """Stores the destination country from the operator's list. Asks: the next missing step (usually the dates)."""
    draft = _draft(context)
    name = await _ref_name(context, "cty", int(update.callback_query.data.split(":")[1]))
    if name is None:
        await settle(update, context)
        return await ask(update, context, states.COUNTRY)
    if draft.get("country") != name:
        draft["resort"] = None
    draft["country"] = name
    drafts.done(draft, states.COUNTRY)
    return await advance(update, context, states.COUNTRY)


async def page(update: Update, context: Context) -> str:
    """«Ещё ›» / «‹ Предыдущие» under the departure cities or countries ("pg:<dep|cty>:<page>"): the same question
    with another page of the list, in place. Stores nothing; the step stays."""
    query = update.callback_query
    _pg, kind, number = query.data.split(":")
    step = states.DEPARTURE if kind == "dep" else states.COUNTRY
    try:
        refs = (await backends(context).departures() if kind == "dep"
                else await backends(context).destinations(_draft(context).get("departure") or "Алматы"))
    except (IntegrationError, DomainError):
        await settle(update, context, keep_text=True)
        return await ask(update, context, step)  # says the list cannot be read, and what to do instead
    await query.answer()
    try:
        await query.edit_message_reply_markup(keyboards.places(refs, kind, lang(context), page=int(number)))
    except BadRequest as exc:  # pressed twice: the page is already shown
        log.debug("could not turn the page: %s", exc)
    return step


async def pick_month(update: Update, context: Context) -> str:
    """Stores a month as the check-in window. Asks: the next missing step (usually nights)."""
    year, month = (int(x) for x in update.callback_query.data.split(":")[1].split("-"))
    drafts.set_month(_draft(context), year, month, today())
    return await advance(update, context, states.DATES)


async def pick_nights(update: Update, context: Context) -> str:
    """Stores a nights range ("7–10") or an exact number. Asks: the next missing step (usually adults)."""
    low, high = (int(x) for x in update.callback_query.data.split(":")[1].split("-"))
    drafts.set_nights(_draft(context), low, high)
    return await advance(update, context, states.NIGHTS)


async def pick_adults(update: Update, context: Context) -> str:
    """Stores the number of adults. Asks: the next missing step (usually children)."""
    draft = _draft(context)
    draft["adults"] = int(update.callback_query.data.split(":")[1])
    drafts.done(draft, states.ADULTS)
    return await advance(update, context, states.ADULTS)


async def pick_children(update: Update, context: Context) -> str:
    """Stores the number of children (their ages are asked next, one by one). Asks: a child's age, or the budget."""
    draft = _draft(context)
    draft["children"], draft["children_ages"] = int(update.callback_query.data.split(":")[1]), []
    drafts.done(draft, states.CHILDREN)
    return await advance(update, context, states.CHILDREN)


async def pick_age(update: Update, context: Context) -> str:
    """Stores one child's age. Asks: the next child's age, or the next missing step."""
    draft = _draft(context)
    draft.setdefault("children_ages", []).append(int(update.callback_query.data.split(":")[1]))
    return await advance(update, context, states.CHILD_AGE)


async def pick_budget(update: Update, context: Context) -> str:
    """Stores the budget ("bud:<amount>:<currency>", or "bud:0" for none). Asks: nothing more — the summary."""
    parts = update.callback_query.data.split(":")
    amount = int(parts[1])
    drafts.set_budget(_draft(context), amount or None, parts[2] if len(parts) > 2 else None)
    return await advance(update, context, states.BUDGET)


# ---------- answers by typing a number ----------


def typed_number(step: str) -> Handler:
    """A handler for a number typed at `step` (nights, adults, children, a child's age, the budget)."""

    async def handler(update: Update, context: Context) -> str:
        """Stores the typed number for the step (re-asks when out of range). Asks: the next missing step."""
        draft, code, raw = _draft(context), lang(context), update.message.text.strip()
        if step == states.BUDGET:
            amount = drafts.parse_amount(raw)
            if amount is None:
                return await ask(update, context, step, t(code, "bad.number", low=1, high=10**9))
            drafts.set_budget(draft, amount, draft.get("currency"))
            return await ask(update, context, drafts.next_step(draft))
        low, high = NUMBER_RANGES[step]
        value = int(raw)
        if not low <= value <= high:
            return await ask(update, context, step, t(code, "bad.number", low=low, high=high))
        if step == states.NIGHTS:
            drafts.set_nights(draft, value, value)
        elif step == states.ADULTS:
            draft["adults"] = value
            drafts.done(draft, step)
        elif step == states.CHILDREN:
            draft["children"], draft["children_ages"] = value, []
            drafts.done(draft, step)
        else:
            draft.setdefault("children_ages", []).append(value)
        return await ask(update, context, drafts.next_step(draft))

    handler.__name__ = f"typed_{step}"
    return handler


# ---------- back, edit ----------


def back(step: str) -> Handler:
    """The «Назад» handler of a step: re-asks the step before it (the menu before the first)."""

    async def handler(update: Update, context: Context) -> str:
        """Forgets the previous step's answer and asks it again (from the first step: back to the menu)."""
        await settle(update, context)
        draft = _draft(context)
        if step == states.RESULTS:
            return await ask(update, context, states.SUMMARY)
        if step == states.EDIT:
            return await ask(update, context, states.SUMMARY)
        previous = drafts.previous_step(step)
        if previous is None:
            return await show_menu(update, context)
        drafts.undo(draft, previous)
        if previous == states.CHILDREN:
            draft["children_ages"] = []
        return await ask(update, context, previous)

    handler.__name__ = f"back_from_{step}"
    return handler


async def edit(update: Update, context: Context) -> str:
    """«Изменить»: asks which part of the request to change."""
    await settle(update, context)
    return await ask(update, context, states.EDIT)


async def edit_field(update: Update, context: Context) -> str:
    """Forgets one answer ("edit:<step>") and asks it again; the summary follows since the rest is known."""
    await settle(update, context)
    step = update.callback_query.data.split(":", 1)[1]
    draft = _draft(context)
    if step not in states.WIZARD:
        return await ask(update, context, states.SUMMARY)
    drafts.undo(draft, step)
    if step == states.CHILDREN:
        draft["children_ages"] = []
    return await ask(update, context, step)


# ---------- free text ----------


async def _checked_places(context: Context, draft: drafts.Draft) -> str:
    """Keep only a departure and a country the operator knows (by their names there); the problem, if any."""
    notices = []
    try:
        if draft.get("departure"):
            found = await backends(context).match(await backends(context).departures(), draft["departure"])
            if found is None:
                notices.append(t(lang(context), "bad.place", name=draft["departure"]))
                draft["departure"] = None
                drafts.undo(draft, states.DEPARTURE)
            else:
                draft["departure"] = found.name
        if draft.get("country"):
            served = await backends(context).destinations(draft.get("departure") or "Алматы")
            found = await backends(context).match(served, draft["country"])
            if found is None:
                notices.append(t(lang(context), "bad.place", name=draft["country"]))
                draft["country"] = draft["resort"] = None
                drafts.undo(draft, states.COUNTRY)
            else:
                draft["country"] = found.name
    except (IntegrationError, DomainError) as exc:
        log.warning("could not check places against the operator's dictionaries: %s", exc)
    return "\n".join(notices)


async def _apply(update: Update, context: Context, reading) -> None:
    """Merge an AI reading into the chat's lead (not into one that already has a booking request)."""
    lead_id = context.chat_data.get("lead_id")
    if not lead_id or (context.chat_data.get("booked") and reading.intent not in ("human_request", "complaint")):
        return
    try:
        await in_session(chat_leads.apply_reading, lead_id=lead_id, extraction=reading, today=today())
    except DomainError as exc:
        log.warning("lead %s: the AI reading was not applied: %s", lead_id, exc)


async def _note_ai_failure(context: Context, reason: str) -> None:
    """OpenAI failed and the rules engine read the message: the managers see it on the lead (once in a while)."""
    lead_id = context.chat_data.get("lead_id")
    if not lead_id or time.time() - float(context.chat_data.get("ai_noted_at") or 0) < AI_NOTE_EVERY_S:
        return
    context.chat_data["ai_noted_at"] = time.time()
    try:
        await in_session(chat_leads.note, lead_id=lead_id,
                         text=f"ИИ (OpenAI) не ответил: {reason}. Бот разобрал сообщения клиента резервным движком "
                              "правил — проверьте, правильно ли он понял запрос.")
    except DomainError as exc:
        log.warning("lead %s: the AI failure note was not added: %s", lead_id, exc)


async def free_text(update: Update, context: Context) -> str | None:
    """Anything typed where no step expects it: read by the AI engine (OpenAI or the rules engine). A request for a
    person or a complaint hands the chat to a manager; what it understood about the trip fills the search (and
    the lead), is shown back, and only what is still missing is asked."""
    code, text = lang(context), update.message.text
    reading, ai_failure = await backends(context).read(text)
    if ai_failure:
        await _note_ai_failure(context, ai_failure)
    if reading.intent in ("human_request", "complaint"):
        await _apply(update, context, reading)
        return await handoff(update, context, reason=reading.intent)
    step = context.chat_data.get("step") or states.MENU
    if step in (states.MENU, states.RESULTS):  # a new request, not a correction of the one being asked
        context.chat_data["draft"] = drafts.new()
    draft = _draft(context)
    found = drafts.fill(draft, reading)
    if found and context.chat_data.get("booked"):  # after a booking request: another trip, another lead
        info = await in_session(chat_leads.new_request, person=person(update, context),
                                message_id=update.message.message_id)
        context.chat_data["lead_id"], context.chat_data["booked"] = info.lead_id, info.booked
    await _apply(update, context, reading)
    if not found:
        if step in (*states.WIZARD, states.CHILD_AGE, states.SUMMARY, states.EDIT):
            return await ask(update, context, step, t(code, "bad.dates") if step == states.DATES else "")
        if reading.intent == "greeting":
            return await show_menu(update, context, t(code, "greeting", name=update.effective_user.first_name or ""))
        return await show_menu(update, context, t(code, "not_understood"))
    notice = await _checked_places(context, draft)
    if drafts.dates_in_past(draft, today()):
        drafts.undo(draft, states.DATES)
        notice = "\n".join(filter(None, [notice, t(code, "bad.dates_past")]))
    understood = t(code, "understood", summary=drafts.summary(draft, code))
    prefix = "\n\n".join(filter(None, [understood, notice]))
    return await ask(update, context, drafts.next_step(draft), prefix)


# ---------- the search and its results ----------


def _hotel_and_stars(offer: dict) -> tuple[str, str]:
    """The hotel's name and its stars as ★ (the "4*" operators append to the name is then dropped)."""
    hotel, stars = offer["hotel"], offer.get("stars")
    if isinstance(stars, int) and 1 <= stars <= 5:
        return STARS_IN_NAME.sub("", hotel) or hotel, "★" * stars
    return hotel, ""


def _offer_text(offer: dict, code: str) -> str:
    hotel, stars = _hotel_and_stars(offer)
    text = t(code, "offer", hotel=hotel, stars=f" {stars}" if stars else "", resort=offer["resort"],
             country=offer["country"],
             start=day(dt.date.fromisoformat(offer["date_from"])), end=day(dt.date.fromisoformat(offer["date_to"])),
             nights=offer["nights"], meal=meal_label(offer["meal"], code), room=offer["room"],
             price=money(Decimal(offer["price"])), currency=offer["currency"],
             per_person=money(Decimal(offer["price"]) / max(1, offer["adults"] + len(offer["children_ages"]))))
    if offer.get("availability") in ("few", "request"):
        text += "\n" + t(code, f"offer.{offer['availability']}")
    return text


def _best(offers: list) -> list:
    """The cheapest bookable offer of each hotel, cheapest first (sold-out rows left out)."""
    by_hotel: dict = {}
    for offer in offers:
        if offer.availability == "stop":
            continue
        key = offer.hotel_id or offer.hotel
        if key not in by_hotel or (not offer.bookable, offer.price) < (not by_hotel[key].bookable, by_hotel[key].price):
            by_hotel[key] = offer
    return sorted(by_hotel.values(), key=lambda o: (not o.bookable, o.price))


FIELD_STEPS = {"departure": states.DEPARTURE, "country": states.COUNTRY, "resorts": states.COUNTRY,
               "date_from": states.DATES, "date_to": states.DATES, "nights_max": states.NIGHTS,
               "nights_min": states.NIGHTS, "adults": states.ADULTS, "children_ages": states.CHILDREN,
               "budget": states.BUDGET, "currency": states.BUDGET, "meal": states.SUMMARY}


async def go(update: Update, context: Context) -> str:
    """«Искать туры»: saves the request on the lead (opening one), asks the operator, shows the best offers a few at
    a time (demo results say so). No offers: says so and offers wider dates or nights. The operator failing: the
    customer is told their request number and that a manager will follow up; the lead gets a note."""
    code, draft = lang(context), _draft(context)
    await settle(update, context, drafts.summary(draft, code))
    status = await send(update, context, t(code, "searching"))
    await typing(update, context)
    who = person(update, context)
    try:
        info = await in_session(chat_leads.save_search, person=who, request=drafts.travel_request(draft))
    except DomainError as exc:
        log.warning("chat %s: the travel request was not saved: %s", who.chat_id, exc)
        info = await in_session(chat_leads.chat_info, namespace=who.namespace, chat_id=who.chat_id)
    context.chat_data["lead_id"], context.chat_data["booked"] = info.lead_id, info.booked
    try:
        result = await backends(context).search(drafts.search_request(draft, today()))
    except ValidationFailed as exc:
        await status.edit_text(t(code, "search_invalid", reason=exc.message))
        step = FIELD_STEPS.get(exc.field or "", states.SUMMARY)
        drafts.undo(draft, step)
        return await ask(update, context, step)
    except (IntegrationError, DomainError) as exc:
        log.warning("chat %s: the operator search failed: %s", who.chat_id, exc)
        if info.lead_id:
            await in_session(chat_leads.note, lead_id=info.lead_id,
                             text=f"Поиск туров в боте не удался (туроператор): {getattr(exc, 'message', exc)}")
        await status.edit_text(t(code, "search_failed", number=info.lead_id or "—"))
        return await show_menu(update, context)
    offers = _best(result.offers)
    kept = [drafts.offer_to_dict(o, demo=result.demo) for o in offers[:KEEP_OFFERS]]
    context.chat_data["results"] = {"offers": kept, "shown": 0, "total": result.total or len(offers),
                                    "demo": result.demo}
    if info.lead_id:
        line = (f"Бот показал варианты ({result.total or len(offers)} найдено), от {money(offers[0].price)} "
                f"{offers[0].currency}" if offers else "Бот: по запросу туров не нашлось")
        await in_session(chat_leads.record_bot_message, lead_id=info.lead_id,
                         text=line + (" — демо-данные" if result.demo else ""))
    if not kept:
        await status.edit_text(t(code, "no_offers"), reply_markup=keyboards.no_offers(code))
        context.chat_data["step"] = states.RESULTS
        return states.RESULTS
    header = t(code, "found", total=result.total or len(offers))
    await status.edit_text(header + ("\n" + t(code, "found.demo") if result.demo else ""))
    return await show_page(update, context)


async def show_page(update: Update, context: Context) -> str:
    """The next few offers, each with «Хочу этот тур», then «Ещё» while there are more."""
    code, results = lang(context), context.chat_data.get("results") or {}
    offers, shown = results.get("offers") or [], int(results.get("shown") or 0)
    for index in range(shown, min(shown + PAGE, len(offers))):
        await send(update, context, _offer_text(offers[index], code), keyboards.offer(index, code))
    shown = min(shown + PAGE, len(offers))
    results["shown"] = shown
    more = shown < len(offers)
    footer = t(code, "more", shown=shown, total=len(offers)) if more else t(code, "no_more")
    await send(update, context, footer, keyboards.results_footer(code, more=more))
    context.chat_data["step"] = states.RESULTS
    return states.RESULTS


async def more(update: Update, context: Context) -> str:
    """«Ещё варианты»: the next page of offers."""
    await settle(update, context)
    if not (context.chat_data.get("results") or {}).get("offers"):
        return await show_menu(update, context)
    return await show_page(update, context)
