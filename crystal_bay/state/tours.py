"""The lead workspace's "Tours" panel: search at the operator, select offers, create a quote.

A substate of LeadState (it knows the lead and refreshes the header after a quote). The search and
the quote's price re-check run as background events; the search can be cancelled. Offers found stay
on the server (`_offers`); the browser gets display rows only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

import reflex as rx

from crystal_bay import i18n
from crystal_bay.api.public_quotes import public_url
from crystal_bay.db import session_scope
from crystal_bay.integrations.base import IntegrationError
from crystal_bay.integrations.samo import SamoError
from crystal_bay.models import Lead, User
from crystal_bay.services import quotes, tours
from crystal_bay.services.errors import DomainError, ValidationFailed
from crystal_bay.services.quote_render import availability_label, meal_label
from crystal_bay.settings import get_settings
from crystal_bay.state.guard import requires
from crystal_bay.state.lead import LeadState

PAGE_SIZE = 20
BUDGET_CURRENCIES = ("USD", "KZT", "EUR", "RUB")
FIELD_PREFIX = "ts_"  # the search form's input names, apart from the travel request form's
SORT_KEYS = ("price", "hotel", "stars", "resort", "meal", "date", "nights", "availability", "per_person")
AVAILABILITY_ORDER = {"available": 0, "few": 1, "request": 2, "stop": 3}


@dataclasses.dataclass
class OfferRow:
    key: str
    hotel: str
    stars: int
    resort: str
    meal: str
    room: str
    dates: str
    date_iso: str
    nights: int
    price: float
    price_text: str
    per_person: float
    per_person_text: str
    availability: str
    availability_text: str


@dataclasses.dataclass
class RecheckRow:
    hotel: str
    details: str
    old_price: str
    new_price: str
    old_availability: str
    new_availability: str
    changed: bool
    lost: bool


@dataclasses.dataclass
class QuoteOfferRow:
    offer_id: int
    text: str
    chosen: bool
    available: bool


@dataclasses.dataclass
class QuoteRow:
    quote_id: int
    created: str
    status: str  # created (a draft, not sent yet) | sent | viewed | chosen | revoked | expired
    status_text: str
    status_hint: str
    link_state: str
    sent: bool
    views: int
    expires: str
    link: str
    pdf: str
    demo: bool
    offers: list[QuoteOfferRow]


def samo_error_text(exc: Exception, lang: str) -> str:
    """A SAMO or domain error in the manager's language."""
    if isinstance(exc, SamoError):
        params = {"ip": "", "timeout": "", "status": "", "action": "", "reason": "", "code": "", "host": ""}
        params.update({k: str(v) for k, v in exc.params.items()})
        text = i18n.tr(lang, exc.i18n_key, **params)
        return exc.message if text == exc.i18n_key else text
    if isinstance(exc, DomainError):
        key = f"tours.err.{exc.code}"
        text = i18n.tr(lang, key)
        return exc.message if text == key else text
    if isinstance(exc, IntegrationError):
        return exc.message
    return str(exc)


def _row(offer: tours.Offer, lang: str) -> OfferRow:
    return OfferRow(
        key=offer.key, hotel=offer.hotel, stars=offer.stars or 0, resort=offer.resort, meal=offer.meal, room=offer.room,
        dates=f"{offer.date_from:%d.%m} – {offer.date_to:%d.%m.%Y}", date_iso=offer.date_from.isoformat(),
        nights=offer.nights, price=float(offer.price), price_text=quotes.money(offer.price, offer.currency),
        per_person=float(offer.price_per_person), per_person_text=quotes.money(offer.price_per_person, offer.currency),
        availability=offer.availability, availability_text=availability_label(offer.availability, lang),
    )


def _form_from_request(request: tours.SearchRequest) -> dict[str, str]:
    return {
        "departure": request.departure, "country": request.country, "resorts": ", ".join(request.resorts),
        "date_from": request.date_from.isoformat(), "date_to": request.date_to.isoformat(),
        "nights_min": str(request.nights_min), "nights_max": str(request.nights_max), "adults": str(request.adults),
        "children_ages": ", ".join(str(a) for a in request.children_ages),
        "stars": str(request.stars_min or ""), "meal": ",".join(request.meals),
        "budget": "" if request.budget is None else str(int(request.budget)),
        "budget_currency": request.budget_in,
    }


