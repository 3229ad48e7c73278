"""SAMO-tour "Online API": the settings schema, a typed async client, test_connection(), errors.

The protocol (see /work/shared/protocols/samo.md): every call is `GET <api_url>?samo_action=api&
version=1.0&type=json&action=<Action>&oauth_token=<token>&<params>`; the operator allow-lists the
caller's IP (403 otherwise, with an XML or JSON body naming the address it saw); a success is
`{"<Action>": payload}`, a refusal `{"error": code, "message": "..."}` at the top level or inside
the payload. Empty parameters are dropped before sending. Dates go as YYYYMMDD.

One `SamoClient` per configuration holds one `httpx.AsyncClient` (see `get_client`, closed by
`close_clients()` on shutdown). It is polite: at most `max_concurrency` calls in flight and at least
`min_interval_s` between the starts of two calls. Every failure is a `SamoError` whose message a
manager understands; `kind` says which (forbidden, timeout, connection, server, operator, malformed).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, HttpUrl, SecretStr

from crystal_bay.integrations.base import (
    ConnectionResult,
    IntegrationError,
    Stopwatch,
    describe_transport_error,
    setting,
)

log = logging.getLogger(__name__)

MAX_BODY = 8 * 1024 * 1024
SANDBOX_URL = "http://samo-sandbox/export/default.php"


class SamoError(IntegrationError):
    """The operator refused or failed. `kind`: forbidden | timeout | connection | server | operator |
    malformed | not_configured; `ip` is the address the operator saw (403 only, when it says)."""

    def __init__(self, message: str, *, kind: str, detail: str = "", temporary: bool = False,
                 ip: str | None = None, operator_code: Any = None, params: dict[str, Any] | None = None):
        super().__init__(message, detail=detail, temporary=temporary)
        self.kind = kind
        self.ip = ip
        self.operator_code = operator_code
        self.params = params or {}

    @property
    def i18n_key(self) -> str:
        """`samo.err.<kind>` (forbidden with a known IP: `samo.err.forbidden_ip`)."""
        return f"samo.err.{self.kind}_ip" if self.kind == "forbidden" and self.ip else f"samo.err.{self.kind}"


class SamoSettings(BaseModel):
    """How to reach the operator's SAMO installation."""

    model_config = ConfigDict(title="SAMO-tour", extra="forbid")

    api_url: HttpUrl = setting(
        title=("Адрес API", "API URL"),
        help=("Полный адрес export/default.php туроператора, например "
              "https://booking.crystalbay.com/export/default.php.",
              "The operator's full export/default.php address, e.g. https://booking.crystalbay.com/export/default.php."),
        env="samo_api_url",
    )
    oauth_token: SecretStr = setting(
        title=("Токен (oauth_token)", "Token (oauth_token)"),
        help=("Токен, выданный туроператором. Работает только с IP-адреса сервера из белого списка оператора.",
              "The token the operator issued. Works only from a server IP on the operator's allow-list."),
        env="samo_oauth_token", min_length=8, max_length=300,
    )
    timeout_s: float = setting(
        20.0, title=("Тайм-аут, с", "Timeout, s"),
        help=("Сколько ждать ответа оператора.", "How long to wait for the operator's answer."), ge=1, le=120,
    )
    max_concurrency: int = setting(
        2, title=("Одновременных запросов", "Concurrent requests"),
        help=("Сколько запросов к оператору может идти одновременно.",
              "How many requests to the operator may run at the same time."), ge=1, le=10,
    )
    min_interval_s: float = setting(
        0.5, title=("Пауза между запросами, с", "Spacing between calls, s"),
        help=("Минимальный интервал между началами двух запросов (вежливость к оператору).",
              "The least time between the starts of two calls (politeness towards the operator)."), ge=0, le=10,
    )
    ip_echo_url: HttpUrl | None = setting(
        None, title=("Сервис «мой IP»", "\"What is my IP\" service"),
        help=("Необязательно: адрес, который возвращает внешний IP сервера текстом (например "
              "https://api.ipify.org). Проверка связи покажет IP, который нужно внести в белый список.",
              "Optional: a URL answering the server's public IP as text (e.g. https://api.ipify.org). The "
              "connection test then shows the IP to put on the allow-list."),
    )


def sandbox_settings() -> SamoSettings:
    """The configuration demo mode uses: the in-process sandbox, no spacing."""
    from crystal_bay.sandbox.samo import DEFAULT_TOKEN

    return SamoSettings(api_url=SANDBOX_URL, oauth_token=SecretStr(DEFAULT_TOKEN), timeout_s=20,
                        max_concurrency=4, min_interval_s=0)


