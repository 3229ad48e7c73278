"""Bookings: an accepted offer booked at the operator, its travellers, money and status.

A booking comes from a kept offer (a `TourOffer` snapshot, re-checked at the operator before), with:
- travellers as in their passports (Latin capitals), birth dates and passport numbers, validated;
  lists show passport numbers masked;
- the client's price and the operator's (net) price in KZT, USD, EUR or RUB, the margin, and the
  exchange rate used (KZT per 1 unit of the booking's currency) recorded on the booking;
- a payment schedule: the client's deposit and balance with due dates, the date the agency pays the
  operator; payments are recorded against it (a partial payment splits the line);
- a status: requested → confirmed (by the operator) → paid → documents issued → travelled, or
  cancelled; each status moves the lead's stage forward (STAGE_FOR_STATUS), a cancellation takes
  the lead back to tour selection when it has no other live booking.
The `payments.due` job reminds the lead's manager of client payments that fall due.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import Session, col, select

from crystal_bay.jobs import scheduled
from crystal_bay.models import (
    Booking,
    BookingDetail,
    Customer,
    Lead,
    OutboxJob,
    Payment,
    PipelineStage,
    TourOffer,
    Traveller,
    utcnow,
)
from crystal_bay.services import audit, conversations, outbox, pipeline
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import NotFound, PipelineError, ValidationFailed
from crystal_bay.services.quotes import _move_forward, money

STATUSES = ("requested", "confirmed", "paid", "documents_issued", "travelled", "cancelled")
LIVE = ("requested", "confirmed", "paid", "documents_issued")
TRANSITIONS = {
    "requested": ("confirmed", "cancelled"),
    "confirmed": ("paid", "cancelled"),
    "paid": ("documents_issued", "cancelled"),
    "documents_issued": ("travelled", "cancelled"),
    "travelled": (),
    "cancelled": (),
}
STAGE_FOR_STATUS = {"requested": "add_ons", "confirmed": "add_ons", "paid": "paid", "documents_issued": "confirmed",
                    "travelled": "completed"}
CANCEL_STAGE = "tour_selection"
STATUS_RU = {"requested": "запрошено у туроператора", "confirmed": "подтверждено туроператором", "paid": "оплачено",
             "documents_issued": "документы выданы", "travelled": "турист съездил", "cancelled": "отменено"}
STATUS_EN = {"requested": "requested from the operator", "confirmed": "confirmed by the operator", "paid": "paid",
             "documents_issued": "documents issued", "travelled": "travelled", "cancelled": "cancelled"}
CURRENCIES = ("KZT", "USD", "EUR", "RUB")
PAYMENT_KINDS = ("client_deposit", "client_balance", "operator")
NAME_RE = re.compile(r"^[A-Z][A-Z'\-]*(?: [A-Z][A-Z'\-]*)+$")
PASSPORT_RE = re.compile(r"^[A-Z0-9]{6,10}$")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class TravellerInput:
    full_name: str
    birth_date: dt.date | None
    passport_number: str
    passport_expires: dt.date | None


@dataclass(frozen=True)
class BookingInput:
    offer_id: int
    travellers: list[TravellerInput]
    client_price: Decimal
    net_price: Decimal
    currency: str
    exchange_rate: Decimal  # KZT per 1 unit of `currency`
    deposit: Decimal
    deposit_due: dt.date
    balance_due: dt.date
    operator_due: dt.date
    claim_number: str = ""
    note: str = ""
    quote_id: int | None = None


def mask_passport(number: str | None) -> str:
    """N12345678 → N1•••••78 (lists never show a whole passport number)."""
    number = (number or "").strip()
    if len(number) <= 4:
        return "•" * len(number)
    return number[:2] + "•" * (len(number) - 4) + number[-2:]


def clean_name(name: str, *, index: int) -> str:
    """Names as in the passport: Latin capitals, surname and given name."""
    text = " ".join((name or "").upper().split())
    if not NAME_RE.match(text):
        raise ValidationFailed(f"Traveller {index}: the name as in the passport, in Latin letters "
                               f"(e.g. IVANOV IVAN).", code="traveller_name", field=f"t{index}_name")
    return text


def clean_passport(number: str, *, index: int) -> str:
    text = re.sub(r"[\s\-]", "", (number or "")).upper()
    if not PASSPORT_RE.match(text):
        raise ValidationFailed(f"Traveller {index}: a passport number has 6–10 Latin letters and digits "
                               f"(e.g. N12345678).", code="traveller_passport", field=f"t{index}_passport")
    return text


def _check_traveller(t: TravellerInput, index: int, *, departure: dt.date, return_date: dt.date,
                     today: dt.date) -> Traveller:
    name = clean_name(t.full_name, index=index)
    if t.birth_date is None or not dt.date(1900, 1, 1) <= t.birth_date <= today:
        raise ValidationFailed(f"Traveller {index}: a birth date in the past.", code="traveller_birth",
                               field=f"t{index}_birth")
    passport = clean_passport(t.passport_number, index=index)
    if t.passport_expires is None or t.passport_expires <= return_date:
        raise ValidationFailed(f"Traveller {index}: the passport must be valid after the return date "
                               f"({return_date:%d.%m.%Y}).", code="traveller_passport_expiry",
                               field=f"t{index}_expires")
    return Traveller(booking_id=0, full_name=name, birth_date=t.birth_date, passport_number=passport,
                     passport_expires=t.passport_expires)


def _money(value: Decimal, field_name: str, *, positive: bool = True) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except ArithmeticError:
        raise ValidationFailed(f"{field_name} must be a number.", code="amount", field=field_name) from None
    if (amount <= 0) if positive else (amount < 0):
        raise ValidationFailed(f"{field_name} must be {'above' if positive else 'at least'} zero.", code="amount",
                               field=field_name)
    return amount


def _check_money(data: BookingInput) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    if data.currency not in CURRENCIES:
        raise ValidationFailed(f"The currency is one of {', '.join(CURRENCIES)}.", code="currency", field="currency")
    client = _money(data.client_price, "client_price")
    net = _money(data.net_price, "net_price")
    if net > client:
        raise ValidationFailed("The operator's price is above the client's: the margin would be negative.",
                               code="negative_margin", field="net_price")
    try:
        rate = Decimal(str(data.exchange_rate)).quantize(Decimal("0.000001"))
    except ArithmeticError:
        raise ValidationFailed("The exchange rate must be a number.", code="rate", field="exchange_rate") from None
    if data.currency == "KZT":
        rate = Decimal(1)
    elif rate <= 0:
        raise ValidationFailed("Give the exchange rate used (KZT for 1 unit).", code="rate", field="exchange_rate")
    deposit = _money(data.deposit, "deposit")
    if deposit > client:
        raise ValidationFailed("The deposit is above the client's price.", code="deposit", field="deposit")
    return client, net, rate, deposit


def _offer(session: Session, offer_id: int) -> TourOffer:
    offer = session.get(TourOffer, offer_id)
    if offer is None or offer.lead_id is None:
        raise NotFound(f"Offer {offer_id} does not exist.", field="offer_id")
    return offer


def return_date(offer: TourOffer) -> dt.date:
    raw = (offer.raw or {}).get("cb_date_to")
    return dt.date.fromisoformat(raw) if raw else offer.date_from + dt.timedelta(days=offer.nights)


def create_booking(*, session: Session, data: BookingInput, actor: Actor, today: dt.date | None = None) -> Booking:
    """Book a kept offer: validated travellers, money and schedule; the lead moves on (nothing written on error)."""
    today = today or dt.date.today()
    offer = _offer(session, data.offer_id)
    lead = session.get(Lead, offer.lead_id)
    if lead is None or lead.outcome == "lost":
        raise PipelineError("The lead is lost; reopen it before booking.", code="lead_lost")
    if not offer.available:
        raise ValidationFailed("The operator has no places for this offer any more.", code="offer_unavailable",
                               field="offer_id")
    people = offer.adults + offer.children
    if len(data.travellers) != people:
        raise ValidationFailed(f"The offer is for {people} travellers: give each of them.", code="traveller_count",
                               field="travellers")
    back = return_date(offer)
    travellers = [_check_traveller(t, i, departure=offer.date_from, return_date=back, today=today)
                  for i, t in enumerate(data.travellers, start=1)]
    client, net, rate, deposit = _check_money(data)
    if not today <= data.deposit_due <= data.balance_due <= offer.date_from:
        raise ValidationFailed("Due dates: deposit, then balance, both between today and the departure.",
                               code="due_dates", field="balance_due")
    if not today <= data.operator_due <= offer.date_from:
        raise ValidationFailed("The operator is paid between today and the departure.", code="due_dates",
                               field="operator_due")
    now = utcnow()
    booking = Booking(lead_id=lead.id, offer_id=offer.id, claim_number=(data.claim_number or "").strip()[:50] or None,
                      status="requested", client_price=client, net_price=net, currency=data.currency,
                      exchange_rate=rate, created_at=now, updated_at=now)
    session.add(booking)
    session.flush()
    session.add(BookingDetail(booking_id=booking.id, quote_id=data.quote_id or offer.quote_id,
                              note=(data.note or "").strip()[:5000], status_changed_at=now,
                              created_by_id=actor.id if actor.type == "user" else None))
    for t in travellers:
        t.booking_id = booking.id
        session.add(t)
    schedule = [("client_deposit", deposit, data.deposit_due), ("client_balance", client - deposit, data.balance_due),
                ("operator", net, data.operator_due)]
    for kind, amount, due in schedule:
        if amount > 0:
            session.add(Payment(booking_id=booking.id, kind=kind, amount=amount, currency=data.currency, due_date=due))
    lead.updated_at = now
    session.add(lead)
    audit.record(session=session, actor=actor, entity_type="lead", entity_id=lead.id, action="booking_created",
                 data={"booking_id": booking.id, "offer_id": offer.id, "hotel": offer.hotel,
                       "price": money(client, data.currency)})
    _move_forward(session, lead, STAGE_FOR_STATUS["requested"], actor)
    session.flush()
    return booking


def _booking(session: Session, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(f"Booking {booking_id} does not exist.", field="booking_id")
    return booking


def _client_lines_paid(session: Session, booking_id: int) -> bool:
    unpaid = session.exec(select(Payment.id).where(Payment.booking_id == booking_id,
                                                   col(Payment.kind).in_(("client_deposit", "client_balance")),
                                                   col(Payment.paid_at).is_(None))).first()
    return unpaid is None


def set_status(*, session: Session, booking_id: int, status: str, actor: Actor, reason: str = "") -> Booking:
    """Move a booking to its next status (or cancel it); the lead's stage follows."""
    booking = _booking(session, booking_id)
    if status not in STATUSES:
        raise ValidationFailed(f"Unknown status {status!r}.", code="booking_status", field="status")
    if status == booking.status:
        return booking
    if status not in TRANSITIONS[booking.status]:
        raise ValidationFailed(f"A {booking.status} booking cannot become {status}.", code="booking_transition",
                               field="status")
    reason = (reason or "").strip()
    if status == "cancelled" and not reason:
        raise ValidationFailed("Say why the booking is cancelled.", code="reason_required", field="reason")
    if status == "paid" and not _client_lines_paid(session, booking.id):
        raise ValidationFailed("Record the client's payments first.", code="unpaid", field="status")
    old = booking.status
    now = utcnow()
    booking.status, booking.updated_at = status, now
    detail = session.get(BookingDetail, booking.id) or BookingDetail(booking_id=booking.id)
    detail.status_changed_at = now
    if status == "cancelled":
        detail.cancel_reason = reason[:500]
    session.add_all([booking, detail])
    lead = session.get(Lead, booking.lead_id)
    audit.record(session=session, actor=actor, entity_type="lead", entity_id=booking.lead_id,
                 action="booking_status_changed",
                 data={"booking_id": booking.id, "from": old, "to": status, "reason": reason or None})
    if lead is not None:
        lead.updated_at = now
        session.add(lead)
        session.flush()
        if status == "cancelled":
            _after_cancel(session, lead, actor)
        else:
            _move_forward(session, lead, STAGE_FOR_STATUS[status], actor)
    session.flush()
    return booking


