"""The booking request: «Хочу этот тур» → name → phone (shared or typed) → optional comment → confirmation →
a lead with the offer's snapshot and a request number for the customer."""

from __future__ import annotations

import logging

from telegram import ReplyKeyboardRemove, Update

from crystal_bay.bot import draft as drafts
from crystal_bay.bot import keyboards, states
from crystal_bay.bot.backends import in_session
from crystal_bay.bot.common import Context, cancel, lang, person, send, settle, show_menu
from crystal_bay.bot.search import _offer_text, show_page
from crystal_bay.bot.texts import t
from crystal_bay.services import chat_leads, customers
from crystal_bay.services.errors import DomainError

log = logging.getLogger("crystal_bay.bot")
MAX_NAME = 200


def _booking(context: Context) -> dict:
    return context.chat_data.setdefault("booking", {})


def _offer(context: Context) -> dict | None:
    offers = (context.chat_data.get("results") or {}).get("offers") or []
    index = _booking(context).get("offer")
    return offers[index] if isinstance(index, int) and 0 <= index < len(offers) else None


async def ask_name(update: Update, context: Context) -> str:
    code, offer = lang(context), _offer(context)
    await send(update, context, t(code, "book.ask_name", offer=_offer_text(offer, code)),
               keyboards.booking_name(update.effective_user.first_name or "", code))
    context.chat_data["step"] = states.BOOK_NAME
    return states.BOOK_NAME


async def ask_phone(update: Update, context: Context) -> str:
    await send(update, context, t(lang(context), "book.ask_phone"), keyboards.share_phone(lang(context)))
    context.chat_data["step"] = states.BOOK_PHONE
    return states.BOOK_PHONE


async def ask_comment(update: Update, context: Context) -> str:
    code = lang(context)
    await send(update, context, t(code, "chosen", label=t(code, "field.phone"), value=_booking(context)["phone"]), ReplyKeyboardRemove())
    await send(update, context, t(code, "book.ask_comment"), keyboards.skip(code))
    context.chat_data["step"] = states.BOOK_COMMENT
    return states.BOOK_COMMENT


async def ask_confirm(update: Update, context: Context) -> str:
    code, booking = lang(context), _booking(context)
    await send(update, context, t(code, "book.confirm", offer=_offer_text(_offer(context), code), name=booking["name"],
                                  phone=booking["phone"], comment=booking.get("comment") or t(code, "book.no_comment")),
               keyboards.confirm(code))
    context.chat_data["step"] = states.BOOK_CONFIRM
    return states.BOOK_CONFIRM


async def want(update: Update, context: Context) -> str:
    """«Хочу этот тур» ("want:<n>"): remembers which offer. Asks: the customer's name (Telegram's name one tap away)."""
    await settle(update, context)
    context.chat_data["booking"] = {"offer": int(update.callback_query.data.split(":")[1])}
    if _offer(context) is None:
        return await show_menu(update, context, t(lang(context), "book.gone"))
    return await ask_name(update, context)


async def name_from_telegram(update: Update, context: Context) -> str:
    """Stores the name Telegram knows as the customer's name. Asks: the phone."""
    user = update.effective_user
    _booking(context)["name"] = " ".join(p for p in (user.first_name, user.last_name) if p)
    await settle(update, context, t(lang(context), "chosen", label=t(lang(context), "field.name"), value=_booking(context)["name"]))
    return await ask_phone(update, context)


async def typed_name(update: Update, context: Context) -> str:
    """Stores the typed name (1–200 characters). Asks: the phone."""
    name = " ".join(update.message.text.split())
    if not name or len(name) > MAX_NAME:
        await send(update, context, t(lang(context), "book.bad_name"))
        return states.BOOK_NAME
    _booking(context)["name"] = name
    return await ask_phone(update, context)


async def _take_phone(update: Update, context: Context, raw: str) -> str:
    try:
        _booking(context)["phone"] = customers.normalize_phone(raw)
    except DomainError:
        await send(update, context, t(lang(context), "book.bad_phone"), keyboards.share_phone(lang(context)))
        return states.BOOK_PHONE
    return await ask_comment(update, context)


async def shared_contact(update: Update, context: Context) -> str:
    """Stores the phone from Telegram's "share contact" button (validated). Asks: an optional comment."""
    return await _take_phone(update, context, update.message.contact.phone_number)


async def typed_phone(update: Update, context: Context) -> str:
    """Stores a typed phone, validated with phonenumbers (Kazakhstan by default); the reply keyboard's «Назад» and
    «Отмена» arrive as text too. Asks: an optional comment (or the phone again)."""
    text, code = update.message.text.strip(), lang(context)
    if text == t(code, "btn.back"):
        await send(update, context, t(code, "ok"), ReplyKeyboardRemove())
        return await ask_name(update, context)
    if text == t(code, "btn.cancel"):
        return await cancel(update, context)
    return await _take_phone(update, context, text)


async def typed_comment(update: Update, context: Context) -> str:
    """Stores the comment. Asks: to confirm the request."""
    _booking(context)["comment"] = update.message.text.strip()[:2000]
    return await ask_confirm(update, context)


async def skip_comment(update: Update, context: Context) -> str:
    """No comment. Asks: to confirm the request."""
    await settle(update, context, t(lang(context), "chosen", label=t(lang(context), "field.comment"), value=t(lang(context), "book.no_comment")))
    _booking(context)["comment"] = ""
    return await ask_confirm(update, context)


async def send_request(update: Update, context: Context) -> str:
    """«Отправить заявку»: the lead is created or attached (customer deduplicated by Telegram id and phone) with
    the travel request and a snapshot of the offer, moved to the stage a manager works it in; the customer gets
    the request number. Then the menu."""
    code, booking, offer = lang(context), _booking(context), _offer(context)
    await settle(update, context, keep_text=True)
    if offer is None or not booking.get("phone"):
        return await show_menu(update, context, t(code, "book.gone"))
    contact = chat_leads.ContactDetails(name=booking["name"], phone=booking["phone"], comment=booking.get("comment", ""))
    info = await in_session(chat_leads.book_offer, person=person(update, context),
                            offer=drafts.offer_from_dict(offer), contact=contact)
    context.chat_data["lead_id"], context.chat_data["booked"] = info.lead_id, info.booked
    context.chat_data.pop("booking", None)
    return await show_menu(update, context, t(code, "book.done", number=info.lead_id))


def back(step: str):
    """The «Назад» handler of a booking step."""

    async def handler(update: Update, context: Context) -> str:
        """Goes one booking step back (from the name: back to the offers)."""
        await settle(update, context)
        if step == states.BOOK_NAME:
            results = context.chat_data.get("results") or {}
            results["shown"] = max(0, int(results.get("shown") or 0) - 3)
            return await show_page(update, context)
        if step == states.BOOK_COMMENT:
            return await ask_phone(update, context)
        if step == states.BOOK_CONFIRM:
            await send(update, context, t(lang(context), "book.ask_comment"), keyboards.skip(lang(context)))
            context.chat_data["step"] = states.BOOK_COMMENT
            return states.BOOK_COMMENT
        return await ask_name(update, context)

    handler.__name__ = f"back_from_{step}"
    return handler
