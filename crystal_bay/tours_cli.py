"""`python -m crystal_bay tours ...`: search tours at the operator and check the connection.

    tours search --from Алматы --country Вьетнам --date-from 2026-12-10 --date-to 2026-12-17 \
                 --nights 7-10 --adults 2 [--children-ages 5,9] [--resort Нячанг] [--stars 4] [--meal AI]
                 [--budget 3000] [--page 1] [--limit 30] [--json]
    tours check
    tours refresh-dictionaries

In demo mode (no SAMO credentials) the answers come from the built-in sandbox, called in-process
(httpx ASGI transport), and the output says so.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from decimal import Decimal, InvalidOperation

DEMO_NOTE = "ДЕМО: предложения из встроенной песочницы SAMO (учебный каталог), не от туроператора."


def _config():
    """(config, demo) from the database settings; from the environment alone when the database is not ready."""
    from sqlalchemy.exc import SQLAlchemyError

    from crystal_bay.integrations import samo
    from crystal_bay.services.tours import samo_config
    from crystal_bay.settings import get_settings

    try:
        from crystal_bay.db import session_scope

        with session_scope() as session:
            return samo_config(session=session)
    except SQLAlchemyError:
        settings = get_settings()
        if settings.samo_api_url and settings.samo_oauth_token:
            return samo.SamoSettings(api_url=settings.samo_api_url, oauth_token=settings.samo_oauth_token), False
        if settings.demo:
            return samo.sandbox_settings(), True
        raise samo.SamoError("SAMO is not configured: set SAMO_API_URL and SAMO_OAUTH_TOKEN.",
                             kind="not_configured") from None


def _nights(text: str) -> tuple[int, int]:
    parts = text.replace("–", "-").split("-")
    try:
        low, high = (int(parts[0]), int(parts[-1]))
    except ValueError:
        raise argparse.ArgumentTypeError("nights: a number or a range like 7-10") from None
    return low, high


def _ages(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(a) for a in text.replace(";", ",").split(",") if a.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("children ages: numbers separated by commas, e.g. 5,9") from None


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a date as YYYY-MM-DD") from None


def _budget(text: str) -> Decimal:
    try:
        return Decimal(text.replace(" ", ""))
    except InvalidOperation:
        raise argparse.ArgumentTypeError("budget: a number") from None


def _offer_json(o) -> dict:
    return {"hotel": o.hotel, "hotel_id": o.hotel_id, "stars": o.stars, "resort": o.resort, "country": o.country,
            "meal": o.meal, "room": o.room, "date_from": o.date_from.isoformat(), "date_to": o.date_to.isoformat(),
            "nights": o.nights, "adults": o.adults, "children_ages": list(o.children_ages), "price": str(o.price),
            "price_per_person": str(o.price_per_person), "currency": o.currency, "availability": o.availability,
            "bookable": o.bookable, "operator_offer_id": o.offer_id, "tour": o.tour}


def _table(offers) -> str:
    from crystal_bay.services.quotes import money

    head = ("Отель", "Курорт", "Пит.", "Номер", "Заезд", "Ноч.", "Цена", "На чел.", "Места")
    rows = [(o.hotel, o.resort, o.meal, o.room, f"{o.date_from:%d.%m.%Y}", str(o.nights), money(o.price, o.currency),
             money(o.price_per_person, o.currency), o.availability) for o in offers]
    widths = [min(max(len(str(r[i])) for r in [head, *rows]), 40) for i in range(len(head))]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))
    out = [line, "-" * len(line)]
    for r in rows:
        out.append("  ".join(str(c)[:w].ljust(w) for c, w in zip(r, widths, strict=True)))
    return "\n".join(out)


async def _search(args: argparse.Namespace) -> int:
    from crystal_bay.integrations import samo
    from crystal_bay.services import tours
    from crystal_bay.services.tour_catalog import Catalog, app_session_factory

    config, demo = _config()
    client = samo.get_client(config, demo=demo)
    try:
        low, high = args.nights
        request = tours.SearchRequest(
            departure=args.departure, country=args.country, date_from=args.date_from, date_to=args.date_to or args.date_from,
            nights_min=low, nights_max=high, adults=args.adults, children_ages=args.children_ages,
            resorts=tuple(args.resort or ()), stars_min=args.stars, meals=tuple(m.upper() for m in args.meal or ()),
            budget=args.budget, currency=args.currency.upper(),
        )
        result = await tours.search(request, client=client, catalog=Catalog(client, session_factory=app_session_factory()),
                                    page=args.page)
    finally:
        await samo.close_clients()
    offers = result.offers[: args.limit]
    if args.json:
        if demo:
            print(DEMO_NOTE, file=sys.stderr)
        print(json.dumps({"demo": demo, "source": result.source, "page": result.page, "pages": result.pages,
                          "total": result.total, "offers": [_offer_json(o) for o in offers]}, ensure_ascii=False,
                         indent=2))
        return 0
    if demo:
        print(DEMO_NOTE)
    print(f"{request.departure} → {request.country}, заезд {request.date_from:%d.%m.%Y}–{request.date_to:%d.%m.%Y}, "
          f"{low}–{high} ночей, взрослых {request.adults}"
          + (f", дети {','.join(map(str, request.children_ages))}" if request.children_ages else ""))
    if not offers:
        print("Предложений нет: измените даты, ночи или фильтры.")
        return 0
    print(_table(offers))
    print(f"Показано {len(offers)} из {result.total if result.total is not None else len(result.offers)} "
          f"(страница {result.page} из {result.pages}); оператор ответил за {result.operator_ms:.0f} мс.")
    return 0


async def _check(args: argparse.Namespace) -> int:
    import httpx

    from crystal_bay.integrations import samo

    config, demo = _config()
    transport = None
    if demo:
        from crystal_bay.sandbox.samo import demo_app

        transport = httpx.ASGITransport(app=demo_app(), client=("127.0.0.1", 50000))
        print(DEMO_NOTE)
    result = await samo.test_connection(config, transport=transport)
    print(("OK: " if result.ok else "ОШИБКА: ") + result.message)
    if result.latency_ms is not None:
        print(f"Время ответа: {result.latency_ms} мс")
    if result.detail:
        print(result.detail)
    return 0 if result.ok else 1


async def _refresh(args: argparse.Namespace) -> int:
    from crystal_bay.integrations import samo
    from crystal_bay.services.tour_catalog import app_session_factory, describe, refresh_dictionaries

    config, demo = _config()
    client = samo.get_client(config, demo=demo)
    try:
        counts = await refresh_dictionaries(client, session_factory=app_session_factory())
    finally:
        await samo.close_clients()
    print(("ДЕМО: " if demo else "") + "справочники обновлены: " + describe(counts))
    return 0


def _run(fn):
    def handler(args: argparse.Namespace) -> int:
        from crystal_bay.integrations.samo import SamoError

        try:
            return asyncio.run(fn(args))
        except SamoError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            if exc.detail:
                print(exc.detail, file=sys.stderr)
            return 1
    return handler


def add_commands(sub) -> None:
    """Add `tours search|check|refresh-dictionaries` to the CLI's subparsers."""
    tours = sub.add_parser("tours", help="search tours at the operator (SAMO) and check the connection")
    tsub = tours.add_subparsers(dest="tours_command", required=True)

    p = tsub.add_parser("search", help="print offers (demo mode: from the built-in sandbox)")
    p.add_argument("--from", dest="departure", default="Алматы", help="departure city (default Алматы)")
    p.add_argument("--country", required=True, help="destination country, e.g. Вьетнам")
    p.add_argument("--date-from", type=_date, required=True, help="first check-in date, YYYY-MM-DD")
    p.add_argument("--date-to", type=_date, help="last check-in date (default: the first)")
    p.add_argument("--nights", type=_nights, default=(7, 10), help="nights, e.g. 7 or 7-10 (default 7-10)")
    p.add_argument("--adults", type=int, default=2)
    p.add_argument("--children-ages", type=_ages, default=(), help="e.g. 5 or 5,9")
    p.add_argument("--resort", action="append", help="repeat for several resorts")
    p.add_argument("--stars", type=int, help="at least this many stars")
    p.add_argument("--meal", action="append", help="meal code (RO, BB, HB, FB, AI, UAI); repeat for several")
    p.add_argument("--budget", type=_budget, help="the most the whole tour may cost")
    p.add_argument("--currency", default="USD")
    p.add_argument("--page", type=int, default=1)
    p.add_argument("--limit", type=int, default=30, help="print at most this many offers")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_run(_search))

    p = tsub.add_parser("check", help="test the connection (SearchTour_TOWNFROMS): latency, exact error")
    p.set_defaults(func=_run(_check))

    p = tsub.add_parser("refresh-dictionaries", help="fetch and cache the operator's dictionaries now")
    p.set_defaults(func=_run(_refresh))