def _after_cancel(session: Session, lead: Lead, actor: Actor) -> None:
    live = session.exec(select(Booking.id).where(Booking.lead_id == lead.id, col(Booking.status).in_(LIVE))).first()
    stage = session.exec(select(PipelineStage).where(PipelineStage.slug == CANCEL_STAGE)).first()
    if live is None and stage is not None and lead.outcome is None:
        pipeline.move_lead(session=session, lead_id=lead.id, stage_id=stage.id, actor=actor)


def set_claim_number(*, session: Session, booking_id: int, claim_number: str, actor: Actor) -> Booking:
    """The operator's claim ("заявка") number."""
    booking = _booking(session, booking_id)
    value = (claim_number or "").strip()
    if len(value) > 50:
        raise ValidationFailed("A claim number has at most 50 characters.", code="claim_number", field="claim_number")
    booking.claim_number = value or None
    booking.updated_at = utcnow()
    session.add(booking)
    audit.record(session=session, actor=actor, entity_type="booking", entity_id=booking.id, action="claim_number_set",
                 data={"claim_number": booking.claim_number})
    session.flush()
    return booking


def record_payment(*, session: Session, payment_id: int, amount: Decimal, actor: Actor,
                   paid_on: dt.date | None = None) -> Payment:
    """Record money received (or paid to the operator) against a schedule line; a partial amount splits it."""
    line = session.get(Payment, payment_id)
    if line is None:
        raise NotFound(f"Payment {payment_id} does not exist.", field="payment_id")
    if line.paid_at is not None:
        raise ValidationFailed("This payment is already recorded.", code="already_paid", field="payment_id")
    amount = _money(amount, "amount")
    if amount > line.amount:
        raise ValidationFailed(f"At most {money(line.amount, line.currency)} is due on this line.",
                               code="overpaid", field="amount")
    paid_at = dt.datetime.combine(paid_on, dt.time(12), tzinfo=dt.UTC) if paid_on else utcnow()
    if amount < line.amount:
        session.add(Payment(booking_id=line.booking_id, kind=line.kind, amount=line.amount - amount,
                            currency=line.currency, due_date=line.due_date))
        line.amount = amount
    line.paid_at = paid_at
    session.add(line)
    booking = _booking(session, line.booking_id)
    booking.updated_at = utcnow()
    session.add(booking)
    audit.record(session=session, actor=actor, entity_type="lead", entity_id=booking.lead_id,
                 action="payment_recorded", data={"booking_id": booking.id, "kind": line.kind,
                                                  "amount": money(amount, line.currency)})
    session.flush()
    if booking.status == "confirmed" and line.kind != "operator" and _client_lines_paid(session, booking.id):
        set_status(session=session, booking_id=booking.id, status="paid", actor=actor)
    return line


