"""Helpers every handler uses, and the handlers that work anywhere: the gate before all others, /start and the
menu, /help, /cancel, /language, «Мои заявки», «О нас», the handoff to a manager and going back to the bot,
persistence after each update and the error handler."""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Message, ReplyKeyboardRemove, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from crystal_bay.bot import draft as drafts
from crystal_bay.bot import keyboards, states
from crystal_bay.bot.backends import in_session, read_session
from crystal_bay.bot.texts import day, language_of, t
from crystal_bay.services import chat_leads
from crystal_bay.services.chat_leads import ChatPerson

log = logging.getLogger("crystal_bay.bot")
Context = ContextTypes.DEFAULT_TYPE
SEEN_KEEP = 50  # update ids remembered per chat (a repeated update is dropped)
PASS_WHILE_PAUSED = ("start", "help", "cancel", "language")  # commands that work while a manager has the chat
ERROR_NOTE_EVERY_S = 900  # an unexpected error goes on the lead's timeline at most this often per chat


# ---------- helpers ----------


def namespace(context: Context) -> str:
    return context.bot_data.get("namespace", chat_leads.TELEGRAM)


def lang(context: Context) -> str:
    return context.chat_data.get("lang", "ru")


def person(update: Update, context: Context) -> ChatPerson:
    user = update.effective_user
    return ChatPerson(namespace=namespace(context), chat_id=update.effective_chat.id, user_id=user.id,
                      first_name=user.first_name or "", last_name=user.last_name, username=user.username,
                      language=lang(context))


def backends(context: Context):
    return context.bot_data["backends"]


async def send(update: Update, context: Context, text: str, markup=None) -> Message:
    """A new message in the customer's chat."""
    return await context.bot.send_message(chat_id=update.effective_chat.id, text=text, reply_markup=markup)


async def settle(update: Update, context: Context, text: str | None = None, *, keep_text: bool = False) -> None:
    """Answer a pressed button (so its spinner stops); with text, replace the prompt it was on by that text
    (the chosen value stays readable in the chat, the old buttons go); keep_text only takes the buttons away.
    Both calls go out concurrently, in the background: the next prompt does not wait for them."""
    query = update.callback_query
    if query is None:
        return
    edit = (text or keep_text) and query.message is not None
    context.application.create_task(_settle(query, text if edit else None, keep_text and edit), update=update,
                                    name="settle")


async def _settle(query, text: str | None, keep_text: bool) -> None:
    async def edit() -> None:
        try:
            if keep_text:
                await query.edit_message_reply_markup(None)
            elif text:
                await query.edit_message_text(text)
        except BadRequest as exc:  # not modified, or too old to edit: the new prompt follows anyway
            log.debug("could not edit the prompt: %s", exc)

    await asyncio.gather(query.answer(), edit())


async def typing(update: Update, context: Context) -> None:
    """"typing…" in the customer's chat while something slow runs (in the background)."""
    context.application.create_task(
        context.bot.send_chat_action(chat_id=update.effective_chat.id, action=ChatAction.TYPING), update=update,
        name="typing")


def reset_search(context: Context) -> None:
    context.chat_data["draft"] = drafts.new()
    context.chat_data.pop("booking", None)


async def show_menu(update: Update, context: Context, text: str | None = None) -> str:
    await send(update, context, text or t(lang(context), "menu"), keyboards.main_menu(lang(context)))
    context.chat_data["step"] = states.MENU
    return states.MENU


# ---------- before and after every update ----------


def _command(update: Update) -> str | None:
    """The command a message starts with ("start" for "/start@agency_bot now"), if any."""
    text = update.message.text if update.message and update.message.text else ""
    return text.split()[0][1:].split("@")[0].lower() if text.startswith("/") else None


