"""Tour search at the operator: the request (prefilled from a lead), offers, snapshots, price re-checks.

`search()` resolves names to the operator's ids through the cached dictionaries and costs one
SearchTour_PRICES call when they are warm. A budget in another currency than the search (the customer
said "500 000 тенге", the operator quotes USD) is converted at the operator's own rate (Currency_RATES,
cached with the dictionaries). Offers are plain frozen dataclasses until a manager keeps
them: `snapshot_offers()` stores them as `TourOffer` rows (the price row as it was, with the party's
ages and hotel details), which quotes and bookings point to. `recheck()` asks the operator again for
the same hotel, check-in date, nights, room and meal and reports what changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from sqlmodel import Session, col, select

from crystal_bay.integrations import samo
from crystal_bay.integrations.samo import PriceQuery, PriceRow, SamoClient, SamoError, SamoSettings
from crystal_bay.jobs import scheduled
from crystal_bay.models import Lead, TourOffer, utcnow
from crystal_bay.services import integrations as integration_service
from crystal_bay.services.errors import NotFound, ValidationFailed
from crystal_bay.services.tour_catalog import Catalog, app_session_factory

MAX_RANGE_DAYS = 45
MAX_NIGHTS = 30
MAX_CHILDREN = 4
DEFAULT_DEPARTURE = "Алматы"
DEFAULT_COUNTRY = "Вьетнам"
DEFAULT_ADULTS = 2
DEFAULT_CURRENCY = "USD"
AVAILABILITY = ("available", "few", "request", "stop")


@dataclass(frozen=True)
class SearchRequest:
    """What a manager searches for. Names (not ids): the dictionaries resolve them."""

    departure: str
    country: str
    date_from: dt.date
    date_to: dt.date
    nights_min: int = 7
    nights_max: int = 10
    adults: int = 2
    children_ages: tuple[int, ...] = ()
    resorts: tuple[str, ...] = ()
    stars_min: int | None = None
    meals: tuple[str, ...] = ()
    budget: Decimal | None = None
    currency: str = DEFAULT_CURRENCY  # the currency the operator quotes the search in
    per_page: int = 100
    budget_currency: str | None = None  # the budget's own currency; None: the search currency
    # the form fields request_from_lead filled in itself because the lead did not say (the panel marks them)
    defaults: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def budget_in(self) -> str:
        return (self.budget_currency or self.currency).upper()


def validate(request: SearchRequest, *, today: dt.date | None = None) -> None:
    """Refuse a request the operator cannot answer, naming the field."""
    today = today or dt.date.today()
    if not request.departure.strip():
        raise ValidationFailed("Choose a departure city.", code="required", field="departure")
    if not request.country.strip():
        raise ValidationFailed("Choose a country.", code="required", field="country")
    if request.date_to < request.date_from:
        raise ValidationFailed("The last check-in date is before the first.", code="dates_order", field="date_to")
    if request.date_from < today:
        raise ValidationFailed("The check-in dates are in the past.", code="dates_past", field="date_from")
    if (request.date_to - request.date_from).days > MAX_RANGE_DAYS:
        raise ValidationFailed(f"Search at most {MAX_RANGE_DAYS} days of check-in dates at once.",
                               code="dates_range", field="date_to")
    if not 1 <= request.nights_min <= request.nights_max <= MAX_NIGHTS:
        raise ValidationFailed(f"Nights go from 1 to {MAX_NIGHTS}, the minimum first.", code="nights",
                               field="nights_max")
    if not 1 <= request.adults <= 6:
        raise ValidationFailed("From 1 to 6 adults.", code="adults", field="adults")
    if len(request.children_ages) > MAX_CHILDREN or any(not 0 <= a <= 17 for a in request.children_ages):
        raise ValidationFailed(f"At most {MAX_CHILDREN} children, aged 0–17.", code="children",
                               field="children_ages")
    if request.budget is not None and request.budget <= 0:
        raise ValidationFailed("The budget must be positive.", code="budget", field="budget")
    if not (len(request.budget_in) == 3 and request.budget_in.isalpha()):
        raise ValidationFailed("The budget's currency is a three-letter code (USD, KZT, EUR, RUB).",
                               code="budget_currency", field="budget_currency")


def request_from_lead(lead: Lead, *, today: dt.date | None = None) -> SearchRequest:
    """The lead's travel request as a search; what the customer did not say is filled in and named in `defaults`."""
    today = today or dt.date.today()
    start = lead.date_from if lead.date_from and lead.date_from >= today else today + dt.timedelta(days=14)
    end = lead.date_to if lead.date_to and lead.date_to >= start else start + dt.timedelta(days=7)
    end = min(end, start + dt.timedelta(days=MAX_RANGE_DAYS))
    defaults = {name for name, given in (
        ("departure", lead.departure_city), ("country", lead.country), ("adults", lead.adults),
        ("date_from", start == lead.date_from), ("date_to", end == lead.date_to),
        ("nights_min", lead.nights_min), ("nights_max", lead.nights_max),
        ("budget_currency", lead.currency or not lead.budget)) if not given}
    if lead.date_from and lead.date_to and lead.nights_min is None:
        # "from the 10th to the 20th" usually means the trip, not the check-in window
        trip = (lead.date_to - lead.date_from).days
        nights_min = nights_max = max(1, min(trip, MAX_NIGHTS))
        end = start
        defaults -= {"date_to", "nights_min", "nights_max"}
    else:
        nights_min = lead.nights_min or 7
        nights_max = max(lead.nights_max or max(nights_min, 10), nights_min)
    budget = lead.budget if lead.budget and lead.budget > 0 else None
    return SearchRequest(
        departure=lead.departure_city or DEFAULT_DEPARTURE, country=lead.country or DEFAULT_COUNTRY,
        resorts=tuple(r.strip() for r in (lead.resort or "").split(",") if r.strip()),
        date_from=start, date_to=end, nights_min=nights_min, nights_max=nights_max,
        adults=lead.adults or DEFAULT_ADULTS, children_ages=tuple(lead.children_ages or ()),
        stars_min=lead.hotel_stars, meals=(lead.meal,) if lead.meal else (), budget=budget,
        budget_currency=(lead.currency or DEFAULT_CURRENCY).upper() if budget else None,
        defaults=frozenset(defaults),
    )


