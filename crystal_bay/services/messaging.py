"""A manager talking to a customer in their messenger: replies through the outbox, and handing a chat back
to the bot after a handoff.

`send_to_customer` logs the outbound message on the lead's timeline (delivery status "queued") and
enqueues a `telegram.send` outbox job in the same transaction; the job sends it through the Bot API
and marks the message "sent" — or "blocked"/"failed" with the reason on the timeline in plain words, told
apart by Telegram's description: the customer blocked the bot; they never started it (a bot cannot write
first: "Forbidden: bot can't initiate conversation with a user"); the account is deleted; Telegram does not
know the chat ("Bad Request: chat not found"). Telegram's 429 and outages are retried by the outbox with
backoff, so a reply survives them.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import httpx
from sqlmodel import Session, col, select

from crystal_bay.db import session_scope
from crystal_bay.integrations.telegram import TelegramClient, TelegramError, TelegramSettings
from crystal_bay.models import BotChat, Channel, Customer, Lead, Message, utcnow
from crystal_bay.services import audit, chat_leads, outbox
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import NotFound, ValidationFailed

log = logging.getLogger(__name__)
SEND_KIND = "telegram.send"
PREVIEW = "preview"
MAX_TEXT = 4096
UNDELIVERABLE = {  # TelegramError.reason → what the manager reads on the timeline
    "blocked": "клиент заблокировал бота.",
    "not_started": ("клиент ещё не начинал диалог с ботом (Telegram не разрешает боту писать первым) — попросите "
                    "клиента открыть бота и нажать «Старт» или свяжитесь другим способом."),
    "deactivated": "аккаунт клиента в Telegram удалён.",
    "forbidden": "Telegram запретил боту писать в этот чат",
    "chat_not_found": ("Telegram не знает такого чата (клиент не писал этому боту, или его Telegram ID неверен) — "
                       "свяжитесь другим способом."),
}


def _lead(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"Lead {lead_id} does not exist.", field="lead_id")
    return lead


@dataclass(frozen=True)
class ChatRef:
    namespace: str
    chat_id: int
    paused: bool = False
    blocked: bool = False


def chat_for_lead(*, session: Session, lead_id: int) -> ChatRef | None:
    """The bot chat a lead's messages go to: the chat about this lead, else the customer's latest chat, else the
    customer's Telegram id (a private chat's id is the user's id)."""
    lead = _lead(session, lead_id)
    chat = session.exec(select(BotChat).where(BotChat.lead_id == lead.id)
                        .order_by(col(BotChat.updated_at).desc())).first()
    chat = chat or session.exec(select(BotChat).where(BotChat.customer_id == lead.customer_id)
                                .order_by(col(BotChat.updated_at).desc())).first()
    if chat is not None:
        return ChatRef(chat.namespace, chat.chat_id, chat.paused, chat.blocked_at is not None)
    customer = session.get(Customer, lead.customer_id)
    if customer is not None and (customer.telegram_id or "").isdigit():
        return ChatRef(chat_leads.TELEGRAM, int(customer.telegram_id))
    return None


def send_to_customer(*, session: Session, lead_id: int, text: str, actor: Actor) -> Message:
    """Queue a reply to the customer's Telegram chat: on the timeline now, delivered by the outbox."""
    text = (text or "").strip()
    if not text or len(text) > MAX_TEXT:
        raise ValidationFailed(f"A message has 1–{MAX_TEXT} characters.", code="invalid_message", field="text")
    lead = _lead(session, lead_id)
    chat = chat_for_lead(session=session, lead_id=lead.id)
    if chat is None:
        raise ValidationFailed("This customer has not written to the Telegram bot.", code="no_telegram_chat",
                               field="lead_id")
    if chat.blocked:
        raise ValidationFailed("The customer blocked the bot in Telegram.", code="telegram_blocked", field="lead_id")
    by_user = actor.type == "user"
    message = Message(lead_id=lead.id, customer_id=lead.customer_id, channel=Channel.telegram.value,
                      direction="outbound", author_type="manager" if by_user else "system",
                      author_user_id=actor.id if by_user else None, body=text, delivery_status="queued")
    lead.updated_at = utcnow()
    session.add_all([message, lead])
    session.flush()
    outbox.enqueue(session=session, kind=SEND_KIND, idempotency_key=f"{SEND_KIND}:{message.id}",
                   payload={"message_id": message.id, "namespace": chat.namespace, "chat_id": chat.chat_id})
    return message