def parse_search_form(form: dict[str, Any]) -> tours.SearchRequest:
    """The panel's form → a search request; a value of the wrong kind names its field."""

    form = {k.removeprefix(FIELD_PREFIX): v for k, v in form.items()}

    def get(name: str) -> str:
        return str(form.get(name) or "").strip()

    def as_int(name: str, default: int | None = None) -> int | None:
        raw = get(name)
        try:
            return int(raw) if raw else default
        except ValueError:
            raise ValidationFailed(f"{name} must be a whole number.", code="not_a_number", field=name) from None

    def as_date(name: str) -> dt.date:
        try:
            return dt.date.fromisoformat(get(name))
        except ValueError:
            raise ValidationFailed(f"{name} must be a date.", code="not_a_date", field=name) from None

    try:
        ages = tuple(int(a) for a in get("children_ages").replace(";", ",").split(",") if a.strip())
    except ValueError:
        raise ValidationFailed("Children's ages are numbers separated by commas.", code="children",
                               field="children_ages") from None
    try:
        budget = Decimal(get("budget").replace(" ", "")) if get("budget") else None
    except InvalidOperation:
        raise ValidationFailed("The budget must be a number.", code="budget", field="budget") from None
    budget_currency = (get("budget_currency") or tours.DEFAULT_CURRENCY).upper()
    date_from = as_date("date_from")
    stars = get("stars")
    meal = get("meal")
    return tours.SearchRequest(
        departure=get("departure"), country=get("country"),
        resorts=tuple(r.strip() for r in get("resorts").split(",") if r.strip()),
        date_from=date_from, date_to=as_date("date_to") if get("date_to") else date_from,
        nights_min=as_int("nights_min", 7) or 7, nights_max=as_int("nights_max", 10) or 10,
        adults=as_int("adults", 2) or 2, children_ages=ages,
        stars_min=int(stars) if stars.isdigit() else None,
        meals=tuple(m.strip().upper() for m in meal.split(",") if m.strip() and m.strip().lower() != "any"),
        budget=budget, budget_currency=budget_currency,
    )


def budget_notice(result: tours.SearchResult, lang: str) -> str:
    """"Бюджет 500 000 KZT ≈ 961 USD по курсу туроператора (1 USD = 520 KZT)" when it was converted."""
    request = result.request
    if result.budget_rate is None or result.budget_limit is None or request.budget is None:
        return ""
    return i18n.tr(lang, "tours.budget_converted", budget=quotes.money(request.budget, request.budget_in),
                   limit=quotes.money(result.budget_limit, request.currency), currency=request.currency,
                   rate=f"{result.budget_rate.normalize():f}", budget_currency=request.budget_in)


def _samo_config() -> tuple[Any, bool]:
    with session_scope() as session:
        return tours.samo_config(session=session)