@dataclass(frozen=True)
class Offer:
    """One priced tour as the operator offered it."""

    key: str
    offer_id: str
    hotel: str
    hotel_id: int | None
    stars: int | None
    resort: str
    resort_id: int | None
    country: str
    meal: str
    meal_id: int | None
    room: str
    room_id: int | None
    date_from: dt.date
    date_to: dt.date
    nights: int
    adults: int
    children_ages: tuple[int, ...]
    price: Decimal
    currency: str
    availability: str
    bookable: bool
    tour: str
    raw: dict = field(compare=False, repr=False)

    @property
    def travellers(self) -> int:
        return self.adults + len(self.children_ages)

    @property
    def price_per_person(self) -> Decimal:
        return (self.price / max(1, self.travellers)).quantize(Decimal(1), rounding=ROUND_HALF_UP)


def offer_key(row: PriceRow) -> str:
    """A key that names the same tour on every search (hotel, date, nights, room, meal, party)."""
    basis = f"{row.hotel_id}|{row.check_in}|{row.nights}|{row.room_id or row.room}|{row.meal_id or row.meal}|" \
            f"{row.adults}|{row.children}"
    return hashlib.blake2b(basis.encode(), digest_size=8).hexdigest()


def offer_from_row(row: PriceRow, *, country: str, ages: tuple[int, ...]) -> Offer:
    return Offer(
        key=offer_key(row), offer_id=row.offer_id, hotel=row.hotel, hotel_id=row.hotel_id, stars=row.stars,
        resort=row.town, resort_id=row.town_id, country=country, meal=row.meal, meal_id=row.meal_id, room=row.room,
        room_id=row.room_id, date_from=row.check_in, date_to=row.check_out or row.check_in + dt.timedelta(days=row.nights),
        nights=row.nights, adults=row.adults, children_ages=ages, price=row.price, currency=row.currency,
        availability=row.availability, bookable=row.bookable, tour=row.tour, raw=row.raw,
    )


@dataclass(frozen=True)
class SearchResult:
    request: SearchRequest
    offers: list[Offer]
    page: int
    pages: int
    total: int | None
    demo: bool
    source: str
    operator_ms: float  # the PRICES call, as seen from here
    total_ms: float
    dictionary_fetches: int
    notice: str = ""
    budget_limit: Decimal | None = None  # the budget in the search currency (the ceiling actually applied)
    budget_rate: Decimal | None = None  # budget-currency units per search-currency unit, when converted