# ---------- typed answers ----------


@dataclass(frozen=True)
class Ref:
    """A dictionary entry: id, name and what else the operator sent."""

    id: int
    name: str
    name_alt: str = ""
    extra: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Hotel:
    id: int
    name: str
    stars: int | None
    town_id: int | None
    town: str


@dataclass(frozen=True)
class Calendar:
    """SearchTour_CHECKIN: one character per day from `start`; "0" or empty is no tour."""

    start: dt.date
    valid: str

    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i, c in enumerate(self.valid) if c not in ("0", " ")]


@dataclass(frozen=True)
class PriceRow:
    """One SearchTour_PRICES row, parsed; `raw` is the operator's row as it came."""

    offer_id: str
    hotel: str
    hotel_id: int | None
    stars: int | None
    town: str
    town_id: int | None
    tour: str
    tour_id: int | None
    check_in: dt.date
    check_out: dt.date | None
    nights: int
    adults: int
    children: int
    meal: str
    meal_id: int | None
    room: str
    room_id: int | None
    price: Decimal
    currency: str
    converted_price: str
    hotel_availability: str
    flight_in: str
    flight_out: str
    bookable: bool
    raw: dict

    @property
    def availability(self) -> str:
        """available | few | request | stop: the worst of the hotel and the flights."""
        flags = (self.hotel_availability or "Y")[:1] + (self.flight_in or "Y")[:1] + (self.flight_out or "Y")[:1]
        if "N" in flags or not self.bookable:
            return "stop"
        if "R" in flags:
            return "request"
        if "F" in flags:
            return "few"
        return "available"


@dataclass(frozen=True)
class PricesPage:
    rows: list[PriceRow]
    page: int
    pages: int
    total: int | None
    search_key: str | None


@dataclass(frozen=True)
class HotelDetails:
    id: int
    name: str
    description: str
    images: list[str]
    raw: dict


@dataclass(frozen=True)
class PriceQuery:
    """The parameters of SearchTour_PRICES; ids come from the dictionaries."""

    townfrom_id: int
    state_id: int
    checkin_from: dt.date
    checkin_to: dt.date
    nights_from: int
    nights_to: int
    adults: int = 2
    children_ages: tuple[int, ...] = ()
    currency_id: int | None = None
    town_ids: tuple[int, ...] = ()
    hotel_ids: tuple[int, ...] = ()
    star_ids: tuple[int, ...] = ()
    meal_ids: tuple[int, ...] = ()
    cost_max: int | None = None
    per_page: int = 100
    sort: str = "ASC"

    def params(self, page: int = 1) -> dict[str, Any]:
        return {
            "TOWNFROMINC": self.townfrom_id, "STATEINC": self.state_id,
            "CHECKIN_BEG": ymd(self.checkin_from), "CHECKIN_END": ymd(self.checkin_to),
            "NIGHTS_FROM": self.nights_from, "NIGHTS_TILL": self.nights_to, "ADULT": self.adults,
            "CHILD": len(self.children_ages), "AGES": ",".join(str(a) for a in self.children_ages),
            "CURRENCY": self.currency_id, "TOWNS": _csv(self.town_ids), "HOTELS": _csv(self.hotel_ids),
            "STARS": _csv(self.star_ids), "MEALS": _csv(self.meal_ids), "COSTMAX": self.cost_max,
            "FILTER": 1, "PRICEPAGE": page, "PERPAGE": self.per_page, "SORT": self.sort,
        }


def ymd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def _csv(ids: tuple[int, ...]) -> str:
    return ",".join(str(i) for i in ids)


