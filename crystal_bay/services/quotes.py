"""Quotes ("Коммерческое предложение"): offers kept for a customer, their public link, the answers.

A quote stores a snapshot of each offer (prices change), a document (title, the manager's note and
contacts, conditions) and a public token: `/q/<token>` shows it to the customer without a login
until it expires or is revoked. Opening the link is counted (the first view is on the timeline);
choosing an offer or asking a question becomes an inbound message on the lead, flags the lead for
a manager (`needs_human`) and bumps it on the board. Creating a quote moves the lead to the quote
stage (forward only).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import Session, col, select

from crystal_bay.models import (
    Customer,
    Lead,
    Message,
    Outcome,
    PipelineStage,
    Quote,
    QuoteDocument,
    QuoteResponse,
    TourOffer,
    User,
    utcnow,
)
from crystal_bay.services import audit, conversations, pipeline
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import NotFound, PipelineError, ValidationFailed
from crystal_bay.services.tours import Offer, snapshot_offers

QUOTE_STAGE = "quote"
DEFAULT_TTL_DAYS = 14
MAX_OFFERS = 10
MAX_QUESTION = 2000
REPEAT_WINDOW = dt.timedelta(minutes=2)
CONDITIONS_RU = (
    "Цены указаны за весь тур на всех туристов на момент расчёта и могут измениться до бронирования: "
    "перед бронированием мы перепроверим цену и наличие мест у туроператора. В стоимость входят перелёт, "
    "проживание с указанным питанием, групповой трансфер и медицинская страховка. Для бронирования нужны "
    "данные заграничных паспортов всех туристов и предоплата."
)
CONDITIONS_EN = (
    "Prices are for the whole trip for all travellers as of the calculation and may change before booking: "
    "we re-check the price and availability with the operator before booking. Included: flights, the hotel with "
    "the stated meals, a group transfer and medical insurance. To book we need all travellers' passport details "
    "and a deposit."
)


def new_token() -> str:
    """An unguessable public token (256 bits)."""
    return secrets.token_urlsafe(32)


def money(amount: Decimal | int | None, currency: str = "") -> str:
    """2611 → "2 611 USD" (whole units, thin groups)."""
    if amount is None:
        return ""
    whole = int(Decimal(str(amount)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return f"{whole:,}".replace(",", "\u00a0") + (f"\u00a0{currency}" if currency else "")


def _lead(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"Lead {lead_id} does not exist.", field="lead_id")
    return lead


def _move_forward(session: Session, lead: Lead, slug: str, actor: Actor) -> bool:
    """Move an open lead to the stage with this slug when it is further on the board; True if moved."""
    target = session.exec(select(PipelineStage).where(PipelineStage.slug == slug)).first()
    current = session.get(PipelineStage, lead.stage_id)
    if target is None or not target.is_active or lead.outcome is not None:
        return False
    if current is not None and current.position >= target.position:
        return False
    outcome = Outcome.won.value if target.category == "closed" else None
    pipeline.move_lead(session=session, lead_id=lead.id, stage_id=target.id, actor=actor, outcome=outcome)
    return True


def manager_contacts(user: User | None) -> dict[str, str]:
    if user is None:
        return {"name": "Crystal Bay Travel", "email": "", "phone": ""}
    return {"name": user.name, "email": user.email, "phone": getattr(user, "phone", "") or ""}


def create_quote(
    *, session: Session, lead_id: int, offers: list[Offer], actor: Actor, manager: User | None = None,
    details: dict[int, dict] | None = None, language: str = "ru", note: str = "", ttl_days: int = DEFAULT_TTL_DAYS,
    demo: bool = False,
) -> Quote:
    """Store a quote with a snapshot of each offer and a public link; the lead moves to the quote stage."""
    if not 1 <= len(offers) <= MAX_OFFERS:
        raise ValidationFailed(f"Choose 1–{MAX_OFFERS} offers for a quote.", code="quote_offers", field="offers")
    if not 1 <= ttl_days <= 90:
        raise ValidationFailed("A link lives 1–90 days.", code="quote_ttl", field="ttl_days")
    lead = _lead(session, lead_id)
    if lead.outcome == Outcome.lost.value:
        raise PipelineError("The lead is lost; reopen it before sending a quote.", code="lead_lost")
    customer = session.get(Customer, lead.customer_id)
    now = utcnow()
    quote = Quote(lead_id=lead.id, token=new_token(), status="created", created_by_id=actor.id if actor.type == "user"
                  else None, created_at=now, expires_at=now + dt.timedelta(days=ttl_days))
    session.add(quote)
    session.flush()
    snapshot_offers(session=session, lead_id=lead.id, offers=offers, quote_id=quote.id, details=details)
    en = language == "en"
    name = customer.name if customer else ""
    title = (f"Tour selection: {name}" if en else f"Подборка туров: {name}").strip(": ")
    session.add(QuoteDocument(quote_id=quote.id, language=language, title=title[:200], note=(note or "").strip()[:5000],
                              conditions=CONDITIONS_EN if en else CONDITIONS_RU, manager=manager_contacts(manager),
                              demo=demo))
    lead.updated_at = now
    session.add(lead)
    audit.record(session=session, actor=actor, entity_type="lead", entity_id=lead.id, action="quote_created",
                 data={"quote_id": quote.id, "offers": len(offers), "demo": demo})
    _move_forward(session, lead, QUOTE_STAGE, actor)
    session.flush()
    return quote


# ---------- reading ----------


@dataclass(frozen=True)
class QuoteView:
    quote: Quote
    document: QuoteDocument
    offers: list[TourOffer]
    lead: Lead
    customer_name: str
    responses: list[QuoteResponse]

    @property
    def number(self) -> str:
        return f"{self.quote.id}"

    @property
    def chosen(self) -> TourOffer | None:
        return next((o for o in self.offers if o.id == self.quote.chosen_offer_id), None)


def quote_offers(*, session: Session, quote_id: int) -> list[TourOffer]:
    stmt = select(TourOffer).where(TourOffer.quote_id == quote_id).order_by(col(TourOffer.id))
    return list(session.exec(stmt))


def quote_view(*, session: Session, quote_id: int) -> QuoteView:
    quote = session.get(Quote, quote_id)
    if quote is None:
        raise NotFound(f"Quote {quote_id} does not exist.", field="quote_id")
    document = session.get(QuoteDocument, quote.id) or QuoteDocument(quote_id=quote.id, conditions=CONDITIONS_RU)
    lead = _lead(session, quote.lead_id)
    customer = session.get(Customer, lead.customer_id)
    responses = list(session.exec(select(QuoteResponse).where(QuoteResponse.quote_id == quote.id)
                                  .order_by(col(QuoteResponse.created_at), col(QuoteResponse.id))))
    return QuoteView(quote=quote, document=document, offers=quote_offers(session=session, quote_id=quote.id),
                     lead=lead, customer_name=customer.name if customer else "", responses=responses)


def lead_quotes(*, session: Session, lead_id: int) -> list[QuoteView]:
    """The lead's quotes, newest first."""
    ids = session.exec(select(Quote.id).where(Quote.lead_id == lead_id)
                       .order_by(col(Quote.created_at).desc(), col(Quote.id).desc()))
    return [quote_view(session=session, quote_id=i) for i in ids]