async def search(request: SearchRequest, *, client: SamoClient, catalog: Catalog, page: int = 1,
                 today: dt.date | None = None) -> SearchResult:
    """Offers for a request, cheapest first (one PRICES call when the dictionaries are warm)."""
    started = time.perf_counter()
    validate(request, today=today)
    fetches = catalog.fetches
    departure = await catalog.departure(request.departure)
    state = await catalog.destination(departure, request.country)
    currency_id = await catalog.currency_id(departure.id, state.id, request.currency)
    budget, rate = await budget_limit(request, catalog=catalog, townfrom_id=departure.id, state_id=state.id,
                                      currency_id=currency_id)
    query = PriceQuery(
        townfrom_id=departure.id, state_id=state.id, checkin_from=request.date_from, checkin_to=request.date_to,
        nights_from=request.nights_min, nights_to=request.nights_max, adults=request.adults,
        children_ages=request.children_ages, currency_id=currency_id,
        town_ids=await catalog.resort_ids(departure.id, state, request.resorts),
        star_ids=await catalog.star_ids(departure.id, state.id, request.stars_min),
        meal_ids=await catalog.meal_ids(departure.id, state.id, request.meals),
        cost_max=int(budget) if budget else None, per_page=request.per_page,
    )
    called = time.perf_counter()
    result = await client.prices(query, page=page)
    operator_ms = (time.perf_counter() - called) * 1000
    offers = [offer_from_row(r, country=state.name, ages=request.children_ages) for r in result.rows]
    if budget:
        offers = [o for o in offers if o.price <= budget]
    notice = "The operator is still searching; run the search again in a moment for more." if result.search_key else ""
    return SearchResult(request=request, offers=offers, page=result.page, pages=result.pages, total=result.total,
                        demo=client.demo, source=client.source, operator_ms=operator_ms,
                        total_ms=(time.perf_counter() - started) * 1000,
                        dictionary_fetches=catalog.fetches - fetches, notice=notice, budget_limit=budget,
                        budget_rate=rate)


# ---------- the budget in the search currency ----------


async def budget_limit(request: SearchRequest, *, catalog: Catalog, townfrom_id: int, state_id: int,
                       currency_id: int) -> tuple[Decimal | None, Decimal | None]:
    """(the budget in the search currency, the rate used): converted at the operator's rate when the
    budget is in another currency; ValidationFailed (field budget_currency) when the operator has no rate."""
    if request.budget is None:
        return None, None
    if request.budget_in == request.currency.upper():
        return request.budget, None
    source_id = await _any_currency_id(catalog, townfrom_id, state_id, request.budget_in)
    if source_id is None:
        raise _no_rate(request)

    async def fetch() -> list[str]:
        try:
            rate = await catalog.client.rate(currency_id, source_id)  # budget units per one search unit
            if not rate or rate <= 0:
                inverse = await catalog.client.rate(source_id, currency_id)  # search units per one budget unit
                rate = 1 / inverse if inverse and inverse > 0 else None
        except SamoError as exc:
            if exc.kind not in ("operator", "malformed"):
                raise
            rate = None  # the operator refuses rates to this token: the manager enters the budget in USD
        if rate is None:
            raise _no_rate(request)
        return [str(rate)]

    rate = Decimal((await catalog.get("rates", f"{currency_id}:{source_id}", fetch))[0])
    return max(Decimal(1), (request.budget / rate).quantize(Decimal(1), rounding=ROUND_DOWN)), rate


async def _any_currency_id(catalog: Catalog, townfrom_id: int, state_id: int, iso: str) -> int | None:
    """The operator's id of a currency: from the destination's currencies, else its global list."""
    try:
        return await catalog.currency_id(townfrom_id, state_id, iso)
    except ValidationFailed:
        pass

    async def fetch() -> list[dict]:
        items = await catalog.client.call("Currency_CURRENCIES")
        return [{"id": int(i["id"]), "name": str(i.get("name") or ""), "iso": str(i.get("currencyISO") or "")}
                for i in (items if isinstance(items, list) else []) if isinstance(i, dict) and "id" in i]

    known = await catalog.get("currency_list", "", fetch)
    return next((int(i["id"]) for i in known if iso in (i["name"].upper(), i["iso"].upper())), None)