# ---------- views ----------


@dataclass(frozen=True)
class BookingRow:
    booking: Booking
    offer: TourOffer | None
    customer_name: str
    lead_id: int
    paid: Decimal
    due: Decimal
    travellers: list[str]

    @property
    def margin(self) -> Decimal:
        return (self.booking.client_price or Decimal(0)) - (self.booking.net_price or Decimal(0))


def _paid_and_due(payments: list[Payment]) -> tuple[Decimal, Decimal]:
    client = [p for p in payments if p.kind != "operator"]
    paid = sum((p.amount for p in client if p.paid_at is not None), Decimal(0))
    due = sum((p.amount for p in client if p.paid_at is None), Decimal(0))
    return paid, due


def list_bookings(*, session: Session, status: str | None = None, limit: int = 200) -> list[BookingRow]:
    """Bookings, newest first, with the customer, the offer and what is paid and still due."""
    stmt = (select(Booking, Customer.name).join(Lead, col(Lead.id) == col(Booking.lead_id))
            .join(Customer, col(Customer.id) == col(Lead.customer_id))
            .order_by(col(Booking.created_at).desc(), col(Booking.id).desc()).limit(min(max(limit, 1), 500)))
    if status:
        stmt = stmt.where(Booking.status == status)
    rows = list(session.exec(stmt))
    ids = [b.id for b, _ in rows]
    payments: dict[int, list[Payment]] = {i: [] for i in ids}
    names: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for p in session.exec(select(Payment).where(col(Payment.booking_id).in_(ids))):
            payments[p.booking_id].append(p)
        for t in session.exec(select(Traveller).where(col(Traveller.booking_id).in_(ids)).order_by(col(Traveller.id))):
            names[t.booking_id].append(t.full_name)
    offers = {o.id: o for o in session.exec(select(TourOffer).where(
        col(TourOffer.id).in_([b.offer_id for b, _ in rows if b.offer_id])))} if rows else {}
    out = []
    for booking, customer_name in rows:
        paid, due = _paid_and_due(payments[booking.id])
        out.append(BookingRow(booking=booking, offer=offers.get(booking.offer_id), customer_name=customer_name or "",
                              lead_id=booking.lead_id, paid=paid, due=due, travellers=names[booking.id]))
    return out


