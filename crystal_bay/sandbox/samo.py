"""A local fake of the SAMO-tour "Online API" (`GET /export/default.php`), for tests, the bench and demo mode.

Speaks the protocol in /work/shared/protocols/samo.md as the operator's installations do:

- every call is a GET with `samo_action=api`, `type=json`, `action=...`, `oauth_token=...` in the query
  string (`version` is accepted and ignored; empty parameters count as absent; numbers may be strings);
- a wrong token or a caller outside the allow-list gets HTTP 403 with SAMO's XML body
  `<Response generator="SAMO-Soft" version="1.0"><Error>apiKey provided, but invalid, blacklisted
  address <ip></Error></Response>` (a JSON variant can be switched on);
- success is `{"<action>": payload}`; refusals are HTTP 200 with `{"error": <code>, "message": "..."}`;
- a POST answers HTTP 500 (as ANEX's installation did).

The catalog is generated (seeded, deterministic): departures Алматы (1344), Астана (1937), Шымкент
(1998) with the IDs seen on Crystal Bay's live TOWNFROMS; Vietnam and five other destinations; about
300 hotels with stars, meals and rooms; prices in USD that depend on the hotel, the resort's season,
the check-in date, nights and the party; availability flags (`hotelAvailability`, flights, `bron`).

Failure modes on demand (tests set them on `app.state`): `failure` = "forbidden" | "error" |
"error_nested" | "server_error" | "malformed" | None, `delay_s` (slow answers), `allowed_ips`,
`price_factor[hotel_id]` (the operator changed a price), `stop_sale` (hotel ids without places).
`app.state.requests` keeps the last 500 requests (token redacted), `app.state.handler_ms` the time the
sandbox itself spent on each answer (the bench subtracts it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import html
import json
import random
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEFAULT_TOKEN = "sandbox-samo-token"
DEFAULT_PERPAGE = 50
MAX_PERPAGE = 500
CALENDAR_DAYS = 400
RATES_TO_USD = {"USD": 1.0, "EUR": 0.92, "KZT": 520.0, "RUB": 92.0}


# ---------- the catalog ----------


@dataclass(frozen=True)
class Departure:
    id: int
    name: str
    name_alt: str


@dataclass(frozen=True)
class Resort:
    id: int
    name: str
    name_alt: str
    state_id: int
    factor: float


@dataclass(frozen=True)
class Destination:
    id: int
    name: str
    name_alt: str
    iso3: str
    nights: tuple[int, ...]
    season: tuple[float, ...]  # price factor per month, January first
    flight_usd: dict[int, int]  # per adult, by departure id
    weekdays: dict[int, tuple[int, ...]]  # flight days (Mon=0) by departure id
    resorts: tuple[Resort, ...]


@dataclass(frozen=True)
class Meal:
    id: int
    code: str
    name_ru: str
    name_en: str
    usd_per_person_night: float


@dataclass(frozen=True)
class Room:
    id: int
    name: str
    factor: float


@dataclass(frozen=True)
class Hotel:
    id: int
    name: str
    stars: int
    resort: Resort
    quality: float
    meals: tuple[Meal, ...]
    rooms: tuple[Room, ...]
    beach_line: int
    description: str


@dataclass(frozen=True)
class Tour:
    id: int
    name: str
    state_id: int
    departure_id: int


@dataclass
class Catalog:
    departures: tuple[Departure, ...]
    destinations: tuple[Destination, ...]
    meals: tuple[Meal, ...]
    rooms: tuple[Room, ...]
    hotels: dict[int, Hotel] = field(default_factory=dict)
    tours: dict[tuple[int, int], Tour] = field(default_factory=dict)

    def destination(self, state_id: int) -> Destination | None:
        return next((d for d in self.destinations if d.id == state_id), None)

    def hotels_in(self, state_id: int) -> list[Hotel]:
        return [h for h in self.hotels.values() if h.resort.state_id == state_id]


KAZAKHSTAN = (21, "Казахстан", "KAZAKHSTAN")
DEPARTURES = (Departure(1344, "Алматы", "ALMATY"), Departure(1937, "Астана", "ASTANA"),
              Departure(1998, "Шымкент", "SHYMKENT"))
MEALS = (
    Meal(1, "RO", "Без питания", "Room only", 0),
    Meal(2, "BB", "Завтраки", "Bed & breakfast", 6),
    Meal(3, "HB", "Завтрак и ужин", "Half board", 16),
    Meal(4, "FB", "Полный пансион", "Full board", 26),
    Meal(5, "AI", "Всё включено", "All inclusive", 38),
    Meal(6, "UAI", "Ультра всё включено", "Ultra all inclusive", 52),
)
ROOMS = (Room(1, "Standard", 1.0), Room(2, "Superior", 1.18), Room(3, "Deluxe Sea View", 1.42),
         Room(4, "Family Room", 1.55), Room(5, "Bungalow", 1.7), Room(6, "Suite", 2.1))
STARS = ((401, 2), (402, 3), (403, 4), (404, 5))
ALL_WEEK = (0, 1, 2, 3, 4, 5, 6)


def _destinations() -> tuple[Destination, ...]:
    def resorts(state_id: int, items: list[tuple[int, str, str, float]]) -> tuple[Resort, ...]:
        return tuple(Resort(rid, name, alt, state_id, factor) for rid, name, alt, factor in items)

    return (
        Destination(95, "Вьетнам", "VIETNAM", "VNM", tuple(range(6, 15)),
                    (1.25, 1.3, 1.15, 1.05, 0.9, 0.85, 0.9, 0.95, 0.85, 0.8, 0.9, 1.2),
                    {1344: 390, 1937: 430, 1998: 440}, {1344: (0, 2, 4, 6), 1937: (1, 5), 1998: (3,)},
                    resorts(95, [(77, "Нячанг", "NHA TRANG", 1.0), (78, "Камрань", "CAM RANH", 1.12),
                                 (79, "Дананг", "DA NANG", 1.05), (80, "Фукуок", "PHU QUOC", 1.2),
                                 (81, "Фантьет", "PHAN THIET", 0.9), (82, "Хойан", "HOI AN", 1.0)])),
        Destination(27, "Таиланд", "THAILAND", "THA", tuple(range(7, 15)),
                    (1.3, 1.25, 1.1, 1.0, 0.85, 0.8, 0.85, 0.9, 0.8, 0.85, 1.0, 1.3),
                    {1344: 410, 1937: 450}, {1344: (1, 3, 5), 1937: (6,)},
                    resorts(27, [(120, "Пхукет", "PHUKET", 1.15), (121, "Паттайя", "PATTAYA", 0.9),
                                 (122, "Самуи", "KOH SAMUI", 1.25), (123, "Краби", "KRABI", 1.05)])),
        Destination(4, "Турция", "TURKEY", "TUR", tuple(range(3, 15)),
                    (0.7, 0.7, 0.75, 0.85, 1.0, 1.2, 1.35, 1.35, 1.15, 0.95, 0.75, 0.7),
                    {1344: 310, 1937: 330, 1998: 320}, {1344: ALL_WEEK, 1937: (0, 3, 5), 1998: (2, 6)},
                    resorts(4, [(140, "Анталья", "ANTALYA", 1.0), (141, "Кемер", "KEMER", 0.95),
                                (142, "Аланья", "ALANYA", 0.85), (143, "Белек", "BELEK", 1.3),
                                (144, "Сиде", "SIDE", 1.05)])),
        Destination(13, "ОАЭ", "UAE", "ARE", tuple(range(3, 11)),
                    (1.2, 1.2, 1.15, 1.0, 0.85, 0.75, 0.7, 0.7, 0.85, 1.0, 1.15, 1.35),
                    {1344: 260, 1937: 280, 1998: 270}, {1344: ALL_WEEK, 1937: (1, 3, 5, 6), 1998: (0, 4)},
                    resorts(13, [(160, "Дубай", "DUBAI", 1.3), (161, "Шарджа", "SHARJAH", 0.85),
                                 (162, "Абу-Даби", "ABU DHABI", 1.2), (163, "Рас-эль-Хайма", "RAS AL KHAIMAH", 1.0)])),
        Destination(9, "Египет", "EGYPT", "EGY", tuple(range(5, 15)),
                    (1.1, 1.1, 1.05, 1.0, 0.9, 0.9, 0.95, 0.95, 0.9, 1.0, 1.05, 1.2),
                    {1344: 330, 1937: 350}, {1344: (2, 5), 1937: (4,)},
                    resorts(9, [(180, "Шарм-эль-Шейх", "SHARM EL SHEIKH", 1.05), (181, "Хургада", "HURGHADA", 0.95)])),
        Destination(35, "Узбекистан", "UZBEKISTAN", "UZB", tuple(range(2, 8)),
                    (0.8, 0.8, 1.0, 1.15, 1.2, 1.0, 0.95, 0.95, 1.15, 1.1, 0.9, 0.8),
                    {1344: 130}, {1344: ALL_WEEK},
                    resorts(35, [(1853, "Ташкент", "TASHKENT", 1.0), (200, "Самарканд", "SAMARKAND", 0.95),
                                 (201, "Бухара", "BUKHARA", 0.9)])),
    )


HOTELS_PER_RESORT = {95: 20, 27: 12, 4: 12, 13: 10, 9: 12, 35: 5}
NAME_A = ("Sea", "Golden", "Royal", "Palm", "Blue", "Sunrise", "Lotus", "Pearl", "Coral", "Emerald", "Ocean",
          "Sunset", "Paradise", "Silk", "Jade", "Amber", "Lagoon", "Orchid", "Bamboo", "Crystal", "Azure", "Ivory")
NAME_B = ("Breeze", "Sands", "Bay", "Garden", "Horizon", "Tide", "Wave", "Shore", "Cliff", "Dunes", "Star", "Moon",
          "Villa", "Park", "Harbour", "Reef", "Cove", "Springs", "View", "Island")
NAME_C = ("Resort & Spa", "Beach Resort", "Hotel", "Boutique Hotel", "Resort", "Premier", "Suites", "Beach Hotel",
          "Grand Hotel", "Retreat")
FEATURES = ("бассейн", "собственный пляж", "спа-центр", "фитнес-зал", "детский клуб", "анимация", "ресторан у моря",
            "бесплатный Wi-Fi", "трансфер до пляжа", "аквапарк", "теннисный корт", "бар на крыше")


def build_catalog(seed: int = 20261125) -> Catalog:
    """The same catalog for the same seed (about 300 hotels)."""
    rng = random.Random(seed)
    destinations = _destinations()
    catalog = Catalog(departures=DEPARTURES, destinations=destinations, meals=MEALS, rooms=ROOMS)
    used: set[str] = set()
    next_id = 5001
    for dest in destinations:
        for resort in dest.resorts:
            for _ in range(HOTELS_PER_RESORT[dest.id]):
                while True:
                    name = f"{rng.choice(NAME_A)} {rng.choice(NAME_B)} {rng.choice(NAME_C)}"
                    if name not in used:
                        used.add(name)
                        break
                stars = rng.choices((2, 3, 4, 5), weights=(1, 4, 5, 3))[0]
                if stars >= 4:
                    meal_ids = rng.sample((2, 3, 5, 6) if dest.id in (4, 9) else (2, 3, 4, 5), k=rng.randint(1, 3))
                else:
                    meal_ids = rng.sample((1, 2, 3), k=rng.randint(1, 2))
                rooms = (ROOMS[0], rng.choice(ROOMS[1:4])) if stars >= 3 else (ROOMS[0],)
                if stars == 5 and rng.random() < 0.5:
                    rooms = (*rooms, rng.choice(ROOMS[4:]))
                features = rng.sample(FEATURES, k=4)
                line = rng.choice((1, 1, 2, 3))
                description = (f"{name} — отель {stars}* в курорте {resort.name} ({dest.name}), "
                               f"{line}-я линия от моря. В отеле: {', '.join(features)}.")
                catalog.hotels[next_id] = Hotel(
                    id=next_id, name=name, stars=stars, resort=resort, quality=round(rng.uniform(0.8, 1.35), 3),
                    meals=tuple(m for m in MEALS if m.id in sorted(meal_ids)), rooms=rooms, beach_line=line,
                    description=description)
                next_id += 1
    tour_id = 12
    for dest in destinations:
        for dep in DEPARTURES:
            if dep.id in dest.flight_usd:
                catalog.tours[(dep.id, dest.id)] = Tour(tour_id, f"{dest.name} из {dep.name} (чартер)", dest.id, dep.id)
                tour_id += 1
    return catalog


@lru_cache(maxsize=4)
def default_catalog(seed: int = 20261125) -> Catalog:
    return build_catalog(seed)


# ---------- prices ----------


def _unit(*parts: Any) -> float:
    """A stable pseudo-random number in [0, 1) from the parts (same inputs, same number)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


