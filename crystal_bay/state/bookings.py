"""The Bookings page: the list, one booking (status, claim number, payments), booking an offer, and
the Payments view of overdue and upcoming payments. `/bookings?offer=<id>` opens the booking form for
a kept offer (its price re-checked at the operator first); `/bookings?booking=<id>` opens a booking."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from decimal import Decimal, InvalidOperation

import reflex as rx

from crystal_bay import i18n
from crystal_bay.db import session_scope
from crystal_bay.integrations.base import IntegrationError
from crystal_bay.integrations.samo import SamoError
from crystal_bay.models import Customer, Lead, TourOffer
from crystal_bay.services import bookings as booking_service
from crystal_bay.services import quotes, tours
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import DomainError, NotFound, ValidationFailed
from crystal_bay.services.quote_render import availability_label, meal_label, party
from crystal_bay.state.base import AppState
from crystal_bay.state.board import Option
from crystal_bay.state.guard import requires
from crystal_bay.state.tours import samo_error_text


@dataclasses.dataclass
class BookingListRow:
    booking_id: int
    lead_id: int
    customer: str
    hotel: str
    dates: str
    status: str
    status_text: str
    client_price: str
    paid: str
    due: str
    claim: str
    travellers: str


@dataclasses.dataclass
class DuePaymentRow:
    payment_id: int
    booking_id: int
    lead_id: int
    customer: str
    hotel: str
    kind_text: str
    amount: str
    due: str
    days_text: str
    overdue: bool


@dataclasses.dataclass
class TravellerRow:
    name: str
    birth: str
    passport: str
    expires: str


@dataclasses.dataclass
class PaymentRow:
    payment_id: int
    kind_text: str
    amount: str
    amount_raw: str
    due: str
    paid: str
    is_paid: bool
    overdue: bool


def _d(day: dt.date | None) -> str:
    return f"{day:%d.%m.%Y}" if day else "—"


def _decimal(form: dict, name: str) -> Decimal:
    raw = str(form.get(name) or "").replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ValidationFailed(f"{name} must be a number.", code="not_a_number", field=name) from None


def _date(form: dict, name: str, *, required: bool = True) -> dt.date | None:
    raw = str(form.get(name) or "").strip()
    if not raw and not required:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"{name} must be a date.", code="not_a_date", field=name) from None


def parse_booking_form(form: dict, *, offer_id: int, travellers: int, quote_id: int | None) -> booking_service.BookingInput:
    """The booking form → BookingInput (types only; the service validates the rest)."""
    people = [booking_service.TravellerInput(
        full_name=str(form.get(f"t{i}_name") or ""), birth_date=_date(form, f"t{i}_birth", required=False),
        passport_number=str(form.get(f"t{i}_passport") or ""),
        passport_expires=_date(form, f"t{i}_expires", required=False)) for i in range(1, travellers + 1)]
    return booking_service.BookingInput(
        offer_id=offer_id, travellers=people, client_price=_decimal(form, "client_price"),
        net_price=_decimal(form, "net_price"), currency=str(form.get("currency") or "USD").upper(),
        exchange_rate=_decimal(form, "exchange_rate") if str(form.get("exchange_rate") or "").strip() else Decimal(0),
        deposit=_decimal(form, "deposit"), deposit_due=_date(form, "deposit_due"), balance_due=_date(form, "balance_due"),
        operator_due=_date(form, "operator_due"), claim_number=str(form.get("claim_number") or ""),
        note=str(form.get("note") or ""), quote_id=quote_id,
    )


def _rate_sync() -> tuple:
    with session_scope() as session:
        return tours.samo_config(session=session)


class BookingsState(AppState):
    """Bookings, one booking, the booking form and the payments view."""

    view: str = "list"  # list | payments | detail | create
    status_filter: str = "all"
    rows: list[BookingListRow] = []
    due_rows: list[DuePaymentRow] = []
    booking_id: int = 0
    detail: dict[str, str] = {}
    detail_travellers: list[TravellerRow] = []
    detail_payments: list[PaymentRow] = []
    next_statuses: list[Option] = []
    detail_error: str = ""
    offer_id: int = 0
    offer: dict[str, str] = {}
    slots: list[int] = []
    defaults: dict[str, str] = {}
    recheck: dict[str, str] = {}
    create_error: str = ""
    form_key: int = 0

    def _actor(self) -> Actor:
        return Actor(type="user", id=self.user_id, label=self.user_name)

    def _error(self, exc: Exception) -> str:
        if isinstance(exc, DomainError):
            key = f"bookings.err.{exc.code}"
            text = i18n.tr(self.lang, key)
            return exc.message if text == key else text
        return samo_error_text(exc, self.lang)

    def _status_text(self, status: str) -> str:
        return i18n.tr(self.lang, f"bookings.status.{status}")

    def _load_list(self) -> None:
        status = None if self.status_filter == "all" else self.status_filter
        with session_scope() as session:
            items = booking_service.list_bookings(session=session, status=status)
            due = booking_service.due_payments(session=session)
        self.rows = [BookingListRow(
            booking_id=r.booking.id, lead_id=r.lead_id, customer=r.customer_name, hotel=r.offer.hotel if r.offer else "",
            dates=f"{_d(r.offer.date_from)}, {r.offer.nights} {i18n.tr(self.lang, 'bookings.nights_short')}"
            if r.offer else "", status=r.booking.status,
            status_text=self._status_text(r.booking.status),
            client_price=quotes.money(r.booking.client_price, r.booking.currency),
            paid=quotes.money(r.paid, r.booking.currency), due=quotes.money(r.due, r.booking.currency),
            claim=r.booking.claim_number or "—", travellers=", ".join(r.travellers)) for r in items]
        self.due_rows = [DuePaymentRow(
            payment_id=p.payment.id, booking_id=p.booking_id, lead_id=p.lead_id, customer=p.customer_name, hotel=p.hotel,
            kind_text=i18n.tr(self.lang, f"bookings.kind.{p.payment.kind}"),
            amount=quotes.money(p.payment.amount, p.payment.currency), due=_d(p.payment.due_date),
            days_text=i18n.tr(self.lang, "bookings.overdue_days" if p.overdue else "bookings.due_in_days",
                              n=abs(p.days)), overdue=p.overdue) for p in due]

    def _load_detail(self) -> None:
        with session_scope() as session:
            v = booking_service.booking_view(session=session, booking_id=self.booking_id)
        b, cur = v.booking, v.booking.currency
        offer = v.offer
        self.detail = {
            "id": str(b.id), "lead_id": str(b.lead_id), "customer": v.customer_name,
            "hotel": offer.hotel if offer else "", "resort": (offer.resort or "") if offer else "",
            "dates": f"{_d(offer.date_from)} — {_d(booking_service.return_date(offer))}, {offer.nights} "
                     f"{i18n.tr(self.lang, 'bookings.nights_short')}" if offer else "",
            "meal": meal_label(offer.meal, self.lang) if offer else "", "room": (offer.room or "") if offer else "",
            "status": b.status, "status_text": self._status_text(b.status), "claim": b.claim_number or "",
            "client_price": quotes.money(b.client_price, cur), "net_price": quotes.money(b.net_price, cur),
            "margin": quotes.money(v.margin, cur), "margin_pct": f"{v.margin_pct}%", "currency": cur,
            "rate": f"{b.exchange_rate.normalize():f}" if b.exchange_rate is not None else "",
            "client_kzt": quotes.money(v.in_kzt(b.client_price), "KZT"), "net_kzt": quotes.money(v.in_kzt(b.net_price), "KZT"),
            "margin_kzt": quotes.money(v.in_kzt(v.margin), "KZT"), "note": v.detail.note or "",
            "cancel_reason": v.detail.cancel_reason or "",
        }
        self.detail_travellers = [TravellerRow(name=t.full_name, birth=_d(t.birth_date),
                                               passport=booking_service.mask_passport(t.passport_number),
                                               expires=_d(t.passport_expires)) for t in v.travellers]
        today = dt.date.today()
        self.detail_payments = [PaymentRow(
            payment_id=p.id, kind_text=i18n.tr(self.lang, f"bookings.kind.{p.kind}"),
            amount=quotes.money(p.amount, p.currency), amount_raw=f"{p.amount:f}", due=_d(p.due_date),
            paid=i18n.format_datetime(p.paid_at) if p.paid_at else "", is_paid=p.paid_at is not None,
            overdue=p.paid_at is None and p.due_date is not None and p.due_date < today) for p in v.payments]
        self.next_statuses = [Option(value=s, label=self._status_text(s)) for s in v.next_statuses]

    def _load_offer(self) -> None:
        with session_scope() as session:
            offer = session.get(TourOffer, self.offer_id)
            if offer is None or offer.lead_id is None:
                raise NotFound("This offer does not exist.", field="offer_id")
            lead = session.get(Lead, offer.lead_id)
            customer = session.get(Customer, lead.customer_id) if lead else None
        back = booking_service.return_date(offer)
        self.offer = {
            "offer_id": str(offer.id), "lead_id": str(offer.lead_id), "quote_id": str(offer.quote_id or ""),
            "customer": customer.name if customer else "", "hotel": offer.hotel, "resort": offer.resort or "",
            "country": offer.country or "", "dates": f"{_d(offer.date_from)} — {_d(back)}", "nights": str(offer.nights),
            "meal": meal_label(offer.meal, self.lang), "room": offer.room or "", "party": party(offer, self.lang),
            "price": quotes.money(offer.price, offer.currency), "currency": offer.currency,
            "available": "1" if offer.available else "",
        }
        self.slots = list(range(1, offer.adults + offer.children + 1))
        today = dt.date.today()
        start = offer.date_from
        deposit_due = min(today + dt.timedelta(days=3), start)
        balance_due = max(deposit_due, min(start - dt.timedelta(days=14), start))
        operator_due = max(today, start - dt.timedelta(days=10))
        price = offer.price
        self.defaults = {
            "client_price": f"{price:f}", "net_price": f"{(price * Decimal('0.9')).quantize(Decimal(1)):f}",
            "currency": offer.currency, "exchange_rate": "1" if offer.currency == "KZT" else "",
            "deposit": f"{(price * Decimal('0.3')).quantize(Decimal(1)):f}", "deposit_due": deposit_due.isoformat(),
            "balance_due": balance_due.isoformat(), "operator_due": operator_due.isoformat(),
        }
        self.form_key += 1

    # --- events ---

    @requires()
    def load(self):
        """Page load: the list and payments; ?offer=<id> opens the booking form, ?booking=<id> a booking."""
        self.access = "ok"
        self.detail_error = self.create_error = ""
        params = self.router.url.query_parameters
        self._load_list()
        offer, booking = str(params.get("offer", "")), str(params.get("booking", ""))
        if offer.isdigit():
            self.offer_id, self.view = int(offer), "create"
            try:
                self._load_offer()
            except DomainError as exc:
                self.view, self.create_error = "list", self._error(exc)
                return None
            self.recheck = {"state": "checking"}
            return BookingsState.recheck_offer
        if booking.isdigit():
            return self._open(int(booking))
        self.view = "list"
        return None

    def _open(self, booking_id: int):
        self.booking_id, self.view = booking_id, "detail"
        try:
            self._load_detail()
        except DomainError as exc:
            self.view = "list"
            return rx.toast.error(self._error(exc))
        return None

    @requires()
    def show(self, view: str):
        """Switch between the list and the payments view."""
        if view in ("list", "payments"):
            self.view = view
            self._load_list()

    @requires()
    def set_filter(self, status: str):
        """Show bookings of one status (or all)."""
        self.status_filter = status if status in (*booking_service.STATUSES, "all") else "all"
        self._load_list()

    @requires()
    def open_booking(self, booking_id: int):
        """Open one booking."""
        return self._open(int(booking_id))

    @rx.event(background=True)
    @requires()
    async def recheck_offer(self):
        """Ask the operator for the offer's current price and availability; fetch the exchange rate."""
        async with self:
            offer_id, currency = self.offer_id, self.defaults.get("currency", "USD")
        try:
            with session_scope() as session:
                snapshot = session.get(TourOffer, offer_id)
                offer = tours.offer_from_snapshot(snapshot)
            config, demo = await asyncio.to_thread(_rate_sync)
            client, catalog = tours.client_for(config, demo)
            result = await tours.recheck(offer, client=client, offer_id=offer_id)
            rate = ""
            if currency != "KZT":
                tf, state = offer.raw.get("townFromKey"), offer.raw.get("stateKey")
                refs = await catalog.currencies(int(tf), int(state))
                ids = {r.name.upper(): r.id for r in refs}
                if currency in ids and "KZT" in ids:
                    value = await client.rate(ids[currency], ids["KZT"])
                    rate = f"{value.normalize():f}" if value else ""
        except (SamoError, DomainError, IntegrationError, ValueError, TypeError) as exc:
            async with self:
                self.recheck = {"state": "error", "message": self._error(exc)}
            return
        async with self:
            lang = self.lang
            state = "lost" if result.lost else "changed" if result.changed else "same"
            self.recheck = {
                "state": state, "old_price": quotes.money(result.old_price, result.currency),
                "new_price": quotes.money(result.new_price, result.currency) if result.new_price is not None else "—",
                "old_availability": availability_label(result.old_availability, lang),
                "new_availability": i18n.tr(lang, "tours.gone") if result.new_availability == "gone"
                else availability_label(result.new_availability, lang),
                "new_raw": f"{result.new_price:f}" if result.new_price is not None else "",
            }
            self._recheck_result = result
            if rate and not self.defaults.get("exchange_rate"):
                self.defaults = {**self.defaults, "exchange_rate": rate}
                self.form_key += 1

    _recheck_result: object = None

    @requires()
    def accept_new_price(self):
        """Take the operator's current price into the offer (and the form's defaults)."""
        result = self._recheck_result
        if result is None:
            return None
        try:
            with session_scope() as session:
                tours.apply_recheck(session=session, offer_id=self.offer_id, result=result)
            self._load_offer()
        except DomainError as exc:
            return rx.toast.error(self._error(exc))
        self.recheck = {**self.recheck, "state": "accepted"}
        return rx.toast.success(i18n.tr(self.lang, "bookings.price_updated"))

    @requires()
    def submit_booking(self, form: dict):
        """Create the booking (validated; nothing is written when a field is wrong)."""
        if self.recheck.get("state") in ("changed", "lost", "checking"):
            self.create_error = i18n.tr(self.lang, "bookings.recheck_first")
            return None
        quote_id = self.offer.get("quote_id") or ""
        try:
            data = parse_booking_form(form, offer_id=self.offer_id, travellers=len(self.slots),
                                      quote_id=int(quote_id) if quote_id.isdigit() else None)
            with session_scope() as session:
                booking = booking_service.create_booking(session=session, data=data, actor=self._actor())
                booking_id = booking.id
        except DomainError as exc:
            self.create_error = self._error(exc)
            return None
        self.create_error = ""
        self._load_list()
        self._open(booking_id)
        return [rx.toast.success(i18n.tr(self.lang, "bookings.created")),
                rx.redirect(f"/bookings?booking={booking_id}", replace=True)]

    def _act(self, action, ok_key: str | None = None):
        try:
            with session_scope() as session:
                action(session)
        except DomainError as exc:
            self.detail_error = self._error(exc)
            return None
        self.detail_error = ""
        self._load_detail()
        self._load_list()
        return rx.toast.success(i18n.tr(self.lang, ok_key)) if ok_key else None

    @requires()
    def change_status(self, form: dict):
        """Move the booking to its next status (a cancellation needs a reason)."""
        status, reason = str(form.get("status") or ""), str(form.get("reason") or "")
        return self._act(lambda s: booking_service.set_status(session=s, booking_id=self.booking_id, status=status,
                                                              actor=self._actor(), reason=reason), "bookings.status_saved")

    @requires()
    def save_claim(self, form: dict):
        """Save the operator's claim number."""
        claim = str(form.get("claim") or "")
        return self._act(lambda s: booking_service.set_claim_number(session=s, booking_id=self.booking_id,
                                                                    claim_number=claim, actor=self._actor()),
                         "bookings.saved")

    @requires()
    def record_payment(self, form: dict):
        """Record a payment against a schedule line (a partial amount splits the line)."""
        try:
            payment_id = int(str(form.get("payment_id") or "0"))
            amount = _decimal(form, "amount")
            paid_on = _date(form, "paid_on", required=False)
        except (ValueError, DomainError) as exc:
            self.detail_error = self._error(exc) if isinstance(exc, DomainError) else str(exc)
            return None
        return self._act(lambda s: booking_service.record_payment(session=s, payment_id=payment_id, amount=amount,
                                                                  actor=self._actor(), paid_on=paid_on),
                         "bookings.payment_saved")
