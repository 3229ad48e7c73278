"""Leads from chats with the bot: who the customer is, which lead a chat is about, what they asked for.

The Telegram bot (`crystal_bay.bot`) calls these; the rules live here:

- a chat's customer is found by the chat, then by Telegram id; when they give a phone that another
  customer record already has, the two records are merged (dedupe by Telegram id and phone);
- a chat talks about one open lead at a time (source `telegram`, opened in the first stage by the
  first message the customer types, a search or a handoff); a booking request snapshots the chosen
  offer on it, moves it to "Подбор тура" and flags it for a manager; the next search opens a new lead;
- every message the customer types lands on the lead's timeline (once per Telegram message id);
- a handoff pauses the bot in the chat and flags the lead until a manager hands it back
  (`services.messaging.hand_back`), the customer goes back to the bot (`resume_bot`: /cancel or
  «Вернуться к боту»), or — when the bot is set to — the handoff has been idle for some hours (`resume_if_idle`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import String, cast, func
from sqlmodel import Session, col, select, update

from crystal_bay.models import Booking, BotChat, Channel, Customer, Lead, Message, PipelineStage, utcnow
from crystal_bay.services import audit, conversations, customers, leads, pipeline, tours
from crystal_bay.services.ai import Extraction
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import ValidationFailed

BOT_ACTOR = Actor(type="bot", label="Telegram-бот")
TELEGRAM = "telegram"  # the real bot's namespace; the dashboard preview uses "preview"
BOOKING_STAGE = "tour_selection"  # where a booking request waits for a manager ("Подбор тура")
MAX_TEXT = 4096


@dataclass(frozen=True)
class ChatPerson:
    """The customer behind a private chat, as Telegram describes them."""

    namespace: str
    chat_id: int
    user_id: int
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    language: str = "ru"

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p).strip() or "Клиент Telegram"


@dataclass(frozen=True)
class ChatInfo:
    """What the bot needs to know about a chat before it answers."""

    lead_id: int | None
    customer_id: int | None
    paused: bool
    language: str
    booked: bool = False


def _info(chat: BotChat | None) -> ChatInfo:
    if chat is None:
        return ChatInfo(lead_id=None, customer_id=None, paused=False, language="ru")
    return ChatInfo(lead_id=chat.lead_id, customer_id=chat.customer_id, paused=chat.paused, language=chat.language,
                    booked=chat.lead_booked)


def chat_info(*, session: Session, namespace: str, chat_id: int) -> ChatInfo:
    """The chat's lead, customer, language and whether a manager has it (nothing is created)."""
    return _info(session.get(BotChat, (namespace, chat_id)))


def _chat(session: Session, person: ChatPerson) -> BotChat:
    chat = session.get(BotChat, (person.namespace, person.chat_id))
    if chat is None:
        chat = BotChat(namespace=person.namespace, chat_id=person.chat_id, language=person.language)
        session.add(chat)
        session.flush()
    return chat


def _touch(session: Session, *rows) -> None:
    now = utcnow()
    for row in rows:
        row.updated_at = now
        session.add(row)


def _customer(session: Session, chat: BotChat, person: ChatPerson) -> Customer:
    """The chat's customer: known to the chat, else by Telegram id (the real bot only), else new."""
    customer = session.get(Customer, chat.customer_id) if chat.customer_id else None
    if customer is None and person.namespace == TELEGRAM:
        customer = session.exec(select(Customer).where(Customer.telegram_id == str(person.user_id))
                                .order_by(col(Customer.id))).first()
    if customer is None:
        username = person.username if person.username and customers.TELEGRAM_USERNAME.fullmatch(person.username) \
            else None
        customer = Customer(name=person.name[:200], language=person.language,
                            telegram_id=str(person.user_id) if person.namespace == TELEGRAM else None,
                            telegram_username=username if person.namespace == TELEGRAM else None)
        session.add(customer)
        session.flush()
        audit.record(session=session, actor=BOT_ACTOR, entity_type="customer", entity_id=customer.id,
                     action="created", data={"source": Channel.telegram.value, "namespace": person.namespace})
    if chat.customer_id != customer.id:
        chat.customer_id = customer.id
        _touch(session, chat)
    return customer