ROOM_USD_BY_STARS = {2: 24.0, 3: 38.0, 4: 66.0, 5: 125.0}


def price_usd(hotel: Hotel, dest: Destination, departure_id: int, checkin: dt.date, nights: int, room: Room,
              meal: Meal, adults: int, ages: tuple[int, ...]) -> int:
    """The package price in USD for the party: hotel (by room, stars, resort, season), meals, flights, extras."""
    season = dest.season[checkin.month - 1]
    noise = 0.94 + 0.12 * _unit(hotel.id, checkin.toordinal())
    weekend = 1.04 if checkin.weekday() in (4, 5) else 1.0
    room_night = ROOM_USD_BY_STARS[hotel.stars] * hotel.quality * hotel.resort.factor * room.factor
    occupancy = {1: 0.75, 2: 1.0, 3: 1.45}.get(adults, 0.5 * adults)
    children = [a for a in ages if a >= 2]
    infants = len(ages) - len(children)
    hotel_cost = room_night * nights * (occupancy + 0.3 * len(children))
    meal_persons = adults + 0.5 * len(children)
    meal_cost = meal.usd_per_person_night * (1 + 0.1 * (hotel.stars - 3)) * meal_persons * nights
    flight = dest.flight_usd[departure_id] * (adults + 0.75 * len(children) + 0.1 * infants)
    extras = 45 * (adults + len(children))  # transfer and insurance
    return int(round((hotel_cost + meal_cost) * season * noise * weekend + flight * weekend + extras))


