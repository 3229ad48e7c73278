"""The SAMO client: every action's request parameters and parsing, each failure mode, politeness.

Contract: the same assertions run against respx (answers shaped like the evidence in
/work/shared/protocols/samo*.md) and against the sandbox served over real HTTP on loopback.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import respx
from pydantic import SecretStr

from crystal_bay.integrations import samo
from crystal_bay.integrations.samo import PriceQuery, SamoClient, SamoError, SamoSettings
from crystal_bay.sandbox import samo as sandbox
from tests.servers import closed_port_url, serve

TOKEN = "test-token-000000000001"
REAL_URL = "https://booking.example.kz/export/default.php"
TODAY = dt.date.today()
START = TODAY + dt.timedelta(days=30)
FAKE_IP = "203.0.113.7"

# ---------- the respx operator: answers shaped like the recorded ones ----------

TOWNFROMS = [  # the recorded live answer (S1 of the operator notes), three of its towns
    {"id": 1344, "name": "Алматы", "nameAlt": "ALMATY", "stateFromKey": 21, "stateFromName": "Казахстан",
     "stateFromNameAlt": "KAZAKHSTAN", "packet_type": 0, "selected": 0, "default": 0},
    {"id": 1937, "name": "Астана", "nameAlt": "ASTANA", "stateFromKey": 21},
    {"id": 1998, "name": "Шымкент", "nameAlt": "SHYMKENT", "stateFromKey": 21},
]
ROW = {"id": "0x0001ABCD", "hotel": "Sea Breeze 4*", "hotelKey": 5844, "star": "4*", "town": "Нячанг", "townKey": 77,
       "tour": "Вьетнам из Алматы", "tourKey": 12, "checkIn": START.strftime("%Y%m%d"),
       "checkOut": (START + dt.timedelta(days=7)).strftime("%Y%m%d"), "nights": 7, "adult": 2, "child": 1,
       "meal": "BB", "mealKey": 2, "room": "Standard", "roomKey": 1, "price": 1299, "currency": "USD",
       "currencyKey": 1, "convertedPrice": "650 000 KZT", "hotelAvailability": "Y",
       "freights": {"econom": {"in": "Y", "out": "Y"}}, "bron": 1, "grouped": 0, "packetType": 0, "stateKey": 95,
       "townFromKey": 1344}
CANNED = {
    "SearchTour_TOWNFROMS": TOWNFROMS,
    "SearchTour_STATES": [{"id": 95, "name": "Вьетнам", "nameAlt": "VIETNAM", "stateISO3": "VNM"},
                          {"id": 35, "name": "Узбекистан", "nameAlt": "UZBEKISTAN", "stateISO3": "UZB"}],
    "SearchTour_TOWNS": [{"id": 77, "name": "Нячанг", "nameAlt": "NHA TRANG"}, {"id": 80, "name": "Фукуок"}],
    "SearchTour_TOURS": [{"id": 12, "name": "Вьетнам из Алматы", "nameAlt": "Vietnam", "typeAlt": "charter"}],
    "SearchTour_HOTELS": [{"id": 5844, "name": "Sea Breeze", "star": "4*", "town": "Нячанг", "townKey": 77,
                           "starGroupList": ["4*"]}],
    "SearchTour_MEALS": [{"id": 2, "name": "BB"}, {"id": 5, "name": "AI"}],
    "SearchTour_STARS": [{"id": 403, "name": "4*"}, {"id": 404, "name": "5*"}],
    "SearchTour_CHECKIN": {"start": TODAY.strftime("%Y%m%d"), "valid": "0101" * 60},
    "SearchTour_CURRENCIES": [{"id": 1, "name": "USD", "alias": "$", "currencyISO": "USD"},
                              {"id": 3, "name": "KZT", "currencyISO": "KZT"}],
    "SearchTour_NIGHTS": {"nights": [6, 7, 8, 9, 10]},
    "SearchTour_PRICES": {"prices": [ROW, {**ROW, "id": "0x0002", "price": "1 450", "meal": "AI", "mealKey": 5,
                                           "hotelAvailability": "R"}],
                          "pager": {"current": 1, "total": 1}},
    "Currency_RATES": [{"rate": 520.0, "currency": "USD", "currencyBase": "KZT"}],
}
DETAILS = {"id": 5844, "name": "Sea Breeze", "description": "4* у моря", "images": [{"url": "https://img/1.jpg"}]}


class RespxOperator:
    """respx answering like the operator; `mode` switches a failure on."""

    name = "respx"

    def __init__(self, router: respx.MockRouter):
        self.mode: str | None = None
        self.requests: list[dict] = []
        self.url = REAL_URL
        self.ip = FAKE_IP
        router.route(url__startswith=REAL_URL).mock(side_effect=self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(urlsplit(str(request.url)).query))
        self.requests.append({"method": request.method, **params})
        action = params.get("action", "")
        if self.mode == "timeout":
            raise httpx.ReadTimeout("read timed out", request=request)
        if self.mode == "forbidden" or params.get("oauth_token") != TOKEN:
            body = (f'<Response generator="SAMO-Soft" version="1.0"><Error>apiKey provided, but invalid, '
                    f'blacklisted address {FAKE_IP}</Error></Response>')
            return httpx.Response(403, text=body, headers={"content-type": "text/xml"})
        if self.mode == "forbidden_json":
            return httpx.Response(403, json={"error": f"apiKey provided, but invalid, blacklisted address {FAKE_IP}"})
        if self.mode == "server_error":
            return httpx.Response(500, text="<h1>500 Internal Server Error</h1>")
        if self.mode == "malformed":
            return httpx.Response(200, text='{"' + action + '": [{"id": 1, "na')
        if self.mode == "error":
            return httpx.Response(200, json={"error": 12, "message": "Сервис временно недоступен"})
        if self.mode == "error_nested":
            return httpx.Response(200, json={action: {"error": 12, "message": "Сервис временно недоступен"}})
        if action == "Hotels_DETAILS":
            return httpx.Response(200, json={action: DETAILS if params.get("HOTELINC") == "5844" else None})
        return httpx.Response(200, content=json.dumps({action: CANNED[action]}, ensure_ascii=True).encode())

    def fail(self, mode: str | None) -> None:
        self.mode = mode

    def last(self) -> dict:
        return self.requests[-1]


class SandboxOperator:
    """The sandbox over real HTTP on loopback."""

    name = "sandbox"

    def __init__(self, base_url: str, app):
        self.url = base_url + "/export/default.php"
        self.app = app
        self.ip = "127.0.0.1"

    def fail(self, mode: str | None) -> None:
        sandbox.reset(self.app)
        if mode == "timeout":
            self.app.state.delay_s = 1.0
        elif mode == "forbidden_json":
            self.app.state.failure, self.app.state.forbidden_json = "forbidden", True
        else:
            self.app.state.failure = mode

    def last(self) -> dict:
        entry = self.app.state.requests[-1]
        return {"method": entry["method"], **entry["params"], "oauth_token": TOKEN}

    @property
    def requests(self) -> list[dict]:
        return [{"method": e["method"], **e["params"]} for e in self.app.state.requests]


@pytest.fixture(scope="module")
def sandbox_server():
    app = sandbox.create_app(token=TOKEN)
    with serve(app) as url:
        yield url, app


@pytest.fixture(params=["respx", "sandbox"])
def operator(request, sandbox_server):
    if request.param == "respx":
        with respx.mock(assert_all_called=False) as router:
            yield RespxOperator(router)
    else:
        url, app = sandbox_server
        sandbox.reset(app)
        yield SandboxOperator(url, app)
        sandbox.reset(app)


def _client(operator, **overrides) -> SamoClient:
    config = SamoSettings(api_url=operator.url, oauth_token=SecretStr(TOKEN), min_interval_s=0, timeout_s=5)
    return SamoClient(config.model_copy(update=overrides))


def run(coro):
    return asyncio.run(coro)


async def _with(operator, fn, **overrides):
    client = _client(operator, **overrides)
    try:
        return await fn(client)
    finally:
        await client.aclose()


def _vietnam(refs) -> int:
    return next(r.id for r in refs if r.name == "Вьетнам")


# ---------- every action: request parameters and parsing ----------


def test_townfroms_sends_the_protocol_parameters_and_parses_the_towns(operator):
    towns = run(_with(operator, lambda c: c.townfroms()))
    assert {(t.id, t.name) for t in towns} >= {(1344, "Алматы"), (1937, "Астана"), (1998, "Шымкент")}
    almaty = next(t for t in towns if t.id == 1344)
    assert almaty.name_alt == "ALMATY" and almaty.extra["stateFromKey"] == 21
    sent = operator.last()
    assert sent["method"] == "GET"
    assert {k: sent[k] for k in ("samo_action", "version", "type", "action", "oauth_token")} == {
        "samo_action": "api", "version": "1.0", "type": "json", "action": "SearchTour_TOWNFROMS", "oauth_token": TOKEN}


def test_states_and_the_destination_dictionaries(operator):
    async def chain(c: SamoClient):
        states = await c.states(1344)
        vn = _vietnam(states)
        return (states, vn, await c.towns(1344, vn), await c.tours(1344, vn), await c.hotels(1344, vn),
                await c.meals(1344, vn), await c.stars(1344, vn))

    states, vn, towns, tour_list, hotels, meals, stars = run(_with(operator, chain))
    assert any(s.name == "Вьетнам" and s.extra.get("stateISO3") == "VNM" for s in states)
    assert any(t.name == "Нячанг" for t in towns) and tour_list and tour_list[0].id > 0
    assert hotels and all(h.stars in (2, 3, 4, 5) and h.town_id for h in hotels)
    assert {"BB", "AI"} <= {m.name for m in meals}
    assert {"4*", "5*"} <= {s.name for s in stars}
    assert [r["action"] for r in operator.requests[-6:]] == [
        "SearchTour_STATES", "SearchTour_TOWNS", "SearchTour_TOURS", "SearchTour_HOTELS", "SearchTour_MEALS",
        "SearchTour_STARS"]
    hotels_call = next(r for r in reversed(operator.requests) if r["action"] == "SearchTour_HOTELS")
    assert hotels_call["TOWNFROMINC"] == "1344" and hotels_call["STATEINC"] == str(vn)
    assert "TOWNS" not in hotels_call and "STARS" not in hotels_call  # empty parameters are not sent


def test_checkin_currencies_and_nights(operator):
    async def chain(c: SamoClient):
        vn = _vietnam(await c.states(1344))
        cal = await c.checkin(1344, vn, adults=2, children_ages=(5,))
        checkin_call = operator.last()
        cur = await c.currencies(1344, vn, checkin_from=START, checkin_to=START + dt.timedelta(days=7))
        currencies_call = operator.last()
        return cal, checkin_call, cur, currencies_call, await c.nights(1344, vn)

    cal, checkin_call, cur, currencies_call, nights = run(_with(operator, chain))
    assert cal.start == TODAY and cal.dates() and all(d >= TODAY for d in cal.dates())
    assert (checkin_call["ADULT"], checkin_call["CHILD"], checkin_call["AGES"]) == ("2", "1", "5")
    assert "USD" in {c.name for c in cur}
    assert currencies_call["CHECKIN_BEG"] == START.strftime("%Y%m%d")
    assert 7 in nights and all(isinstance(n, int) for n in nights)


def test_prices_request_and_rows(operator):
    async def chain(c: SamoClient):
        vn = _vietnam(await c.states(1344))
        query = PriceQuery(townfrom_id=1344, state_id=vn, checkin_from=START, checkin_to=START + dt.timedelta(days=6),
                           nights_from=7, nights_to=9, adults=2, children_ages=(5,), currency_id=1, per_page=20)
        return vn, await c.prices(query)

    vn, page = run(_with(operator, chain))
    sent = operator.last()
    assert sent["action"] == "SearchTour_PRICES"
    assert (sent["TOWNFROMINC"], sent["STATEINC"], sent["CHECKIN_BEG"], sent["NIGHTS_FROM"], sent["NIGHTS_TILL"]) == (
        "1344", str(vn), START.strftime("%Y%m%d"), "7", "9")
    assert (sent["ADULT"], sent["CHILD"], sent["AGES"], sent["CURRENCY"], sent["PRICEPAGE"]) == ("2", "1", "5", "1", "1")
    assert "HOTELS" not in sent and "MEALS" not in sent
    assert page.rows and page.page == 1 and page.pages >= 1
    row = page.rows[0]
    assert isinstance(row.price, Decimal) and row.price > 0 and row.currency == "USD"
    assert START <= row.check_in <= START + dt.timedelta(days=6) and 7 <= row.nights <= 9
    assert row.check_out == row.check_in + dt.timedelta(days=row.nights)
    assert row.hotel_id and row.meal and row.room and row.availability in ("available", "few", "request", "stop")
    assert row.adults == 2 and row.children == 1


def test_price_strings_and_availability_flags_are_parsed():
    row = samo.parse_row({**ROW, "price": "1 299,50", "checkIn": "15.06.2025", "checkOut": "2025-06-22",
                          "hotelAvailability": "R", "bron": "1"})
    assert row.price == Decimal("1299.50") and row.check_in == dt.date(2025, 6, 15)
    assert row.check_out == dt.date(2025, 6, 22) and row.availability == "request"
    assert samo.parse_row({**ROW, "freights": {"econom": {"in": "F", "out": "Y"}}}).availability == "few"
    assert samo.parse_row({**ROW, "bron": 0}).availability == "stop"


def test_hotel_details_and_an_unknown_hotel(operator):
    async def chain(c: SamoClient):
        vn = _vietnam(await c.states(1344))
        hotel = (await c.hotels(1344, vn))[0]
        return hotel, await c.hotel_details(hotel.id), await c.hotel_details(999_999)

    hotel, details, unknown = run(_with(operator, chain))
    assert details is not None and details.id == hotel.id and details.description and details.images
    assert operator.requests[-1]["HOTELINC"] == "999999" and unknown is None


def test_currency_rate(operator):
    rate = run(_with(operator, lambda c: c.rate(1, 3)))
    assert rate == Decimal("520.0") or rate == Decimal("520")


# ---------- failure modes ----------


def _fails(operator, mode, **overrides) -> SamoError:
    operator.fail(mode)
    with pytest.raises(SamoError) as info:
        run(_with(operator, lambda c: c.townfroms(), **overrides))
    operator.fail(None)
    return info.value


@pytest.mark.parametrize("mode", ["forbidden", "forbidden_json"])
def test_403_names_the_ip_to_send_for_the_allow_list(operator, mode):
    exc = _fails(operator, mode)
    assert exc.kind == "forbidden" and exc.ip == operator.ip
    assert "allow-list" in exc.message and f"send them this IP: {operator.ip}" in exc.message
    assert exc.i18n_key == "samo.err.forbidden_ip" and TOKEN not in exc.detail


def test_a_wrong_token_is_a_403_too(operator):
    exc = _fails(operator, None, oauth_token=SecretStr("wrong-token-0000"))
    assert exc.kind == "forbidden"


def test_server_error(operator):
    exc = _fails(operator, "server_error")
    assert exc.kind == "server" and exc.temporary and "HTTP 500" in exc.message


@pytest.mark.parametrize("mode", ["error", "error_nested"])
def test_error_payloads_become_operator_errors(operator, mode):
    exc = _fails(operator, mode)
    assert exc.kind == "operator" and "Сервис временно недоступен" in exc.message
    assert exc.operator_code == 12 and exc.params["reason"].startswith("Сервис временно недоступен")


def test_malformed_json(operator):
    exc = _fails(operator, "malformed")
    assert exc.kind == "malformed" and "not valid JSON" in exc.message


def test_timeout(operator):
    exc = _fails(operator, "timeout", timeout_s=0.3 if operator.name == "sandbox" else 5)
    assert exc.kind == "timeout" and exc.temporary and "did not answer" in exc.message


def test_nothing_listening_is_a_connection_error():
    config = SamoSettings(api_url=closed_port_url() + "/export/default.php", oauth_token=SecretStr(TOKEN),
                          min_interval_s=0, timeout_s=2)

    async def go():
        client = SamoClient(config)
        try:
            await client.townfroms()
        finally:
            await client.aclose()

    with pytest.raises(SamoError) as info:
        run(go())
    assert info.value.kind == "connection"


def test_an_answer_under_another_key_is_malformed():
    with respx.mock() as router:
        router.get(url__startswith=REAL_URL).respond(200, json={"Something_ELSE": []})
        config = SamoSettings(api_url=REAL_URL, oauth_token=SecretStr(TOKEN), min_interval_s=0)
        with pytest.raises(SamoError) as info:
            run(_with(type("O", (), {"url": REAL_URL})(), lambda c: c.townfroms(), **config.model_dump()))
    assert info.value.kind == "malformed"


# ---------- test_connection ----------


def test_connection_ok_reports_latency_and_towns(operator):
    config = SamoSettings(api_url=operator.url, oauth_token=SecretStr(TOKEN))
    result = run(samo.test_connection(config))
    assert result.ok and result.latency_ms is not None and result.code == "samo_ok"
    assert "3 departure cities" in result.message and "Алматы" in result.message


def test_connection_forbidden_gives_the_exact_error_and_the_ip(operator):
    operator.fail("forbidden")
    result = run(samo.test_connection(SamoSettings(api_url=operator.url, oauth_token=SecretStr(TOKEN))))
    operator.fail(None)
    assert not result.ok and result.code == "samo_forbidden_ip" and result.params["ip"] == operator.ip
    assert "blacklisted address" in result.detail and TOKEN not in result.detail


# ---------- politeness ----------


class CountingTransport(httpx.AsyncBaseTransport):
    """Answers TOWNFROMS after a pause, recording start times and the most calls in flight."""

    def __init__(self, pause: float = 0.05):
        self.pause, self.in_flight, self.most, self.starts = pause, 0, 0, []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.starts.append(time.monotonic())
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(self.pause)
        self.in_flight -= 1
        return httpx.Response(200, json={"SearchTour_TOWNFROMS": TOWNFROMS})


def test_concurrency_limit_and_spacing_between_calls():
    async def burst(**overrides):
        transport = CountingTransport()
        config = SamoSettings(api_url=REAL_URL, oauth_token=SecretStr(TOKEN), **overrides)
        client = SamoClient(config, transport=transport)
        try:
            await asyncio.gather(*(client.townfroms() for _ in range(6)))
        finally:
            await client.aclose()
        return transport

    limited = run(burst(max_concurrency=2, min_interval_s=0))
    assert limited.most == 2
    spaced = run(burst(max_concurrency=4, min_interval_s=0.04))
    gaps = [b - a for a, b in zip(spaced.starts, spaced.starts[1:], strict=False)]
    assert min(gaps) >= 0.035


def test_the_token_is_never_in_error_details(operator):
    for mode in ("forbidden", "server_error", "malformed", "error"):
        exc = _fails(operator, mode)
        assert TOKEN not in exc.detail and TOKEN not in exc.message


def test_the_sandbox_refuses_posts_like_the_operator(sandbox_server):
    url, _ = sandbox_server
    response = httpx.post(url + "/export/default.php", data={"samo_action": "api", "action": "SearchTour_TOWNFROMS"})
    assert response.status_code == 500