async def gate(update: Update, context: Context) -> None:
    """Runs first (group -1): drops a repeated update; stores what the customer typed or shared on the lead's
    timeline (opening the lead); stays silent while a manager has the chat — except /help, /language (and the
    language buttons), /start (which says a manager is on it and offers «Вернуться к боту»), /cancel and that
    button (back to the bot). Another pressed button is answered with a line saying a manager will answer, as is
    another command. With `handoff_hours` set, a handoff idle that long is given back to the bot first."""
    chat = update.effective_chat
    if chat is None or chat.type != "private" or update.effective_user is None:
        raise ApplicationHandlerStop
    seen = context.chat_data.setdefault("seen", [])
    if update.update_id in seen:
        log.info("update %s repeated in chat %s: ignored", update.update_id, chat.id)
        raise ApplicationHandlerStop
    context.chat_data["seen"] = [*seen, update.update_id][-SEEN_KEEP:]
    context.chat_data.setdefault("lang", language_of(update.effective_user.language_code))
    message = update.message
    typed = message.text if message and message.text and not message.text.startswith("/") else None
    if message and message.contact:
        typed = f"📱 {message.contact.phone_number}"
    if typed:
        info = await in_session(chat_leads.record_inbound, person=person(update, context),
                                message_id=message.message_id, text=typed)
    else:
        info = await read_session(chat_leads.chat_info, namespace=namespace(context), chat_id=chat.id)
    if info.paused and (hours := context.bot_data.get("handoff_hours") or 0):
        info = await in_session(chat_leads.resume_if_idle, namespace=namespace(context), chat_id=chat.id, hours=hours)
    context.chat_data["lead_id"], context.chat_data["booked"] = info.lead_id, info.booked
    context.chat_data["paused"] = info.paused
    if not info.paused:
        return
    data = (update.callback_query.data or "") if update.callback_query else ""
    if _command(update) in PASS_WHILE_PAUSED or data == "resume" or data.startswith("lang:"):
        return  # answered by the conversation's handlers, which know the chat is paused
    if update.callback_query:
        await update.callback_query.answer(t(lang(context), "handoff.waiting"))
    elif _command(update):
        await send(update, context, t(lang(context), "handoff.waiting"))
    await persist(update, context)
    raise ApplicationHandlerStop


async def persist(update: Update, context: Context) -> None:
    """Runs last (group 1): has the chat's data and conversation state written to the database right away, in the
    background (writes of many chats are coalesced), so a restart resumes where the customer was without making
    the chat's next message wait for the write."""
    app = context.application
    if update.effective_chat is not None:
        app.mark_data_for_update_persistence(chat_ids=update.effective_chat.id)
    if app.persistence is not None and hasattr(app.persistence, "schedule_flush"):
        app.persistence.schedule_flush(app)


async def _note_error(context: Context, text: str) -> None:
    """Put what went wrong on the chat's lead, so the managers see it (at most every ERROR_NOTE_EVERY_S per chat)."""
    lead_id = context.chat_data.get("lead_id") if context.chat_data is not None else None
    if not lead_id or time.time() - float(context.chat_data.get("error_noted_at") or 0) < ERROR_NOTE_EVERY_S:
        return
    context.chat_data["error_noted_at"] = time.time()
    try:
        await in_session(chat_leads.note, lead_id=lead_id, text=text)
    except Exception:  # noqa: BLE001 - the error handler must not fail; the original error is logged already
        log.exception("lead %s: the bot error note was not added", lead_id)


async def on_error(update: object, context: Context) -> None:
    """Logs first. A customer who blocked the bot is remembered (the lead says so); another refusal to deliver
    is noted on the lead. An unexpected error is noted on the chat's lead (so a manager can step in) and the
    customer gets a polite line when we can still reach them. Other chats are never affected."""
    error = context.error
    chat = update.effective_chat if isinstance(update, Update) else None
    if isinstance(error, Forbidden):
        log.warning("chat %s: Telegram refused to deliver (%s)", chat.id if chat else "?", error.message)
        if chat is not None and "blocked" in error.message.lower():
            await in_session(chat_leads.mark_blocked, namespace=namespace(context), chat_id=chat.id)
        elif chat is not None:
            await _note_error(context, f"Telegram не доставил ответ бота: {error.message}")
        return
    if isinstance(error, RetryAfter):
        log.warning("chat %s: Telegram flood control still active after retries: %s", chat.id if chat else "?", error)
        return
    log.error("bot error on update %s", getattr(update, "update_id", "?"), exc_info=error)
    if chat is None:
        return
    await _note_error(context, f"Бот не смог обработать сообщение клиента из-за внутренней ошибки "
                               f"({type(error).__name__}); клиенту предложено повторить или позвать менеджера. "
                               "Проверьте диалог; подробности — в журнале бота.")
    try:
        await context.bot.send_message(chat_id=chat.id, text=t(lang(context), "error"),
                                       reply_markup=keyboards.main_menu(lang(context)))
    except TelegramError as exc:
        log.warning("chat %s: could not apologise either: %s", chat.id, exc)


# ---------- commands and the menu ----------


async def start(update: Update, context: Context) -> str | None:
    """/start: greets the customer by name and shows the menu; forgets a half-done search. Asks: what to do.
    While a manager has the chat: says so and offers «Вернуться к боту» (nothing is forgotten)."""
    if context.chat_data.get("paused"):
        await send(update, context, t(lang(context), "handoff.paused"), keyboards.resume(lang(context)))
        return None
    reset_search(context)
    name = update.effective_user.first_name or ""
    await send(update, context, t(lang(context), "greeting", name=name), ReplyKeyboardRemove())
    return await show_menu(update, context)