def hand_back(*, session: Session, lead_id: int, actor: Actor) -> int:
    """A manager gives the conversation back to the bot: the chats about this lead answer automatically again
    and the lead is no longer flagged. Returns how many chats were paused."""
    lead = _lead(session, lead_id)
    chats = list(session.exec(select(BotChat).where(
        (col(BotChat.lead_id) == lead.id) | (col(BotChat.customer_id) == lead.customer_id), col(BotChat.paused))))
    for chat in chats:
        chat.paused, chat.paused_at, chat.paused_reason, chat.updated_at = False, None, None, utcnow()
        session.add(chat)
    if chats or lead.needs_human:
        lead.needs_human = False
        lead.updated_at = utcnow()
        session.add(lead)
        audit.record(session=session, actor=actor, entity_type="lead", entity_id=lead.id, action="handed_back",
                     data={"chats": [f"{c.namespace}:{c.chat_id}" for c in chats]})
    return len(chats)


def is_paused(*, session: Session, lead_id: int) -> bool:
    """Whether the bot is paused (a manager has the conversation) in a chat about this lead."""
    lead = _lead(session, lead_id)
    return session.exec(select(BotChat.chat_id).where(
        (col(BotChat.lead_id) == lead.id) | (col(BotChat.customer_id) == lead.customer_id),
        col(BotChat.paused))).first() is not None


# ---------- the outbox job ----------


def _load(message_id: int) -> tuple[str, str | None]:
    with session_scope() as session:
        message = session.get(Message, message_id)
        if message is None:
            raise outbox.PermanentError(f"Message {message_id} no longer exists.")
        return message.body, message.delivery_status


def _mark(message_id: int, *, status: str, external_id: str | None = None, failure: str | None = None,
          namespace: str | None = None, chat_id: int | None = None) -> None:
    with session_scope() as session:
        message = session.get(Message, message_id)
        if message is None:
            return
        message.delivery_status = status
        if external_id:
            message.external_id = external_id
        session.add(message)
        if failure:
            chat_leads.note(session=session, lead_id=message.lead_id,
                            text=f"Сообщение клиенту не доставлено в Telegram: {failure}")
        if failure and status == "blocked" and namespace is not None and chat_id is not None:
            chat_leads.mark_blocked(session=session, namespace=namespace, chat_id=chat_id)


def _telegram_config() -> TelegramSettings:
    from crystal_bay.services import integrations

    with session_scope() as session:
        try:
            return integrations.load_config(session=session, slug="telegram")  # type: ignore[return-value]
        except integrations.SettingsInvalid as exc:
            raise outbox.PermanentError("The Telegram bot is not configured: set TELEGRAM_BOT_TOKEN.") from exc


async def _target(namespace: str) -> tuple[TelegramSettings, httpx.AsyncBaseTransport | None]:
    if namespace == PREVIEW:
        from crystal_bay.bot import preview

        return await preview.delivery_target()
    return await asyncio.to_thread(_telegram_config), None


@outbox.register(SEND_KIND, delivery="at_least_once", urgent=True,
                 description="Send a manager's message to the customer's Telegram chat.")
async def deliver(payload: dict) -> None:
    """Send one queued message; a message already marked sent is not sent again."""
    message_id, namespace, chat_id = int(payload["message_id"]), str(payload["namespace"]), int(payload["chat_id"])
    text, status = await asyncio.to_thread(_load, message_id)
    if status == "sent":
        return
    config, transport = await _target(namespace)
    try:
        async with TelegramClient(config, transport=transport) as client:
            sent = await client.send_message(chat_id, text)
    except TelegramError as exc:
        if exc.temporary:
            raise outbox.TemporaryError(exc.message, retry_after=exc.retry_after) from exc
        failure = UNDELIVERABLE.get(exc.reason or "", exc.message)
        if exc.reason == "forbidden":
            failure = f"{failure} ({exc.description})."
        await asyncio.to_thread(_mark, message_id, status="blocked" if exc.blocked else "failed", failure=failure,
                                namespace=namespace, chat_id=chat_id)
        raise outbox.PermanentError(exc.message) from exc
    await asyncio.to_thread(_mark, message_id, status="sent",
                            external_id=f"{namespace}:{chat_id}:{sent.get('message_id')}")