def _open_lead(session: Session, chat: BotChat, customer: Customer, *, new: bool = False) -> Lead:
    """The lead the chat talks about; a new one when asked, or when the chat has none open."""
    lead = session.get(Lead, chat.lead_id) if chat.lead_id and not new else None
    if lead is not None and lead.outcome is not None:
        lead = None
    if lead is None and not new and chat.lead_id is None:
        lead = session.exec(select(Lead).where(Lead.customer_id == customer.id, Lead.source == Channel.telegram.value,
                                               col(Lead.outcome).is_(None))
                            .order_by(col(Lead.updated_at).desc(), col(Lead.id).desc())).first()
    if lead is None:
        lead = leads.create_lead(session=session, customer_id=customer.id, source=Channel.telegram.value,
                                 actor=BOT_ACTOR)
        chat.lead_booked = False
    if chat.lead_id != lead.id:
        chat.lead_id = lead.id
        _touch(session, chat)
    return lead


def _external_id(person: ChatPerson, message_id: int) -> str:
    return f"{person.namespace}:{person.chat_id}:{message_id}"


def record_inbound(*, session: Session, person: ChatPerson, message_id: int, text: str) -> ChatInfo:
    """Store what the customer typed on the chat's lead (opening one when needed); a repeat is ignored."""
    text = (text or "").strip()[:MAX_TEXT]
    chat = _chat(session, person)
    customer = _customer(session, chat, person)
    lead = _open_lead(session, chat, customer)
    external_id = _external_id(person, message_id)
    seen = session.exec(select(Message.id).where(Message.channel == Channel.telegram.value,
                                                 Message.external_id == external_id)).first()
    if seen is None and text:
        now = utcnow()
        session.add(Message(lead_id=lead.id, customer_id=customer.id, channel=Channel.telegram.value,
                            direction="inbound", author_type="customer", body=text, external_id=external_id,
                            delivery_status="received", created_at=now))
        lead.last_customer_message_at = now
        _touch(session, lead)
    if chat.blocked_at is not None:  # they write again: they unblocked the bot
        chat.blocked_at = None
        _touch(session, chat)
    session.flush()
    return _info(chat)