def parse_date(value: Any) -> dt.date | None:
    """YYYYMMDD, YYYY-MM-DD or DD.MM.YYYY (installations differ); None when absent."""
    if value in (None, ""):
        return None
    raw = str(value).strip()[:10]
    for fmt in ("%Y%m%d", "%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"unknown date format: {value!r}")


def parse_money(value: Any) -> Decimal:
    """1299, "1299.00", "1 299", "1 299,50" → Decimal."""
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    text = re.sub(r"[\s\u00a0]", "", str(value)).replace(",", ".")
    text = re.sub(r"[^0-9.\-]", "", text)
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a price: {value!r}") from None


def parse_stars(value: Any) -> int | None:
    match = re.search(r"\d", str(value or ""))
    return int(match.group()) if match else None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _ref(item: dict) -> Ref:
    return Ref(id=int(item["id"]), name=str(item.get("name") or ""), name_alt=str(item.get("nameAlt") or ""),
               extra={k: v for k, v in item.items() if k not in ("id", "name", "nameAlt")})


def parse_row(row: dict) -> PriceRow:
    freights = (row.get("freights") or {}).get("econom") or {}
    check_in = parse_date(row.get("checkIn"))
    if check_in is None:
        raise ValueError("price row without checkIn")
    return PriceRow(
        offer_id=str(row.get("id") or ""), hotel=str(row.get("hotel") or ""), hotel_id=_int_or_none(row.get("hotelKey")),
        stars=parse_stars(row.get("star")), town=str(row.get("town") or ""), town_id=_int_or_none(row.get("townKey")),
        tour=str(row.get("tour") or ""), tour_id=_int_or_none(row.get("tourKey")), check_in=check_in,
        check_out=parse_date(row.get("checkOut")), nights=int(row.get("nights") or 0), adults=int(row.get("adult") or 0),
        children=int(row.get("child") or 0), meal=str(row.get("meal") or ""), meal_id=_int_or_none(row.get("mealKey")),
        room=str(row.get("room") or ""), room_id=_int_or_none(row.get("roomKey")), price=parse_money(row.get("price")),
        currency=str(row.get("currency") or "USD")[:3].upper(), converted_price=str(row.get("convertedPrice") or ""),
        hotel_availability=str(row.get("hotelAvailability") or ""), flight_in=str(freights.get("in") or ""),
        flight_out=str(freights.get("out") or ""), bookable=str(row.get("bron", 1)) not in ("0", "False", "false"),
        raw=row,
    )


# ---------- errors from answers ----------

_IP = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]{3,}:[0-9a-fA-F:]+)")


def _error_text(body: str) -> str:
    """The operator's error text from an XML `<Error>` or a JSON `{"error": ...}` body."""
    match = re.search(r"<Error>(.*?)</Error>", body, re.S)
    if match:
        return match.group(1).strip()
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()[:300]
    if isinstance(data, dict):
        return str(data.get("message") or data.get("error") or body)[:300]
    return body.strip()[:300]


def forbidden_error(body: str, *, url: str) -> SamoError:
    text = _error_text(body)
    ip_match = _IP.search(text)
    ip = ip_match.group(1) if ip_match else None
    if ip:
        message = (f"The server's IP address is not on Crystal Bay's allow-list — send them this IP: {ip}. "
                   "They add it on their side; nothing in our settings changes that.")
    else:
        message = ("The operator refused access (HTTP 403): the server's IP address is not on Crystal Bay's "
                   "allow-list, or the token is wrong. Send them the server's public IP address.")
    return SamoError(message, kind="forbidden", detail=f"HTTP 403 from {url}\n{text}", ip=ip, params={"ip": ip or ""})


def _envelope(data: Any, action: str, url: str) -> Any:
    """The payload under the action's key; SamoError for an error answer or an unknown shape."""
    if not isinstance(data, dict):
        raise SamoError(f"The operator's answer to {action} is not in the expected format.", kind="malformed",
                        detail=str(data)[:1000])
    if "error" in data and action not in data:
        raise _operator_error(data, action)
    if action not in data:
        raise SamoError(f"The operator's answer to {action} is not in the expected format.", kind="malformed",
                        detail=f"keys: {', '.join(map(str, data))[:500]} ({url})")
    payload = data[action]
    if isinstance(payload, dict) and "error" in payload:
        raise _operator_error(payload, action)
    return payload


def _operator_error(data: dict, action: str) -> SamoError:
    code, text = data.get("error"), data.get("message")
    if not text and isinstance(code, str):
        code, text = None, code
    suffix = f" (code {code})" if code not in (None, "") else ""
    return SamoError(f"The operator refused {action}: {text or 'no reason given'}{suffix}.", kind="operator",
                     detail=json.dumps(data, ensure_ascii=False)[:2000], operator_code=code,
                     params={"action": action, "reason": str(text or "—"), "code": "" if code is None else str(code)})


def _redact(url: str) -> str:
    return re.sub(r"(oauth_token=)[^&]+", r"\1***", url)


# ---------- the client ----------