@dataclass(frozen=True)
class BookingView:
    booking: Booking
    detail: BookingDetail
    offer: TourOffer | None
    lead: Lead
    customer_name: str
    travellers: list[Traveller]
    payments: list[Payment]
    next_statuses: tuple[str, ...] = field(default_factory=tuple)

    @property
    def margin(self) -> Decimal:
        return (self.booking.client_price or Decimal(0)) - (self.booking.net_price or Decimal(0))

    @property
    def margin_pct(self) -> Decimal:
        client = self.booking.client_price or Decimal(0)
        return (self.margin / client * 100).quantize(Decimal("0.1")) if client else Decimal(0)

    def in_kzt(self, amount: Decimal | None) -> Decimal | None:
        if amount is None:
            return None
        return (amount * (self.booking.exchange_rate or Decimal(1))).quantize(Decimal(1), rounding=ROUND_HALF_UP)


def booking_view(*, session: Session, booking_id: int) -> BookingView:
    booking = _booking(session, booking_id)
    lead = session.get(Lead, booking.lead_id)
    customer = session.get(Customer, lead.customer_id) if lead else None
    travellers = list(session.exec(select(Traveller).where(Traveller.booking_id == booking.id).order_by(col(Traveller.id))))
    payments = list(session.exec(select(Payment).where(Payment.booking_id == booking.id)
                                 .order_by(col(Payment.due_date), col(Payment.id))))
    return BookingView(booking=booking, detail=session.get(BookingDetail, booking.id) or BookingDetail(booking_id=booking.id),
                       offer=session.get(TourOffer, booking.offer_id) if booking.offer_id else None, lead=lead,
                       customer_name=customer.name if customer else "", travellers=travellers, payments=payments,
                       next_statuses=TRANSITIONS[booking.status])