def _calendar(dest: Destination, departure_id: int, start: dt.date, days: int) -> str:
    days_ok = dest.weekdays.get(departure_id, ())
    out = []
    for i in range(days):
        day = start + dt.timedelta(days=i)
        if day.weekday() not in days_ok:
            out.append("0")
        else:
            u = _unit("seats", dest.id, departure_id, day.toordinal())
            out.append("0" if u < 0.03 else "2" if u < 0.15 else "1")
    return "".join(out)


def _availability(hotel: Hotel, checkin: dt.date, stop_sale: set[int]) -> tuple[str, str, str, int]:
    """(hotelAvailability, flight in, flight out, bron) for an offer."""
    if hotel.id in stop_sale:
        return "N", "Y", "Y", 0
    u = _unit("avail", hotel.id, checkin.toordinal())
    hotel_flag = "N" if u < 0.04 else "R" if u < 0.14 else "F" if u < 0.22 else "Y"
    f = _unit("flight", hotel.resort.state_id, checkin.toordinal())
    flight_in = "N" if f < 0.02 else "F" if f < 0.15 else "Y"
    bron = 0 if "N" in (hotel_flag, flight_in) else 1
    return hotel_flag, flight_in, "Y", bron


def _ht_place(adults: int, children: int) -> str:
    base = {1: "SGL", 2: "DBL", 3: "TRPL"}.get(adults, f"{adults}AD")
    return f"{base}+{children}CHD" if children else base