def quote_status(quote: Quote, now: dt.datetime | None = None) -> str:
    """What the manager sees: created (a draft, not sent yet) | sent | viewed | chosen | revoked | expired."""
    state = link_state(quote, now)
    if state == "revoked":
        return state
    if quote.chosen_offer_id is not None:
        return "chosen"
    if state == "expired":
        return state
    return "viewed" if quote.viewed_at else "sent" if quote.sent_at else "created"


def link_state(quote: Quote, now: dt.datetime | None = None) -> str:
    """active | expired | revoked."""
    now = now or utcnow()
    if quote.revoked_at is not None:
        return "revoked"
    if quote.expires_at is not None and quote.expires_at <= now:
        return "expired"
    return "active"


def by_token(*, session: Session, token: str) -> Quote:
    """The quote behind a public token (any state); NotFound for an unknown token."""
    token = (token or "").strip()
    quote = session.exec(select(Quote).where(Quote.token == token)).first() if 20 <= len(token) <= 64 else None
    if quote is None:
        raise NotFound("This link does not exist.", code="quote_link_unknown", field="token")
    return quote


def _active(session: Session, token: str) -> Quote:
    quote = by_token(session=session, token=token)
    state = link_state(quote)
    if state != "active":
        raise ValidationFailed(f"This link is {state}.", code=f"quote_link_{state}", field="token")
    return quote


# ---------- the public page's events ----------


def record_view(*, session: Session, token: str) -> QuoteView:
    """Count an opening of the public link; the first one is on the timeline and bumps the lead."""
    quote = _active(session, token)
    document = session.get(QuoteDocument, quote.id)
    now = utcnow()
    if document is not None:
        document.view_count += 1
        document.last_viewed_at = now
        session.add(document)
    if quote.viewed_at is None:
        quote.viewed_at = now
        if quote.status in ("created", "sent"):
            quote.status = "viewed"
        lead = _lead(session, quote.lead_id)
        lead.updated_at = now
        session.add_all([quote, lead])
        audit.record(session=session, actor=Actor(type="system", label="Клиент"), entity_type="lead",
                     entity_id=lead.id, action="quote_viewed", data={"quote_id": quote.id})
    session.flush()
    return quote_view(session=session, quote_id=quote.id)


def _inbound(session: Session, lead: Lead, body: str) -> Message:
    now = utcnow()
    message = Message(lead_id=lead.id, customer_id=lead.customer_id, channel="website", direction="inbound",
                      author_type="customer", body=body, created_at=now)
    lead.needs_human = True
    lead.last_customer_message_at = now
    lead.updated_at = now
    session.add_all([message, lead])
    session.flush()
    return message