class SamoClient:
    """Typed calls to the operator; one httpx.AsyncClient, a concurrency limit and spacing."""

    def __init__(self, config: SamoSettings, *, transport: httpx.AsyncBaseTransport | None = None,
                 demo: bool = False):
        self.config = config
        self.demo = demo
        self.url = str(config.api_url)
        self._http = httpx.AsyncClient(timeout=config.timeout_s, transport=transport, follow_redirects=False,
                                       headers={"Accept": "application/json", "User-Agent": "CrystalBayCRM/1.0"})
        self._limit = asyncio.Semaphore(config.max_concurrency)
        self._spacing = asyncio.Lock()
        self._last_start = 0.0
        self.calls = 0

    @property
    def source(self) -> str:
        """Where answers come from: "sandbox", or the operator's host (dictionaries are cached per source)."""
        return "sandbox" if self.demo else httpx.URL(self.url).host

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _space(self) -> None:
        if self.config.min_interval_s <= 0:
            return
        async with self._spacing:
            wait = self._last_start + self.config.min_interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_start = time.monotonic()

    async def call(self, action: str, **params: Any) -> Any:
        """One API call; the payload under the action's key, or SamoError."""
        query: dict[str, Any] = {"samo_action": "api", "version": "1.0", "type": "json", "action": action,
                                 "oauth_token": self.config.oauth_token.get_secret_value()}
        query.update({k: v for k, v in params.items() if v is not None and v != ""})
        async with self._limit:
            await self._space()
            self.calls += 1
            try:
                response = await self._http.get(self.url, params=query)
            except httpx.TimeoutException as exc:
                raise SamoError(f"The operator did not answer within {self.config.timeout_s:g} s ({action}). "
                                "Try again in a minute.", kind="timeout", temporary=True,
                                detail=f"{type(exc).__name__} on {action}",
                                params={"timeout": f"{self.config.timeout_s:g}", "action": action}) from exc
            except httpx.HTTPError as exc:
                message, detail, *_ = describe_transport_error(exc, url=self.url, timeout_s=self.config.timeout_s)
                raise SamoError(message, kind="connection", detail=detail, temporary=True,
                                params={"host": httpx.URL(self.url).host}) from exc
        return self._parse(response, action)

    def _parse(self, response: httpx.Response, action: str) -> Any:
        url = _redact(str(response.request.url)) if response.request else self.url
        body = response.text[:MAX_BODY]
        if response.status_code == 403:
            raise forbidden_error(body, url=url)
        if response.status_code >= 500:
            raise SamoError(f"The operator's server failed (HTTP {response.status_code}) on {action}. "
                            "Try again later.", kind="server", temporary=True,
                            detail=f"HTTP {response.status_code} from {url}\n{body[:500]}",
                            params={"status": response.status_code, "action": action})
        if response.status_code != 200:
            raise SamoError(f"The operator refused the request (HTTP {response.status_code}) on {action}.",
                            kind="http", detail=f"HTTP {response.status_code} from {url}\n{_error_text(body)}",
                            params={"status": response.status_code, "action": action})
        try:
            data = json.loads(body)
        except ValueError as exc:
            if "<Error>" in body:
                raise SamoError(f"The operator refused {action}: {_error_text(body)}.", kind="operator",
                                detail=body[:1000], params={"action": action, "reason": _error_text(body),
                                                            "code": ""}) from exc
            raise SamoError(f"The operator's answer to {action} is not valid JSON (cut off or not an API answer).",
                            kind="malformed", detail=body[:1000], params={"action": action}) from exc
        return _envelope(data, action, url)

    # --- the search chain ---

    async def townfroms(self) -> list[Ref]:
        return [_ref(i) for i in _list(await self.call("SearchTour_TOWNFROMS"), "SearchTour_TOWNFROMS")]

    async def states(self, townfrom_id: int) -> list[Ref]:
        data = await self.call("SearchTour_STATES", TOWNFROMINC=townfrom_id)
        return [_ref(i) for i in _list(data, "SearchTour_STATES")]

    async def towns(self, townfrom_id: int, state_id: int) -> list[Ref]:
        data = await self.call("SearchTour_TOWNS", TOWNFROMINC=townfrom_id, STATEINC=state_id)
        return [_ref(i) for i in _list(data, "SearchTour_TOWNS")]

    async def tours(self, townfrom_id: int, state_id: int) -> list[Ref]:
        data = await self.call("SearchTour_TOURS", TOWNFROMINC=townfrom_id, STATEINC=state_id)
        return [_ref(i) for i in _list(data, "SearchTour_TOURS")]

    async def hotels(self, townfrom_id: int, state_id: int, *, town_ids: tuple[int, ...] = (),
                     star_ids: tuple[int, ...] = ()) -> list[Hotel]:
        data = await self.call("SearchTour_HOTELS", TOWNFROMINC=townfrom_id, STATEINC=state_id,
                               TOWNS=_csv(town_ids), STARS=_csv(star_ids))
        return [Hotel(id=int(i["id"]), name=str(i.get("name") or ""), stars=parse_stars(i.get("star")),
                      town_id=_int_or_none(i.get("townKey")), town=str(i.get("town") or ""))
                for i in _list(data, "SearchTour_HOTELS")]

    async def meals(self, townfrom_id: int, state_id: int) -> list[Ref]:
        data = await self.call("SearchTour_MEALS", TOWNFROMINC=townfrom_id, STATEINC=state_id)
        return [_ref(i) for i in _list(data, "SearchTour_MEALS")]

    async def stars(self, townfrom_id: int, state_id: int) -> list[Ref]:
        data = await self.call("SearchTour_STARS", TOWNFROMINC=townfrom_id, STATEINC=state_id)
        return [_ref(i) for i in _list(data, "SearchTour_STARS")]

    async def checkin(self, townfrom_id: int, state_id: int, *, adults: int = 2,
                      children_ages: tuple[int, ...] = ()) -> Calendar:
        data = await self.call("SearchTour_CHECKIN", TOWNFROMINC=townfrom_id, STATEINC=state_id, ADULT=adults,
                               CHILD=len(children_ages), AGES=",".join(map(str, children_ages)))
        if not isinstance(data, dict) or "start" not in data:
            raise SamoError("The operator's check-in calendar is not in the expected format.", kind="malformed",
                            detail=str(data)[:500])
        try:
            start = parse_date(data["start"])
        except ValueError as exc:
            raise SamoError("The operator's check-in calendar has an unknown date.", kind="malformed",
                            detail=str(data)[:500]) from exc
        return Calendar(start=start, valid=str(data.get("valid") or ""))

    async def currencies(self, townfrom_id: int, state_id: int, *, checkin_from: dt.date | None = None,
                         checkin_to: dt.date | None = None) -> list[Ref]:
        data = await self.call("SearchTour_CURRENCIES", TOWNFROMINC=townfrom_id, STATEINC=state_id,
                               CHECKIN_BEG=ymd(checkin_from) if checkin_from else None,
                               CHECKIN_END=ymd(checkin_to) if checkin_to else None)
        return [_ref(i) for i in _list(data, "SearchTour_CURRENCIES")]

    async def nights(self, townfrom_id: int, state_id: int) -> list[int]:
        data = await self.call("SearchTour_NIGHTS", TOWNFROMINC=townfrom_id, STATEINC=state_id)
        items = data.get("nights") or data.get("places") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise SamoError("The operator's nights list is not in the expected format.", kind="malformed",
                            detail=str(data)[:500])
        nights = []
        for item in items:
            value = item.get("id") or item.get("name") if isinstance(item, dict) else item
            if _int_or_none(value) is not None:
                nights.append(int(value))
        return sorted(set(nights))

    async def prices(self, query: PriceQuery, *, page: int = 1) -> PricesPage:
        data = await self.call("SearchTour_PRICES", **query.params(page))
        if isinstance(data, list):  # some installations answer the rows directly
            data = {"prices": data}
        if not isinstance(data, dict) or not isinstance(data.get("prices", []), list):
            raise SamoError("The operator's price list is not in the expected format.", kind="malformed",
                            detail=str(data)[:500])
        try:
            rows = [parse_row(r) for r in data.get("prices", []) if isinstance(r, dict) and not r.get("grouped")]
        except (ValueError, TypeError, KeyError) as exc:
            raise SamoError("A price row from the operator could not be read.", kind="malformed",
                            detail=f"{exc}") from exc
        pager = data.get("pager") or {}
        pages = _int_or_none(pager.get("total")) or page
        return PricesPage(rows=rows, page=_int_or_none(pager.get("current")) or page, pages=max(pages, page),
                          total=_int_or_none(pager.get("count")), search_key=data.get("searchKey") or None)

    async def hotel_details(self, hotel_id: int) -> HotelDetails | None:
        data = await self.call("Hotels_DETAILS", HOTELINC=hotel_id)
        if not data or not isinstance(data, dict):
            return None
        images = []
        for image in data.get("images") or data.get("photos") or []:
            url = image.get("url") if isinstance(image, dict) else image
            if isinstance(url, str) and url:
                images.append(url)
        return HotelDetails(id=int(data.get("id") or hotel_id), name=str(data.get("name") or ""),
                            description=str(data.get("description") or ""), images=images, raw=data)

    async def rate(self, currency_id: int, base_id: int) -> Decimal | None:
        """Currency_RATES: how many `base` one `currency` costs (None when the operator has no rate)."""
        data = await self.call("Currency_RATES", CURRENCY=currency_id, CURRENCYBASE=base_id)
        items = data if isinstance(data, list) else [data]
        try:
            return parse_money(items[0]["rate"]) if items and isinstance(items[0], dict) else None
        except (KeyError, ValueError):
            return None