def _money(value: float) -> str:
    return f"{int(round(value)):,}".replace(",", " ")


# ---------- the protocol ----------


class Refusal(Exception):
    """An answer in SAMO's error envelope (HTTP 200)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _params(request: Request) -> dict[str, str]:
    return {k: v.strip() for k, v in request.query_params.items() if v is not None and v.strip() != ""}


def _int(params: dict[str, str], name: str, default: int | None = None, *, required: bool = False) -> int | None:
    raw = params.get(name)
    if raw is None:
        if required:
            raise Refusal(2, f"Не указан обязательный параметр {name}")
        return default
    try:
        return int(float(raw))
    except ValueError:
        raise Refusal(3, f"Неверное значение параметра {name}: {raw}") from None


def _ids(params: dict[str, str], name: str) -> set[int]:
    raw = params.get(name)
    if not raw:
        return set()
    try:
        return {int(x) for x in raw.split(",") if x.strip()}
    except ValueError:
        raise Refusal(3, f"Неверное значение параметра {name}: {raw}") from None


def _date(params: dict[str, str], name: str, default: dt.date | None = None) -> dt.date | None:
    raw = params.get(name)
    if raw is None:
        return default
    for fmt in ("%Y%m%d", "%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise Refusal(3, f"Неверная дата {name}: {raw} (ожидается YYYYMMDD)")


class SamoSandbox:
    """The sandbox's request handling over one catalog."""

    def __init__(self, catalog: Catalog, *, public_base: str = "", today: dt.date | None = None):
        self.catalog = catalog
        self.public_base = public_base.rstrip("/")
        self._today = today

    @property
    def today(self) -> dt.date:
        return self._today or dt.date.today()

    # --- helpers ---

    def _departure(self, params) -> Departure:
        town_id = _int(params, "TOWNFROMINC", required=True)
        dep = next((d for d in self.catalog.departures if d.id == town_id), None)
        if dep is None:
            raise Refusal(4, f"Город вылета {town_id} не найден")
        return dep

    def _destination(self, params, dep: Departure) -> Destination:
        state_id = _int(params, "STATEINC", required=True)
        dest = self.catalog.destination(state_id)
        if dest is None or dep.id not in dest.flight_usd:
            raise Refusal(4, f"Нет туров из {dep.name} в страну {state_id}")
        return dest

    def _party(self, params) -> tuple[int, tuple[int, ...]]:
        adults = _int(params, "ADULT", 2)
        children = _int(params, "CHILD", 0)
        raw_ages = params.get("AGES", "")
        try:
            ages = tuple(int(a) for a in raw_ages.split(",") if a.strip())
        except ValueError:
            raise Refusal(3, f"Неверное значение параметра AGES: {raw_ages}") from None
        if adults < 1 or adults > 6:
            raise Refusal(3, "ADULT должно быть от 1 до 6")
        if len(ages) != children:
            raise Refusal(5, "Количество возрастов детей (AGES) не совпадает с CHILD")
        if any(a < 0 or a > 17 for a in ages):
            raise Refusal(3, "Возраст ребёнка должен быть от 0 до 17")
        return adults, ages

    # --- actions ---

    def townfroms(self, params) -> list[dict]:
        return [{"id": d.id, "name": d.name, "nameAlt": d.name_alt, "stateFromKey": KAZAKHSTAN[0],
                 "stateFromName": KAZAKHSTAN[1], "stateFromNameAlt": KAZAKHSTAN[2], "packet_type": 0,
                 "selected": 0, "default": 1 if d.id == 1344 else 0} for d in self.catalog.departures]

    def states(self, params) -> list[dict]:
        dep = self._departure(params)
        return [{"id": s.id, "name": s.name, "nameAlt": s.name_alt, "stateISO3": s.iso3}
                for s in self.catalog.destinations if dep.id in s.flight_usd]

    def towns(self, params) -> list[dict]:
        dest = self._destination(params, self._departure(params))
        return [{"id": r.id, "name": r.name, "nameAlt": r.name_alt, "stateKey": dest.id} for r in dest.resorts]

    def tours(self, params) -> list[dict]:
        dep = self._departure(params)
        dest = self._destination(params, dep)
        tour = self.catalog.tours[(dep.id, dest.id)]
        return [{"id": tour.id, "name": tour.name, "nameAlt": tour.name, "typeAlt": "charter",
                 "partnerAlt": "Crystal Bay"}]

    def hotels(self, params) -> list[dict]:
        dest = self._destination(params, self._departure(params))
        towns, stars = _ids(params, "TOWNS"), _ids(params, "STARS")
        star_ids = {sid: s for sid, s in STARS}
        wanted_stars = {star_ids[s] for s in stars if s in star_ids}
        return [{"id": h.id, "name": h.name, "star": f"{h.stars}*", "starKey": 400 + h.stars - 1,
                 "town": h.resort.name, "townKey": h.resort.id, "starGroupList": [f"{h.stars}*"]}
                for h in self.catalog.hotels_in(dest.id)
                if (not towns or h.resort.id in towns) and (not wanted_stars or h.stars in wanted_stars)]

    def meals(self, params) -> list[dict]:
        self._destination(params, self._departure(params))
        return [{"id": m.id, "name": m.code, "nameAlt": m.name_en, "description": m.name_ru} for m in MEALS]

    def stars(self, params) -> list[dict]:
        self._destination(params, self._departure(params))
        return [{"id": sid, "name": f"{s}*"} for sid, s in STARS]

    def checkin(self, params) -> dict:
        dep = self._departure(params)
        dest = self._destination(params, dep)
        self._party(params)
        start = self.today
        return {"start": start.strftime("%Y%m%d"), "valid": _calendar(dest, dep.id, start, CALENDAR_DAYS)}

    def currencies(self, params) -> list[dict]:
        self._destination(params, self._departure(params))
        return [{"id": i, "name": iso, "alias": {"USD": "$", "EUR": "€", "KZT": "₸", "RUB": "₽"}[iso],
                 "currencyISO": iso} for i, iso in enumerate(RATES_TO_USD, start=1)]

    def nights(self, params) -> dict:
        dest = self._destination(params, self._departure(params))
        return {"nights": list(dest.nights)}

    def currency_list(self, params) -> list[dict]:
        return [{"id": i, "name": iso} for i, iso in enumerate(RATES_TO_USD, start=1)]

    def currency_rates(self, params) -> list[dict]:
        isos = list(RATES_TO_USD)
        cur = _int(params, "CURRENCY", required=True)
        base = _int(params, "CURRENCYBASE", 3)
        if not (1 <= cur <= len(isos) and 1 <= base <= len(isos)):
            raise Refusal(4, "Валюта не найдена")
        rate = RATES_TO_USD[isos[base - 1]] / RATES_TO_USD[isos[cur - 1]]
        return [{"rate": round(rate, 4), "currency": isos[cur - 1], "currencyBase": isos[base - 1],
                 "date": self.today.strftime("%Y%m%d")}]

    def hotel_details(self, params) -> dict | None:
        hotel = self.catalog.hotels.get(_int(params, "HOTELINC", required=True) or 0)
        if hotel is None:
            return None
        base = self.public_base
        return {"id": hotel.id, "name": hotel.name, "star": f"{hotel.stars}*", "town": hotel.resort.name,
                "townKey": hotel.resort.id, "state": self.catalog.destination(hotel.resort.state_id).name,
                "description": hotel.description, "beachLine": hotel.beach_line,
                "address": f"{hotel.resort.name_alt.title()}, {hotel.id % 200 + 1} Beach Road",
                "images": [{"url": f"{base}/images/{hotel.id}-{n}.svg", "title": hotel.name} for n in (1, 2)]}

    def prices(self, params, *, price_factor: dict[int, float], stop_sale: set[int]) -> dict:
        dep = self._departure(params)
        dest = self._destination(params, dep)
        adults, ages = self._party(params)
        beg = _date(params, "CHECKIN_BEG", self.today)
        end = _date(params, "CHECKIN_END", beg)
        if end < beg:
            raise Refusal(3, "CHECKIN_END раньше CHECKIN_BEG")
        if (end - beg).days > 60:
            raise Refusal(6, "Слишком большой диапазон дат заезда (не более 60 дней)")
        n_from = _int(params, "NIGHTS_FROM", dest.nights[0])
        n_till = _int(params, "NIGHTS_TILL", n_from)
        nights = [n for n in dest.nights if n_from <= n <= n_till]
        isos = list(RATES_TO_USD)
        cur_id = _int(params, "CURRENCY", 1)
        if not 1 <= cur_id <= len(isos):
            raise Refusal(4, f"Валюта {cur_id} не найдена")
        iso = isos[cur_id - 1]
        towns, hotels, meals = _ids(params, "TOWNS"), _ids(params, "HOTELS"), _ids(params, "MEALS")
        star_set = {s for sid, s in STARS if sid in _ids(params, "STARS")}
        cost_min = _int(params, "COSTMIN")
        cost_max = _int(params, "COSTMAX")
        page = max(1, _int(params, "PRICEPAGE", 1))
        perpage = min(max(1, _int(params, "PERPAGE", DEFAULT_PERPAGE)), MAX_PERPAGE)
        calendar = _calendar(dest, dep.id, self.today, CALENDAR_DAYS)
        dates = []
        day = beg
        while day <= end:
            offset = (day - self.today).days
            if 0 <= offset < CALENDAR_DAYS and calendar[offset] != "0":
                dates.append(day)
            day += dt.timedelta(days=1)
        rate = RATES_TO_USD[iso]
        rows: list[tuple] = []
        for hotel in self.catalog.hotels_in(dest.id):
            if (towns and hotel.resort.id not in towns) or (hotels and hotel.id not in hotels) or \
                    (star_set and hotel.stars not in star_set):
                continue
            factor = price_factor.get(hotel.id, 1.0)
            for meal in hotel.meals:
                if meals and meal.id not in meals:
                    continue
                for room in hotel.rooms:
                    if room.id == 4 and not ages and adults < 3:
                        continue  # family rooms are offered to families
                    for day in dates:
                        for n in nights:
                            usd = price_usd(hotel, dest, dep.id, day, n, room, meal, adults, ages) * factor
                            price = int(round(usd * rate))
                            if (cost_min is not None and price < cost_min) or (cost_max is not None and price > cost_max):
                                continue
                            rows.append((price, hotel.id, day, n, room.id, meal.id, usd))
        rows.sort(key=lambda r: (r[0], r[1], r[2], r[3]), reverse=params.get("SORT", "ASC").upper() == "DESC")
        pages = max(1, -(-len(rows) // perpage))
        chunk = rows[(page - 1) * perpage: page * perpage]
        tour = self.catalog.tours[(dep.id, dest.id)]
        out = []
        for price, hotel_id, day, n, room_id, meal_id, usd in chunk:
            hotel = self.catalog.hotels[hotel_id]
            room = next(r for r in ROOMS if r.id == room_id)
            meal = next(m for m in MEALS if m.id == meal_id)
            h_flag, f_in, f_out, bron = _availability(hotel, day, stop_sale)
            key = hashlib.blake2b(f"{hotel_id}|{day}|{n}|{room_id}|{meal_id}|{adults}|{ages}".encode(),
                                  digest_size=6).hexdigest().upper()
            out.append({
                "id": f"0x{key}", "hotel": f"{hotel.name} {hotel.stars}*", "hotelKey": hotel.id,
                "star": f"{hotel.stars}*", "town": hotel.resort.name, "townKey": hotel.resort.id,
                "tour": tour.name, "tourKey": tour.id, "checkIn": day.strftime("%Y%m%d"),
                "checkOut": (day + dt.timedelta(days=n)).strftime("%Y%m%d"), "nights": n, "adult": adults,
                "child": len(ages), "meal": meal.code, "mealKey": meal.id, "room": room.name, "roomKey": room.id,
                "htPlace": _ht_place(adults, len(ages)), "htPlaceKey": 100 + adults * 10 + len(ages),
                "price": price, "currency": iso, "currencyKey": cur_id,
                "convertedPrice": f"{_money(usd * RATES_TO_USD['KZT'])} KZT",
                "hotelAvailability": h_flag, "freights": {"econom": {"in": f_in, "out": f_out}}, "bron": bron,
                "grouped": 0, "packetType": 0, "stateKey": dest.id, "townFromKey": dep.id, "note": "",
            })
        return {"prices": out, "pager": {"current": page, "total": pages, "count": len(rows), "perpage": perpage}}


ACTIONS = {
    "SearchTour_TOWNFROMS": "townfroms", "SearchTour_STATES": "states", "SearchTour_TOWNS": "towns",
    "SearchTour_TOURS": "tours", "SearchTour_HOTELS": "hotels", "SearchTour_MEALS": "meals",
    "SearchTour_STARS": "stars", "SearchTour_CHECKIN": "checkin", "SearchTour_CURRENCIES": "currencies",
    "SearchTour_NIGHTS": "nights", "SearchTour_PRICES": "prices", "Hotels_DETAILS": "hotel_details",
    "Currency_CURRENCIES": "currency_list", "Currency_RATES": "currency_rates",
}


def _forbidden(ip: str, *, as_json: bool) -> Response:
    text = f"apiKey provided, but invalid, blacklisted address {ip}"
    if as_json:
        return JSONResponse({"error": text}, status_code=403)
    body = f'<Response generator="SAMO-Soft" version="1.0"><Error>{html.escape(text)}</Error></Response>'
    return Response(body, status_code=403, media_type="text/xml")


def _svg(hotel: Hotel | None, n: int) -> str:
    title = html.escape(f"{hotel.name} {hotel.stars}*" if hotel else "Hotel")
    hue = (hotel.id * 47 + n * 90) % 360 if hotel else 200
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="400" viewBox="0 0 640 400">'
            f'<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1">'
            f'<stop offset="0" stop-color="hsl({hue},70%,62%)"/><stop offset="1" stop-color="hsl({(hue + 40) % 360},60%,38%)"/>'
            f'</linearGradient></defs><rect width="640" height="400" fill="url(#g)"/>'
            f'<circle cx="520" cy="90" r="46" fill="hsl(48,95%,70%)" opacity="0.85"/>'
            f'<path d="M0 300 Q160 250 320 300 T640 300 V400 H0Z" fill="hsl(195,80%,45%)" opacity="0.8"/>'
            f'<text x="32" y="370" font-family="sans-serif" font-size="30" fill="white">{title}</text></svg>')


def create_app(*, token: str = DEFAULT_TOKEN, catalog: Catalog | None = None, public_base: str = "",
               today: dt.date | None = None) -> Starlette:
    """A fresh sandbox (its own failure switches and request log) over the default catalog."""
    sandbox = SamoSandbox(catalog or default_catalog(), public_base=public_base, today=today)

    async def export(request: Request) -> Response:
        started = time.perf_counter()
        try:
            return await _answer(request)
        finally:
            app.state.handler_ms.append((time.perf_counter() - started) * 1000)

    async def _answer(request: Request) -> Response:
        state = app.state
        params = _params(request)
        shown = {k: ("***" if k == "oauth_token" else v) for k, v in params.items()}
        state.requests.append({"method": request.method, "params": shown})
        action = params.get("action", "")
        state.calls[action] += 1
        if state.delay_s:
            await asyncio.sleep(state.delay_s)
        if request.method != "GET":
            return Response("<html><body><h1>500 Internal Server Error</h1></body></html>", status_code=500,
                            media_type="text/html")
        ip = request.client.host if request.client else "0.0.0.0"
        if state.failure == "forbidden" or params.get("oauth_token") != token or \
                (state.allowed_ips is not None and ip not in state.allowed_ips):
            return _forbidden(ip, as_json=state.forbidden_json)
        if state.failure == "server_error":
            return Response("<html><body><h1>500 Internal Server Error</h1></body></html>", status_code=500,
                            media_type="text/html")
        if state.failure == "malformed":
            return Response('{"' + action + '": [{"id": 1, "name": "Алм', media_type="application/json")
        if state.failure == "error":
            return JSONResponse({"error": 12, "message": "Сервис временно недоступен, повторите запрос позже"})
        if params.get("samo_action") != "api" or params.get("type", "json") != "json":
            return JSONResponse({"error": 1, "message": "Неверный запрос: ожидается samo_action=api&type=json"})
        method = ACTIONS.get(action)
        if method is None:
            return JSONResponse({"error": 1, "message": f"Неизвестный метод {action or '(пусто)'}"})
        try:
            if state.failure == "error_nested":
                raise Refusal(12, "Сервис временно недоступен, повторите запрос позже")
            if method == "prices":
                payload = sandbox.prices(params, price_factor=state.price_factor, stop_sale=state.stop_sale)
            else:
                payload = getattr(sandbox, method)(params)
        except Refusal as exc:
            if state.failure == "error_nested":
                return JSONResponse({action: {"error": exc.code, "message": exc.message}})
            return JSONResponse({"error": exc.code, "message": exc.message})
        body = json.dumps({action: payload}, ensure_ascii=True, separators=(",", ":"))
        return Response(body, media_type="application/json")

    async def image(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            hotel_id, n = (int(x) for x in name.removesuffix(".svg").split("-", 1))
        except ValueError:
            return Response("not found", status_code=404)
        hotel = sandbox.catalog.hotels.get(hotel_id)
        if hotel is None:
            return Response("not found", status_code=404)
        return Response(_svg(hotel, n), media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})

    app = Starlette(routes=[Route("/export/default.php", export, methods=["GET", "POST"]),
                            Route("/images/{name}", image, methods=["GET"])])
    app.state.sandbox = sandbox
    app.state.token = token
    reset(app)
    return app


def reset(app: Starlette) -> None:
    """Back to a well-behaved operator: no failure, no delay, no price changes, empty logs."""
    app.state.failure = None
    app.state.delay_s = 0.0
    app.state.allowed_ips = None
    app.state.forbidden_json = False
    app.state.price_factor = {}
    app.state.stop_sale = set()
    app.state.requests = deque(maxlen=500)
    app.state.calls = Counter()
    app.state.handler_ms = deque(maxlen=5000)


DEMO_MOUNT = "/sandbox/samo"
_DEMO_APP: Starlette | None = None


def demo_app() -> Starlette:
    """The process-wide sandbox demo mode uses: mounted on the backend at /sandbox/samo, and called
    in-process by the client (the same catalog and switches either way)."""
    global _DEMO_APP
    if _DEMO_APP is None:
        _DEMO_APP = create_app(public_base=DEMO_MOUNT)
    return _DEMO_APP


class DemoOnly:
    """ASGI wrapper: the sandbox answers only while demo mode is on and no real SAMO credentials are
    configured (checked per request, cached for a few seconds); otherwise 404."""

    def __init__(self, app, *, ttl_s: float = 5.0):
        self.app = app
        self.ttl_s = ttl_s
        self._checked = (0.0, False)

    def _allowed(self) -> bool:
        at, ok = self._checked
        if time.monotonic() - at < self.ttl_s:
            return ok
        try:
            from crystal_bay.db import session_scope
            from crystal_bay.services.tours import samo_config

            with session_scope() as session:
                ok = samo_config(session=session)[1]
        except Exception:  # noqa: BLE001 - not configured, no database: the sandbox stays shut
            ok = False
        self._checked = (time.monotonic(), ok)
        return ok

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not self._allowed():
            await Response("Not Found", status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def mount_demo(api) -> None:
    """Mount the demo sandbox on the backend's API app at /sandbox/samo (answers in demo mode only)."""
    api.mount(DEMO_MOUNT, DemoOnly(demo_app()))