class ToursState(LeadState):
    """Search, results, selection and quotes of the open lead."""

    tf: dict[str, str] = {}
    tf_key: int = 0
    tf_defaults: list[str] = []  # form fields filled in by default (the lead did not say): marked in the form
    departure_options: list[str] = []
    country_options: list[str] = []
    searching: bool = False
    cancel_requested: bool = False
    search_error: str = ""
    search_notice: str = ""
    demo_results: bool = False
    searched: bool = False
    rows: list[OfferRow] = []
    total: int = 0
    operator_page: int = 1
    operator_pages: int = 1
    sort_key: str = "price"
    sort_desc: bool = False
    page: int = 0
    selected: list[str] = []
    quote_busy: bool = False
    recheck_open: bool = False
    recheck_rows: list[RecheckRow] = []
    last_quote_link: str = ""
    last_quote_pdf: str = ""
    quotes_list: list[QuoteRow] = []
    _offers: dict[str, Any] = {}
    _request: Any = None
    _pending: list[Any] = []
    _details: dict[int, dict] = {}

    # --- derived ---

    @rx.var(cache=True)
    def sorted_rows(self) -> list[OfferRow]:
        key = self.sort_key if self.sort_key in SORT_KEYS else "price"
        getters = {
            "price": lambda r: r.price, "per_person": lambda r: r.per_person, "hotel": lambda r: r.hotel.casefold(),
            "stars": lambda r: r.stars, "resort": lambda r: r.resort.casefold(), "meal": lambda r: r.meal,
            "date": lambda r: r.date_iso, "nights": lambda r: r.nights,
            "availability": lambda r: AVAILABILITY_ORDER.get(r.availability, 9),
        }
        return sorted(self.rows, key=lambda r: (getters[key](r), r.price), reverse=self.sort_desc)

    @rx.var(cache=True)
    def page_rows(self) -> list[OfferRow]:
        start = self.page * PAGE_SIZE
        return self.sorted_rows[start:start + PAGE_SIZE]

    @rx.var(cache=True)
    def page_count(self) -> int:
        return max(1, -(-len(self.rows) // PAGE_SIZE))

    @rx.var(cache=True)
    def page_label(self) -> str:
        return f"{self.page + 1} / {max(1, -(-len(self.rows) // PAGE_SIZE))}"

    @rx.var(cache=True)
    def more_at_operator(self) -> bool:
        return self.operator_page < self.operator_pages

    @rx.var(cache=True)
    def selected_count(self) -> int:
        return len(self.selected)

    # --- helpers ---

    def _load_quotes(self) -> None:
        tz = get_settings().timezone
        en = self.lang == "en"
        with session_scope() as session:
            views = quotes.lead_quotes(session=session, lead_id=self.lead_id)
        rows = []
        for v in views:
            state = quotes.link_state(v.quote)
            status = quotes.quote_status(v.quote)
            link = public_url(v.quote.token)
            hint = i18n.tr(self.lang, "quote.status_hint.sent", at=i18n.format_datetime(v.quote.sent_at, tz)) \
                if v.quote.sent_at else i18n.tr(self.lang, "quote.status_hint.not_sent")
            rows.append(QuoteRow(
                quote_id=v.quote.id, created=i18n.format_datetime(v.quote.created_at, tz), status=status,
                status_text=i18n.tr(self.lang, f"quote.status.{status}"), status_hint=hint, link_state=state,
                sent=v.quote.sent_at is not None,
                views=v.document.view_count, expires=i18n.format_datetime(v.quote.expires_at, tz), link=link,
                pdf=link + "/pdf", demo=v.document.demo,
                offers=[QuoteOfferRow(offer_id=o.id, text=quotes.describe_offer(o, en=en),
                                      chosen=o.id == v.quote.chosen_offer_id, available=o.available)
                        for o in v.offers],
            ))
        self.quotes_list = rows

    def _tours_error(self, exc: Exception) -> str:
        return samo_error_text(exc, self.lang)

    # --- events ---

    @requires()
    def prefill(self):
        """On mount: the search form from the lead's travel request; the lead's quotes."""
        if not self.lead_id:
            return None
        with session_scope() as session:
            lead = session.get(Lead, self.lead_id)
            if lead is None:
                return None
            request = tours.request_from_lead(lead)
        self.tf = _form_from_request(request)
        self.tf_defaults = sorted(request.defaults)
        self.tf_key += 1
        self.search_error = ""
        self._load_quotes()
        return ToursState.load_options

    @rx.event(background=True)
    @requires()
    async def load_options(self):
        """Departure cities and countries for the form's suggestions (from the cached dictionaries)."""
        async with self:
            departure = self.tf.get("departure", tours.DEFAULT_DEPARTURE)
        try:
            config, demo = await asyncio.to_thread(_samo_config)
            client, catalog = tours.client_for(config, demo)
            deps = await catalog.departures()
            dep = catalog._match(deps, departure)
            countries = await catalog.destinations(dep.id) if dep else []
        except (SamoError, DomainError, IntegrationError):
            return
        async with self:
            self.departure_options = [d.name for d in deps]
            self.country_options = [c.name for c in countries]

    @rx.event(background=True)
    @requires()
    async def search(self, form: dict):
        """Search at the operator (a background task the manager can cancel)."""
        async with self:
            if self.searching:
                return
            try:
                request = parse_search_form(form)
                tours.validate(request)
            except DomainError as exc:
                self.search_error = self._tours_error(exc)
                return
            submitted = {k.removeprefix(FIELD_PREFIX): str(v) for k, v in form.items()}
            # a default the manager changed is no longer a default
            self.tf_defaults = [n for n in self.tf_defaults if submitted.get(n, "") == self.tf.get(n, "")]
            self.tf = submitted
            self.searching, self.cancel_requested, self.search_error, self.search_notice = True, False, "", ""
            self._request = request
        await self._run_search(request, page=1, append=False)

    @rx.event(background=True)
    @requires()
    async def load_more(self):
        """The operator's next page of offers, added to the table."""
        async with self:
            if self.searching or self._request is None or self.operator_page >= self.operator_pages:
                return
            request, page = self._request, self.operator_page + 1
            self.searching, self.cancel_requested, self.search_error = True, False, ""
        await self._run_search(request, page=page, append=True)

    async def _run_search(self, request: tours.SearchRequest, *, page: int, append: bool):
        try:
            config, demo = await asyncio.to_thread(_samo_config)
            client, catalog = tours.client_for(config, demo)
            task = asyncio.ensure_future(tours.search(request, client=client, catalog=catalog, page=page))
            while not task.done():
                await asyncio.wait({task}, timeout=0.25)
                if task.done():
                    break
                async with self:
                    cancel = self.cancel_requested
                if cancel:
                    task.cancel()
                    async with self:
                        self.searching = False
                        self.search_notice = i18n.tr(self.lang, "tours.cancelled")
                    return
            result = task.result()
        except (SamoError, DomainError, IntegrationError) as exc:
            async with self:
                self.searching = False
                self.search_error = self._tours_error(exc)
            return
        async with self:
            offers = {o.key: o for o in result.offers}
            if append:
                self._offers = {**self._offers, **offers}
                known = {r.key for r in self.rows}
                self.rows = self.rows + [_row(o, self.lang) for o in result.offers if o.key not in known]
            else:
                self._offers = offers
                self.rows = [_row(o, self.lang) for o in result.offers]
                self.selected, self.page = [], 0
            self.total = result.total if result.total is not None else len(self.rows)
            self.operator_page, self.operator_pages = result.page, result.pages
            self.demo_results = result.demo
            self.searched, self.searching = True, False
            self.search_notice = " ".join(t for t in (budget_notice(result, self.lang), result.notice) if t)

    @requires()
    def cancel_search(self):
        """Stop the running search."""
        self.cancel_requested = True

    @requires()
    def sort_by(self, key: str):
        """Sort the table by a column (again: the other way round)."""
        if key not in SORT_KEYS:
            return
        self.sort_desc = not self.sort_desc if self.sort_key == key else False
        self.sort_key = key
        self.page = 0

    @requires()
    def go_page(self, delta: int):
        """Previous/next page of the table."""
        pages = max(1, -(-len(self.rows) // PAGE_SIZE))
        self.page = min(max(0, self.page + int(delta)), pages - 1)

    @requires()
    def toggle_offer(self, key: str):
        """Select or unselect an offer for the quote."""
        key = str(key)
        if key in self.selected:
            self.selected = [k for k in self.selected if k != key]
        elif key in self._offers and len(self.selected) < quotes.MAX_OFFERS:
            self.selected = self.selected + [key]

    @rx.event(background=True)
    @requires()
    async def create_quote(self):
        """Re-check the selected offers at the operator, then create the quote (or show what changed)."""
        async with self:
            offers = [self._offers[k] for k in self.selected if k in self._offers]
            if not offers or self.quote_busy:
                return rx.toast.error(i18n.tr(self.lang, "tours.select_first")) if not offers else None
            self.quote_busy = True
            lang = self.lang
        try:
            config, demo = await asyncio.to_thread(_samo_config)
            client, _ = tours.client_for(config, demo)
            checks = await asyncio.gather(*(tours.recheck(o, client=client) for o in offers))
            details = {}
            for hotel_id in {o.hotel_id for o in offers if o.hotel_id is not None}:
                info = await client.hotel_details(hotel_id)
                if info is not None:
                    details[hotel_id] = {"description": info.description, "images": info.images[:5]}
        except (SamoError, DomainError, IntegrationError) as exc:
            async with self:
                self.quote_busy = False
                return rx.toast.error(self._tours_error(exc))
        updated = [tours.with_price(o, c) for o, c in zip(offers, checks, strict=True)]
        async with self:
            self._details = details
            self._pending = [o for o in updated if o.availability != "stop"]
            if any(c.changed for c in checks):
                self.recheck_rows = [RecheckRow(
                    hotel=c.hotel, details=f"{c.date_from:%d.%m.%Y}, {c.nights} · {c.room} · {meal_label(c.meal, lang)}",
                    old_price=quotes.money(c.old_price, c.currency),
                    new_price=quotes.money(c.new_price, c.currency) if c.new_price is not None else "—",
                    old_availability=availability_label(c.old_availability, lang),
                    new_availability=i18n.tr(lang, "tours.gone") if c.new_availability == "gone"
                    else availability_label(c.new_availability, lang),
                    changed=c.changed, lost=c.lost) for c in checks]
                self.recheck_open = True
                self.quote_busy = False
                return None
            return self._finish_quote(demo)

    @requires()
    def confirm_quote(self):
        """After the re-check: create the quote with the operator's current prices (lost offers left out)."""
        self.recheck_open = False
        if not self._pending:
            return rx.toast.error(i18n.tr(self.lang, "tours.nothing_left"))
        return self._finish_quote(self.demo_results)

    @requires()
    def close_recheck(self):
        """Back to the results without creating a quote."""
        self.recheck_open = False
        self._pending = []

    def _finish_quote(self, demo: bool):
        try:
            with session_scope() as session:
                manager = session.get(User, self.user_id)
                quote = quotes.create_quote(session=session, lead_id=self.lead_id, offers=list(self._pending),
                                            actor=self._actor(), manager=manager, details=self._details,
                                            language=self.customer.get("language", "ru") or "ru", demo=demo)
                token = quote.token
        except DomainError as exc:
            self.quote_busy = False
            return rx.toast.error(self._tours_error(exc))
        self.quote_busy = False
        self.last_quote_link = public_url(token)
        self.last_quote_pdf = public_url(token) + "/pdf"
        self.selected, self._pending = [], []
        self._refresh()
        self._load_quotes()
        return rx.toast.success(i18n.tr(self.lang, "tours.quote_created"))

    @requires()
    def revoke_quote(self, quote_id: int):
        """Close a quote's public link."""
        try:
            with session_scope() as session:
                quotes.revoke_quote(session=session, quote_id=int(quote_id), actor=self._actor())
        except DomainError as exc:
            return rx.toast.error(self._tours_error(exc))
        self._load_quotes()
        self._refresh()
        return rx.toast.success(i18n.tr(self.lang, "tours.revoked"))

    @requires()
    def mark_quote_sent(self, quote_id: int):
        """The manager sent the quote's link or PDF to the customer (the timeline says so)."""
        if int(quote_id) not in {q.quote_id for q in self.quotes_list}:
            return None  # only the open lead's quotes
        try:
            with session_scope() as session:
                quotes.mark_sent(session=session, quote_id=int(quote_id), actor=self._actor())
        except DomainError as exc:
            return rx.toast.error(self._tours_error(exc))
        self._load_quotes()
        self._refresh()
        return rx.toast.success(i18n.tr(self.lang, "tours.marked_sent"))

    @requires()
    def reload_quotes(self):
        """Show the quotes' latest views and answers."""
        self._load_quotes()
        self._refresh()