def _list(data: Any, action: str) -> list[dict]:
    if data in (None, False, ""):
        return []
    if not isinstance(data, list) or not all(isinstance(i, dict) and "id" in i for i in data):
        raise SamoError(f"The operator's answer to {action} is not a list of entries.", kind="malformed",
                        detail=str(data)[:500])
    return data


# ---------- clients per configuration ----------

_CLIENTS: dict[tuple[str, int], SamoClient] = {}


def _fingerprint(config: SamoSettings) -> str:
    raw = json.dumps([str(config.api_url), config.oauth_token.get_secret_value(), config.timeout_s,
                      config.max_concurrency, config.min_interval_s])
    return hashlib.sha256(raw.encode()).hexdigest()


def get_client(config: SamoSettings, *, demo: bool = False) -> SamoClient:
    """The client for this configuration in this event loop, created on first use and then reused.
    Demo mode talks to the in-process sandbox (the same one mounted at /sandbox/samo)."""
    loop_id = id(asyncio.get_running_loop())
    key = (_fingerprint(config) + (":demo" if demo else ""), loop_id)
    client = _CLIENTS.get(key)
    if client is None:
        transport = None
        if demo:
            from crystal_bay.sandbox.samo import demo_app

            transport = httpx.ASGITransport(app=demo_app(), client=("127.0.0.1", 50000))
        client = _CLIENTS[key] = SamoClient(config, transport=transport, demo=demo)
    return client