def describe_offer(offer: TourOffer, *, en: bool = False) -> str:
    """"Sea Breeze 4*, Нячанг, 16.12.2026, 7 ночей, AI, Standard — 2 611 USD"."""
    nights = f"{offer.nights} nights" if en else f"{offer.nights} ноч."
    parts = [offer.hotel, offer.resort or "", f"{offer.date_from:%d.%m.%Y}", nights, offer.meal or "", offer.room or ""]
    return ", ".join(p for p in parts if p) + f" — {money(offer.price, offer.currency)}"


def choose_offer(*, session: Session, token: str, offer_id: int, comment: str = "") -> QuoteResponse:
    """The customer pressed «Выбрать»: an inbound message on the lead, the quote marked chosen."""
    quote = _active(session, token)
    offer = session.get(TourOffer, offer_id)
    if offer is None or offer.quote_id != quote.id:
        raise NotFound("This offer is not part of the quote.", code="quote_offer_unknown", field="offer_id")
    comment = (comment or "").strip()[:MAX_QUESTION]
    last = session.exec(select(QuoteResponse).where(QuoteResponse.quote_id == quote.id)
                        .order_by(col(QuoteResponse.id).desc())).first()
    if last is not None and last.kind == "choice" and last.offer_id == offer.id and not comment and \
            utcnow() - last.created_at < REPEAT_WINDOW:
        return last  # a double tap changes nothing
    lead = _lead(session, quote.lead_id)
    body = f"Клиент выбрал вариант в подборке №{quote.id}: {describe_offer(offer)}"
    if comment:
        body += f"\nКомментарий: {comment}"
    message = _inbound(session, lead, body)
    response = QuoteResponse(quote_id=quote.id, kind="choice", offer_id=offer.id, text=comment, message_id=message.id)
    quote.chosen_offer_id = offer.id
    quote.status = "chosen"
    session.add_all([response, quote])
    audit.record(session=session, actor=Actor(type="system", label="Клиент"), entity_type="quote", entity_id=quote.id,
                 action="offer_chosen", data={"offer_id": offer.id, "lead_id": lead.id})
    session.flush()
    return response


def ask_question(*, session: Session, token: str, text: str) -> QuoteResponse:
    """The customer asked a question on the public page: an inbound message on the lead."""
    quote = _active(session, token)
    text = (text or "").strip()
    if not 1 <= len(text) <= MAX_QUESTION:
        raise ValidationFailed(f"A question has 1–{MAX_QUESTION} characters.", code="quote_question", field="text")
    lead = _lead(session, quote.lead_id)
    message = _inbound(session, lead, f"Вопрос по подборке №{quote.id}: {text}")
    response = QuoteResponse(quote_id=quote.id, kind="question", text=text, message_id=message.id)
    session.add(response)
    session.flush()
    return response


def revoke_quote(*, session: Session, quote_id: int, actor: Actor) -> Quote:
    """Close the public link at once (the quote stays on the lead)."""
    quote = session.get(Quote, quote_id)
    if quote is None:
        raise NotFound(f"Quote {quote_id} does not exist.", field="quote_id")
    if quote.revoked_at is None:
        quote.revoked_at = utcnow()
        quote.status = "revoked"
        session.add(quote)
        audit.record(session=session, actor=actor, entity_type="lead", entity_id=quote.lead_id,
                     action="quote_revoked", data={"quote_id": quote.id})
        session.flush()
    return quote


def mark_sent(*, session: Session, quote_id: int, actor: Actor) -> Quote:
    """The manager sent the quote (link or PDF) to the customer: the first time goes on the timeline."""
    quote = session.get(Quote, quote_id)
    if quote is None:
        raise NotFound(f"Quote {quote_id} does not exist.", field="quote_id")
    state = link_state(quote)
    if state != "active":
        raise ValidationFailed(f"This link is {state}.", code=f"quote_link_{state}", field="quote_id")
    if quote.sent_at is None:
        now = utcnow()
        quote.sent_at = now
        if quote.status == "created":
            quote.status = "sent"
        lead = _lead(session, quote.lead_id)
        lead.updated_at = now
        session.add_all([quote, lead])
        audit.record(session=session, actor=actor, entity_type="lead", entity_id=quote.lead_id, action="quote_sent",
                     data={"quote_id": quote.id})
        session.flush()
    return quote


# ---------- the lead timeline knows these events ----------

conversations.EVENTS.update({
    "quote_created": lambda d, s: (f"Создано КП №{d.get('quote_id')}: вариантов {d.get('offers')}",
                                   f"Quote #{d.get('quote_id')} created: {d.get('offers')} offers"),
    "quote_viewed": lambda d, s: (f"Клиент открыл подборку №{d.get('quote_id')}",
                                  f"The customer opened quote #{d.get('quote_id')}"),
    "quote_sent": lambda d, s: (f"КП №{d.get('quote_id')} отправлено клиенту",
                                f"Quote #{d.get('quote_id')} sent to the customer"),
    "quote_revoked": lambda d, s: (f"Ссылка на КП №{d.get('quote_id')} отозвана",
                                   f"Link to quote #{d.get('quote_id')} revoked"),
})