def record_bot_message(*, session: Session, lead_id: int, text: str) -> Message:
    """Put something the bot told the customer on the lead's timeline (a summary, not every prompt)."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise ValidationFailed(f"Lead {lead_id} does not exist.", field="lead_id")
    message = Message(lead_id=lead.id, customer_id=lead.customer_id, channel=Channel.telegram.value,
                      direction="outbound", author_type="bot", body=text.strip()[:MAX_TEXT], delivery_status="sent")
    session.add(message)
    session.flush()
    return message


def note(*, session: Session, lead_id: int, text: str) -> Message:
    """An internal note from the bot on the lead (e.g. the operator's search failed)."""
    return conversations.add_note(session=session, lead_id=lead_id, text=text[: conversations.MAX_NOTE],
                                  actor=BOT_ACTOR)


def set_language(*, session: Session, person: ChatPerson, language: str) -> ChatInfo:
    """Remember the chat's language (and the customer's, when we know them)."""
    if language not in customers.LANGUAGES:
        raise ValidationFailed("Language must be ru or en.", field="language")
    chat = _chat(session, person)
    chat.language = language
    _touch(session, chat)
    customer = session.get(Customer, chat.customer_id) if chat.customer_id else None
    if customer is not None and customer.language != language:
        customer.language = language
        _touch(session, customer)
    return _info(chat)


def save_search(*, session: Session, person: ChatPerson, request: leads.TravelRequestUpdate) -> ChatInfo:
    """Save the travel request set in the bot on the chat's lead (a new lead once the current one is booked)."""
    chat = _chat(session, person)
    customer = _customer(session, chat, person)
    lead = _open_lead(session, chat, customer, new=chat.lead_booked)
    leads.update_travel_request(session=session, lead_id=lead.id, data=request, actor=BOT_ACTOR)
    return _info(chat)


def new_request(*, session: Session, person: ChatPerson, message_id: int | None = None) -> ChatInfo:
    """The customer asks for another trip after a booking request: the chat gets a new lead, and the message that
    asked (when given) moves onto it."""
    chat = _chat(session, person)
    if not chat.lead_booked:
        return _info(chat)
    lead = _open_lead(session, chat, _customer(session, chat, person), new=True)
    if message_id is not None:
        message = session.exec(select(Message).where(Message.channel == Channel.telegram.value,
                                                     Message.external_id == _external_id(person, message_id))).first()
        if message is not None:
            message.lead_id = lead.id
            session.add(message)
    session.flush()
    return _info(chat)


def apply_reading(*, session: Session, lead_id: int, extraction: Extraction, today: dt.date | None = None):
    """What the AI understood from a free-text message, merged into the lead (the AI processor's rules:
    a manager's fields are kept, the lead is rescored, flagged on a complaint, a stage may be proposed)."""
    from crystal_bay.services.ai import processor

    return processor.apply_extraction(session=session, lead_id=lead_id, extraction=extraction, today=today,
                                      assign=False)


# ---------- booking requests ----------


@dataclass(frozen=True)
class ContactDetails:
    """What the customer gave for a booking request."""

    name: str
    phone: str
    comment: str = ""


def _by_phone(session: Session, phone: str) -> Customer | None:
    main = session.exec(select(Customer).where(Customer.phone == phone).order_by(col(Customer.id))).first()
    if main is not None:
        return main
    return session.exec(select(Customer).where(cast(Customer.phones, String).like(f'%"{phone}"%'))
                        .order_by(col(Customer.id))).first()


def _merge(session: Session, source: Customer, target: Customer) -> Customer:
    """Move the chat customer's leads, messages and chats onto the record that already had the phone."""
    session.exec(update(Lead).where(col(Lead.customer_id) == source.id).values(customer_id=target.id))
    session.exec(update(Message).where(col(Message.customer_id) == source.id).values(customer_id=target.id))
    session.exec(update(BotChat).where(col(BotChat.customer_id) == source.id).values(customer_id=target.id))
    target.telegram_id = target.telegram_id or source.telegram_id
    target.telegram_username = target.telegram_username or source.telegram_username
    _touch(session, target)
    audit.record(session=session, actor=BOT_ACTOR, entity_type="customer", entity_id=target.id, action="merged",
                 data={"merged_customer_id": source.id, "by": "phone"})
    session.flush()
    session.expire_all()
    session.delete(session.get(Customer, source.id))
    session.flush()
    return session.get(Customer, target.id)


def _with_phone(session: Session, chat: BotChat, customer: Customer, phone: str, name: str) -> Customer:
    """The chat's customer with this phone and name: merged into the record that had the phone (unless that is
    someone else's Telegram account), or updated."""
    other = _by_phone(session, phone)
    if other is not None and other.id != customer.id:
        other_account = other.telegram_id and customer.telegram_id and other.telegram_id != customer.telegram_id
        if not other_account:
            customer = _merge(session, customer, other)
            chat = session.get(BotChat, (chat.namespace, chat.chat_id))
    changed = []
    if phone not in (customer.phones or []) and customer.phone != phone:
        customer.phones = [*(customer.phones or []), phone]
        customer.phone = customer.phone or phone
        changed += ["phone", "phones"]
    if name and customer.name != name:
        customer.name = name
        changed.append("name")
    if changed:
        _touch(session, customer)
        audit.record(session=session, actor=BOT_ACTOR, entity_type="customer", entity_id=customer.id,
                     action="updated", data={"fields": changed})
    return customer


def _clean_contact(details: ContactDetails) -> ContactDetails:
    name = " ".join((details.name or "").split())
    if not name or len(name) > 200:
        raise ValidationFailed("A name of 1–200 characters is needed.", code="name_required", field="name")
    return ContactDetails(name=name, phone=customers.normalize_phone(details.phone),
                          comment=(details.comment or "").strip()[:2000])


def _money(amount) -> str:
    return f"{int(amount):,}".replace(",", " ")


def offer_line(offer: tours.Offer) -> str:
    """One line a manager reads: hotel, resort, dates, nights, meal, room, party, price."""
    party = f"{offer.adults} взр." + (f" + {len(offer.children_ages)} реб. ({', '.join(map(str, offer.children_ages))})"
                                      if offer.children_ages else "")
    return (f"{offer.hotel}, {offer.resort}, {offer.country}; {offer.date_from:%d.%m.%Y}–{offer.date_to:%d.%m.%Y}, "
            f"{offer.nights} ноч.; {offer.meal}, {offer.room}; {party}; {_money(offer.price)} {offer.currency}")


def _request_from_offer(offer: tours.Offer) -> leads.TravelRequestUpdate:
    return leads.TravelRequestUpdate(
        country=offer.country or leads.UNSET, resort=offer.resort or leads.UNSET, date_from=offer.date_from,
        date_to=offer.date_to, nights_min=offer.nights, nights_max=offer.nights, adults=offer.adults,
        children=len(offer.children_ages), children_ages=list(offer.children_ages),
        hotel_stars=offer.stars if offer.stars and 1 <= offer.stars <= 5 else leads.UNSET,
        meal=offer.meal if offer.meal in leads.MEALS else leads.UNSET,
    )


def _flag(session: Session, lead: Lead, reason: str) -> None:
    if not lead.needs_human:
        lead.needs_human = True
        _touch(session, lead)
        audit.record(session=session, actor=BOT_ACTOR, entity_type="lead", entity_id=lead.id, action="needs_human",
                     data={"reason": reason})


def _move_to(session: Session, lead: Lead, slug: str) -> None:
    """Move an open lead forward to the stage (never back)."""
    target = session.exec(select(PipelineStage).where(PipelineStage.slug == slug)).first()
    current = session.get(PipelineStage, lead.stage_id)
    if target is None or not target.is_active or lead.outcome is not None:
        return
    if current is None or current.position < target.position:
        pipeline.move_lead(session=session, lead_id=lead.id, stage_id=target.id, actor=BOT_ACTOR)


def book_offer(*, session: Session, person: ChatPerson, offer: tours.Offer, contact: ContactDetails) -> ChatInfo:
    """A booking request: the customer (deduplicated by phone), the lead with the travel request and a snapshot
    of the offer, moved to "Подбор тура" and flagged for a manager. The lead id is the request number."""
    contact = _clean_contact(contact)
    chat = _chat(session, person)
    customer = _with_phone(session, chat, _customer(session, chat, person), contact.phone, contact.name)
    chat = session.get(BotChat, (person.namespace, person.chat_id))
    lead = _open_lead(session, chat, customer, new=chat.lead_booked)
    snapshot = tours.snapshot_offers(session=session, lead_id=lead.id, offers=[offer])[0]
    leads.update_travel_request(session=session, lead_id=lead.id, data=_request_from_offer(offer), actor=BOT_ACTOR)
    details = [f"Заявка на тур из Telegram-бота: {offer_line(offer)}.", f"Имя: {contact.name}.",
               f"Телефон: {contact.phone}."]
    if contact.comment:
        details.append(f"Комментарий: {contact.comment}")
    note(session=session, lead_id=lead.id, text="\n".join(details))
    audit.record(session=session, actor=BOT_ACTOR, entity_type="lead", entity_id=lead.id, action="booking_requested",
                 data={"offer_id": snapshot.id, "hotel": offer.hotel, "price": str(offer.price),
                       "currency": offer.currency, "demo": bool(offer.raw.get("cb_demo"))})
    _move_to(session, lead, BOOKING_STAGE)
    _flag(session, lead, "booking_request")
    chat.lead_booked = True
    _touch(session, chat)
    session.flush()
    return _info(chat)


# ---------- "Мои заявки" ----------


@dataclass(frozen=True)
class RequestStatus:
    """One of the customer's requests as the bot lists it."""

    number: int
    created_at: dt.datetime
    destination: str
    date_from: dt.date | None
    date_to: dt.date | None
    stage_ru: str
    stage_en: str
    status: str  # the lead's status category
    outcome: str | None
    bookings: tuple[str, ...]  # booking statuses (services.bookings.STATUSES)


def customer_requests(*, session: Session, namespace: str, chat_id: int, limit: int = 10) -> list[RequestStatus]:
    """The chat customer's leads, newest first, with their stage, status and bookings."""
    chat = session.get(BotChat, (namespace, chat_id))
    if chat is None or chat.customer_id is None:
        return []
    rows = session.exec(select(Lead, PipelineStage).join(PipelineStage, col(PipelineStage.id) == col(Lead.stage_id))
                        .where(Lead.customer_id == chat.customer_id)
                        .order_by(col(Lead.created_at).desc(), col(Lead.id).desc()).limit(limit)).all()
    ids = [lead.id for lead, _ in rows]
    booked: dict[int, list[str]] = {}
    for lead_id, status in session.exec(select(Booking.lead_id, Booking.status).where(col(Booking.lead_id).in_(ids))
                                        .order_by(col(Booking.id))):
        booked.setdefault(lead_id, []).append(status)
    return [RequestStatus(number=lead.id, created_at=lead.created_at,
                          destination=", ".join(p for p in (lead.resort, lead.country) if p),
                          date_from=lead.date_from, date_to=lead.date_to, stage_ru=stage.name_ru,
                          stage_en=stage.name_en, status=lead.status, outcome=lead.outcome,
                          bookings=tuple(booked.get(lead.id, [])))
            for lead, stage in rows]


# ---------- handoff ----------


def request_human(*, session: Session, person: ChatPerson, reason: str) -> ChatInfo:
    """The customer wants a person (button, request or complaint): pause the bot in this chat and flag the lead."""
    chat = _chat(session, person)
    customer = _customer(session, chat, person)
    lead = _open_lead(session, chat, customer)
    if not chat.paused:
        chat.paused, chat.paused_at, chat.paused_reason = True, utcnow(), reason[:30]
        _touch(session, chat)
        audit.record(session=session, actor=BOT_ACTOR, entity_type="lead", entity_id=lead.id,
                     action="handoff_requested", data={"reason": reason, "chat": f"{person.namespace}:{person.chat_id}"})
    _flag(session, lead, reason)
    session.flush()
    return _info(chat)


def resume_bot(*, session: Session, namespace: str, chat_id: int, by: str = "customer") -> ChatInfo:
    """The bot answers the chat again after a handoff: the customer went back to it (`by` "customer") or the handoff
    was idle too long ("timeout"). The customer withdrawing a request for a person also unflags the lead — unless
    it was a complaint, which a manager should still read; a timeout leaves the flag (nobody answered yet)."""
    chat = session.get(BotChat, (namespace, chat_id))
    if chat is None or not chat.paused:
        return _info(chat)
    reason = chat.paused_reason
    chat.paused, chat.paused_at, chat.paused_reason = False, None, None
    _touch(session, chat)
    lead = session.get(Lead, chat.lead_id) if chat.lead_id else None
    if lead is not None:
        if by == "customer" and reason != "complaint" and lead.needs_human:
            lead.needs_human = False
            _touch(session, lead)
        audit.record(session=session, actor=BOT_ACTOR, entity_type="lead", entity_id=lead.id, action="handoff_ended",
                     data={"by": by, "reason": reason, "chat": f"{namespace}:{chat_id}"})
    session.flush()
    return _info(chat)


def resume_if_idle(*, session: Session, namespace: str, chat_id: int, hours: float,
                   now: dt.datetime | None = None) -> ChatInfo:
    """After a handoff, give the chat back to the bot once neither the handoff nor a manager's last message to the
    customer is more recent than `hours` (a manager who is still talking to the customer keeps the chat)."""
    chat = session.get(BotChat, (namespace, chat_id))
    if chat is None or not chat.paused or hours <= 0:
        return _info(chat)
    cutoff = (now or utcnow()) - dt.timedelta(hours=hours)
    last_reply = session.exec(select(func.max(Message.created_at)).where(
        Message.lead_id == chat.lead_id, Message.author_type == "manager")).first() if chat.lead_id else None
    if any(moment is not None and moment > cutoff for moment in (chat.paused_at, last_reply)):
        return _info(chat)
    return resume_bot(session=session, namespace=namespace, chat_id=chat_id, by="timeout")


def mark_blocked(*, session: Session, namespace: str, chat_id: int) -> None:
    """Telegram said the customer blocked the bot (403): remember it and tell the managers on the lead."""
    chat = session.get(BotChat, (namespace, chat_id))
    if chat is None or chat.blocked_at is not None:
        return
    chat.blocked_at = utcnow()
    _touch(session, chat)
    if chat.lead_id is not None:
        note(session=session, lead_id=chat.lead_id,
             text="Клиент заблокировал бота в Telegram: сообщения в этот чат не доставляются.")


def _describe_handoff(data: dict, _stages) -> tuple[str, str]:
    reason = data.get("reason", "")
    ru = {"button": "нажал «Связаться с менеджером»", "human_request": "просит менеджера",
          "complaint": "жалоба"}.get(reason, reason)
    en = {"button": "pressed “Contact a manager”", "human_request": "asks for a manager",
          "complaint": "complaint"}.get(reason, reason)
    return f"Клиент в Telegram: {ru} — бот на паузе", f"Customer in Telegram: {en} — the bot is paused"


def _describe_handoff_end(data: dict, _stages) -> tuple[str, str]:
    if data.get("by") == "timeout":
        return ("Менеджер долго не отвечал — диалог автоматически возвращён боту",
                "No manager reply for a long time — the conversation went back to the bot automatically")
    return ("Клиент вернулся к боту — бот снова отвечает автоматически",
            "The customer went back to the bot — it answers automatically again")


conversations.EVENTS.update({
    "handoff_requested": _describe_handoff,
    "handoff_ended": _describe_handoff_end,
    "handed_back": lambda d, s: ("Диалог возвращён боту", "Conversation handed back to the bot"),
    "booking_requested": lambda d, s: (f"Заявка на тур из бота: {d.get('hotel', '')}, {d.get('price', '')} "
                                       f"{d.get('currency', '')}",
                                       f"Tour request from the bot: {d.get('hotel', '')}, {d.get('price', '')} "
                                       f"{d.get('currency', '')}"),
})