def _no_rate(request: SearchRequest) -> ValidationFailed:
    return ValidationFailed(f"The operator has no {request.budget_in} → {request.currency} rate: enter the budget in "
                            f"{request.currency}.", code="no_rate", field="budget_currency")


# ---------- which operator: the configured one, or the sandbox in demo mode ----------


def samo_config(*, session: Session) -> tuple[SamoSettings, bool]:
    """(config, demo): the configured operator; the sandbox only in demo mode without SAMO credentials."""
    try:
        return integration_service.load_config(session=session, slug="samo"), False  # type: ignore[return-value]
    except ValidationFailed as exc:
        if integration_service.effective_demo(session):
            return samo.sandbox_settings(), True
        raise SamoError("SAMO is not configured: set SAMO_API_URL and SAMO_OAUTH_TOKEN, or fill in "
                        "Settings → SAMO-tour.", kind="not_configured", detail=exc.message) from exc


def client_for(config: SamoSettings, demo: bool) -> tuple[SamoClient, Catalog]:
    """The shared client of this event loop and a catalog over the app's database."""
    client = samo.get_client(config, demo=demo)
    return client, Catalog(client, session_factory=app_session_factory())


# ---------- snapshots ----------


def snapshot_offers(*, session: Session, lead_id: int, offers: list[Offer], quote_id: int | None = None,
                    details: dict[int, dict] | None = None) -> list[TourOffer]:
    """Store offers as they are now (prices change): one TourOffer row each, on the lead."""
    if session.get(Lead, lead_id) is None:
        raise NotFound(f"Lead {lead_id} does not exist.", field="lead_id")
    rows = []
    for offer in offers:
        raw = dict(offer.raw)
        raw["cb_ages"] = list(offer.children_ages)
        raw["cb_key"] = offer.key
        raw["cb_tour"] = offer.tour
        raw["cb_date_to"] = offer.date_to.isoformat()
        raw["cb_availability"] = offer.availability
        if details and offer.hotel_id in details:
            raw["cb_details"] = details[offer.hotel_id]
        row = TourOffer(
            lead_id=lead_id, quote_id=quote_id, source="samo", operator_offer_id=offer.offer_id[:100],
            hotel=offer.hotel[:200], hotel_id=str(offer.hotel_id) if offer.hotel_id is not None else None,
            stars=offer.stars, country=offer.country[:100], resort=offer.resort[:100], meal=offer.meal[:20],
            room=offer.room[:100], date_from=offer.date_from, nights=offer.nights, adults=offer.adults,
            children=len(offer.children_ages), price=offer.price, currency=offer.currency,
            available=offer.availability != "stop", raw=raw,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def offer_from_snapshot(row: TourOffer) -> Offer:
    """A stored TourOffer back as an Offer (for re-checks and bookings)."""
    raw = dict(row.raw or {})
    date_to = raw.get("cb_date_to")
    return Offer(
        key=str(raw.get("cb_key") or row.id), offer_id=row.operator_offer_id or "", hotel=row.hotel,
        hotel_id=int(row.hotel_id) if row.hotel_id and row.hotel_id.isdigit() else None, stars=row.stars,
        resort=row.resort or "", resort_id=_int(raw.get("townKey")), country=row.country or "", meal=row.meal or "",
        meal_id=_int(raw.get("mealKey")), room=row.room or "", room_id=_int(raw.get("roomKey")),
        date_from=row.date_from,
        date_to=dt.date.fromisoformat(date_to) if date_to else row.date_from + dt.timedelta(days=row.nights),
        nights=row.nights, adults=row.adults, children_ages=tuple(raw.get("cb_ages") or ()), price=row.price,
        currency=row.currency, availability=str(raw.get("cb_availability") or ("available" if row.available else "stop")),
        bookable=row.available, tour=str(raw.get("cb_tour") or raw.get("tour") or ""), raw=raw,
    )


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def lead_offers(*, session: Session, lead_id: int) -> list[TourOffer]:
    """Offers kept on a lead, newest first."""
    stmt = select(TourOffer).where(TourOffer.lead_id == lead_id).order_by(col(TourOffer.captured_at).desc(),
                                                                          col(TourOffer.id).desc())
    return list(session.exec(stmt))


# ---------- price re-check ----------


@dataclass(frozen=True)
class Recheck:
    """The same tour asked again: what the operator says now, beside what we had."""

    offer_id: int | None
    hotel: str
    date_from: dt.date
    nights: int
    room: str
    meal: str
    old_price: Decimal
    new_price: Decimal | None
    currency: str
    old_availability: str
    new_availability: str  # "gone" when the operator no longer offers it
    row: dict | None = None

    @property
    def lost(self) -> bool:
        return self.new_price is None or self.new_availability == "stop"

    @property
    def price_changed(self) -> bool:
        return self.new_price is not None and self.new_price != self.old_price

    @property
    def changed(self) -> bool:
        return self.lost or self.price_changed or self.new_availability != self.old_availability

    @property
    def difference(self) -> Decimal:
        return (self.new_price - self.old_price) if self.new_price is not None else Decimal(0)


async def recheck(offer: Offer, *, client: SamoClient, offer_id: int | None = None) -> Recheck:
    """Ask the operator for the same hotel, check-in, nights, room and meal for the same party."""
    raw = offer.raw
    townfrom, state, currency = _int(raw.get("townFromKey")), _int(raw.get("stateKey")), _int(raw.get("currencyKey"))
    if townfrom is None or state is None or offer.hotel_id is None:
        raise ValidationFailed("This offer has no operator keys to re-check it with.", code="not_recheckable")
    query = PriceQuery(townfrom_id=townfrom, state_id=state, checkin_from=offer.date_from, checkin_to=offer.date_from,
                       nights_from=offer.nights, nights_to=offer.nights, adults=offer.adults,
                       children_ages=offer.children_ages, currency_id=currency, hotel_ids=(offer.hotel_id,),
                       meal_ids=(offer.meal_id,) if offer.meal_id else (), per_page=100)
    page = await client.prices(query)
    match = next((r for r in page.rows if _same(r, offer)), None)
    return Recheck(
        offer_id=offer_id, hotel=offer.hotel, date_from=offer.date_from, nights=offer.nights, room=offer.room,
        meal=offer.meal, old_price=offer.price, new_price=match.price if match else None, currency=offer.currency,
        old_availability=offer.availability, new_availability=match.availability if match else "gone",
        row=match.raw if match else None,
    )


def _same(row: PriceRow, offer: Offer) -> bool:
    room_ok = row.room_id == offer.room_id if offer.room_id is not None else row.room == offer.room
    meal_ok = row.meal_id == offer.meal_id if offer.meal_id is not None else row.meal == offer.meal
    return row.hotel_id == offer.hotel_id and row.check_in == offer.date_from and row.nights == offer.nights \
        and room_ok and meal_ok


def apply_recheck(*, session: Session, offer_id: int, result: Recheck) -> TourOffer:
    """Take the operator's current price and availability into a stored offer."""
    row = session.get(TourOffer, offer_id)
    if row is None:
        raise NotFound(f"Offer {offer_id} does not exist.", field="offer_id")
    raw = dict(row.raw or {})
    if result.row is not None:
        raw.update(result.row)
    raw["cb_availability"] = result.new_availability if not result.lost else "stop"
    raw["cb_previous_price"] = str(result.old_price)
    row.raw = raw
    if result.new_price is not None:
        row.price = result.new_price
    row.available = not result.lost
    row.captured_at = utcnow()
    session.add(row)
    session.flush()
    return row


def with_price(offer: Offer, result: Recheck) -> Offer:
    """The offer at the re-checked price and availability."""
    if result.new_price is None:
        return replace(offer, availability="stop", bookable=False)
    return replace(offer, price=result.new_price, availability=result.new_availability,
                   raw={**offer.raw, **(result.row or {})})


# ---------- the dictionaries job ----------


@scheduled("samo.dictionaries", every=6 * 3600, title=("Справочники SAMO", "SAMO dictionaries"))
async def samo_dictionaries_job() -> str:
    """Refresh the cached SAMO dictionaries (departures, destinations, resorts, hotels, meals, ...)."""
    import asyncio

    from crystal_bay.db import session_scope
    from crystal_bay.services.tour_catalog import describe, refresh_dictionaries

    def config() -> tuple[SamoSettings, bool]:
        with session_scope() as session:
            return samo_config(session=session)

    try:
        settings, demo = await asyncio.to_thread(config)
    except SamoError as exc:
        if exc.kind == "not_configured":
            return "skipped: SAMO is not configured"
        raise
    client = samo.get_client(settings, demo=demo)
    counts = await refresh_dictionaries(client, session_factory=app_session_factory())
    return ("sandbox " if demo else "") + describe(counts)