async def close_clients() -> None:
    """Close the clients of the running event loop (on shutdown)."""
    loop_id = id(asyncio.get_running_loop())
    for key in [k for k in _CLIENTS if k[1] == loop_id]:
        await _CLIENTS.pop(key).aclose()


# ---------- the connection test ----------


async def _outbound_ip(config: SamoSettings) -> str | None:
    if not config.ip_echo_url:
        return None
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            response = await http.get(str(config.ip_echo_url))
        text = response.text.strip()
        return text if response.status_code == 200 and _IP.fullmatch(text) else None
    except httpx.HTTPError:
        return None


async def test_connection(config: SamoSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> ConnectionResult:
    """SearchTour_TOWNFROMS: ok with the latency and the departure cities, or the exact reason it failed
    (for a 403, the IP the operator saw — the one to send for the allow-list)."""
    client = SamoClient(config.model_copy(update={"min_interval_s": 0}), transport=transport)
    watch = Stopwatch()
    try:
        towns = await client.townfroms()
    except SamoError as exc:
        latency = watch.ms
        ip = exc.ip or (await _outbound_ip(config) if exc.kind == "forbidden" else None)
        message, params = exc.message, dict(exc.params)
        if exc.kind == "forbidden" and ip and not exc.ip:
            message += f" Our outbound IP is {ip}."
        params["ip"] = ip or ""
        code = "samo_forbidden_ip" if exc.kind == "forbidden" and ip else f"samo_{exc.kind}"
        return ConnectionResult(ok=False, latency_ms=latency, message=message, detail=exc.detail, code=code,
                                params=params)
    finally:
        await client.aclose()
    latency = watch.ms
    ip = await _outbound_ip(config)
    names = ", ".join(t.name for t in towns[:8])
    message = f"Connected: {len(towns)} departure cities ({names})." if towns else \
        "Connected, but the operator lists no departure cities."
    if ip:
        message += f" Outbound IP: {ip}."
    return ConnectionResult(ok=True, latency_ms=latency, message=message, code="samo_ok" if towns else "samo_ok_empty",
                            params={"count": len(towns), "names": names, "ip": ip or "—"},
                            detail=f"GET {_redact(client.url)} action=SearchTour_TOWNFROMS → 200, {len(towns)} entries")