@dataclass(frozen=True)
class DuePayment:
    payment: Payment
    booking_id: int
    lead_id: int
    customer_name: str
    hotel: str
    assignee_id: int | None
    overdue: bool
    days: int  # days until due (negative: overdue)


def due_payments(*, session: Session, today: dt.date | None = None, horizon_days: int = 14) -> list[DuePayment]:
    """Unpaid lines of live bookings that are overdue or due within the horizon, the most urgent first."""
    today = today or dt.date.today()
    until = today + dt.timedelta(days=horizon_days)
    stmt = (select(Payment, Booking, Lead.assignee_id, Customer.name, TourOffer.hotel)
            .join(Booking, col(Booking.id) == col(Payment.booking_id))
            .join(Lead, col(Lead.id) == col(Booking.lead_id))
            .join(Customer, col(Customer.id) == col(Lead.customer_id))
            .outerjoin(TourOffer, col(TourOffer.id) == col(Booking.offer_id))
            .where(col(Payment.paid_at).is_(None), col(Payment.due_date).is_not(None), Payment.due_date <= until,
                   col(Booking.status).in_(LIVE))
            .order_by(col(Payment.due_date), col(Payment.id)))
    return [DuePayment(payment=p, booking_id=b.id, lead_id=b.lead_id, customer_name=name or "", hotel=hotel or "",
                       assignee_id=assignee, overdue=p.due_date < today, days=(p.due_date - today).days)
            for p, b, assignee, name, hotel in session.exec(stmt)]