async def help_command(update: Update, context: Context) -> None:
    """/help: what the bot can do and its commands. Stores nothing; the conversation stays where it was."""
    await send(update, context, t(lang(context), "help"))


async def cancel(update: Update, context: Context) -> str:
    """/cancel or «Отмена»: drops the current search or booking request and shows the menu. While a manager has
    the chat: gives the chat back to the bot (see `resume`)."""
    if context.chat_data.get("paused"):
        return await resume(update, context)
    await settle(update, context)
    reset_search(context)
    await send(update, context, t(lang(context), "cancelled"), ReplyKeyboardRemove())
    return await show_menu(update, context)


async def resume(update: Update, context: Context) -> str:
    """«Вернуться к боту» (or /cancel) after a handoff: the bot answers this chat again (the lead says so), then the
    menu. A stale button (a manager handed the chat back already) just shows the menu."""
    await settle(update, context, keep_text=True)
    if context.chat_data.get("paused"):
        await in_session(chat_leads.resume_bot, namespace=namespace(context), chat_id=update.effective_chat.id)
        context.chat_data["paused"] = False
        reset_search(context)
        await send(update, context, t(lang(context), "handoff.resumed"), ReplyKeyboardRemove())
    return await show_menu(update, context)


async def language(update: Update, context: Context) -> None:
    """/language: asks which language to speak (the answer is handled by set_language)."""
    await send(update, context, t(lang(context), "language.ask"), keyboards.languages())


async def set_language(update: Update, context: Context) -> None:
    """Stores the chosen language (the chat and the customer) and confirms it; the conversation stays where it was."""
    chosen = update.callback_query.data.split(":", 1)[1]
    context.chat_data["lang"] = chosen
    await settle(update, context, t(chosen, "language.set"))
    await in_session(chat_leads.set_language, person=person(update, context), language=chosen)
    if context.chat_data.get("paused"):
        await send(update, context, t(chosen, "handoff.paused"), keyboards.resume(chosen))
    else:
        await send(update, context, t(chosen, "menu"), keyboards.main_menu(chosen))


async def about(update: Update, context: Context) -> str:
    """«О нас»: the agency in a few lines, then the menu."""
    await settle(update, context)
    await send(update, context, t(lang(context), "about"))
    return await show_menu(update, context)


def _status_words(item: chat_leads.RequestStatus, language_code: str) -> str:
    if item.outcome in ("won", "lost"):
        return t(language_code, f"status.{item.outcome}")
    return t(language_code, f"status.{item.status}")


async def my_requests(update: Update, context: Context) -> str:
    """«Мои заявки»: the customer's requests with their status (and bookings) in plain words, then the menu."""
    await settle(update, context)
    items = await read_session(chat_leads.customer_requests, namespace=namespace(context),
                             chat_id=update.effective_chat.id)
    code = lang(context)
    if not items:
        return await show_menu(update, context, t(code, "requests.none"))
    lines = [t(code, "requests.title")]
    for item in items:
        what = item.destination or t(code, "requests.no_destination")
        if item.date_from:
            what += f", {day(item.date_from)}" + (f" — {day(item.date_to)}" if item.date_to else "")
        lines.append(t(code, "requests.item", number=item.number, what=what, status=_status_words(item, code)))
        lines += [t(code, "requests.booking", status=t(code, f"booking.{b}")) for b in item.bookings]
    await send(update, context, "\n\n".join(lines))
    return await show_menu(update, context)


async def handoff(update: Update, context: Context, reason: str = "button") -> str:
    """«Связаться с менеджером» (or a request for a person, or a complaint): flags the lead for a manager and
    pauses the bot in this chat until a manager hands it back; tells the customer so."""
    await settle(update, context)
    await in_session(chat_leads.request_human, person=person(update, context), reason=reason)
    await send(update, context, t(lang(context), "handoff"), ReplyKeyboardRemove())
    context.chat_data["step"] = states.MENU
    context.chat_data["paused"] = True
    return states.MENU


async def menu_action(update: Update, context: Context) -> str:
    """The menu's buttons ("m:<action>"), wherever they are pressed."""
    from crystal_bay.bot import search

    action = update.callback_query.data.split(":", 1)[1]
    if action == "search":
        return await search.start_search(update, context)
    if action == "requests":
        return await my_requests(update, context)
    if action == "manager":
        return await handoff(update, context)
    if action == "about":
        return await about(update, context)
    await settle(update, context)
    return await show_menu(update, context)


async def stale_button(update: Update, context: Context) -> None:
    """A button from an old message that means nothing now: answered, nothing changes."""
    await update.callback_query.answer(t(lang(context), "menu"))