# ---------- reminders when a payment falls due ----------

DUE_KIND = "payment.due"


def enqueue_due_payments(*, session: Session, today: dt.date | None = None) -> int:
    """One reminder per unpaid line per day from its due date on (for a week), to the lead's manager."""
    today = today or dt.date.today()
    new = 0
    for item in due_payments(session=session, today=today, horizon_days=0):
        if (today - item.payment.due_date).days > 7:
            continue
        key = f"{DUE_KIND}:{item.payment.id}:{today.isoformat()}"
        if session.exec(select(OutboxJob.id).where(OutboxJob.idempotency_key == key)).first() is not None:
            continue
        outbox.enqueue(session=session, kind=DUE_KIND, idempotency_key=key, payload={
            "payment_id": item.payment.id, "booking_id": item.booking_id, "lead_id": item.lead_id,
            "user_id": item.assignee_id, "kind": item.payment.kind,
            "amount": money(item.payment.amount, item.payment.currency), "due_date": item.payment.due_date.isoformat()})
        new += 1
    return new


@outbox.register(DUE_KIND, delivery="at_least_once", description="Tell the manager a booking payment is due (logs for now).")
async def notify_payment_due(payload: dict) -> None:
    """Notify the lead's manager (a log line until the notification channels exist)."""
    import logging

    logging.getLogger(__name__).info("payment %s (%s, %s) of booking %s is due %s (manager %s)",
                                     payload.get("payment_id"), payload.get("kind"), payload.get("amount"),
                                     payload.get("booking_id"), payload.get("due_date"), payload.get("user_id"))


def _enqueue_now() -> int:
    from crystal_bay.db import session_scope

    with session_scope() as session:
        return enqueue_due_payments(session=session)


@scheduled("payments.due", every=3600, title=("Платежи к сроку", "Payments due"))
async def payments_due_job() -> str:
    """Queue reminders for booking payments that fell due."""
    new = await asyncio.to_thread(_enqueue_now)
    return f"{new} payment reminders queued"


def _status_text(d: dict, en: bool) -> str:
    names = STATUS_EN if en else STATUS_RU
    return names.get(str(d.get("to")), str(d.get("to")))


conversations.EVENTS.update({
    "booking_created": lambda d, s: (f"Бронирование №{d.get('booking_id')}: {d.get('hotel', '')}, {d.get('price', '')}",
                                     f"Booking #{d.get('booking_id')}: {d.get('hotel', '')}, {d.get('price', '')}"),
    "booking_status_changed": lambda d, s: (f"Бронирование №{d.get('booking_id')}: {_status_text(d, False)}",
                                            f"Booking #{d.get('booking_id')}: {_status_text(d, True)}"),
    "payment_recorded": lambda d, s: (f"Платёж по бронированию №{d.get('booking_id')}: {d.get('amount')}",
                                      f"Payment on booking #{d.get('booking_id')}: {d.get('amount')}"),
})
