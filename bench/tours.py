"""Tour search latency: our stack's overhead over the SAMO sandbox's own time, cold vs warm dictionaries.

    .venv/bin/python bench/tours.py [--runs 30]

Two transports: the sandbox in-process (httpx ASGI transport, as demo mode and the CLI use it) and
over real HTTP on loopback (uvicorn, as a remote operator would be reached). "Sandbox" is the time
the sandbox spent answering (measured inside it), "overhead" = our search() time minus that: name
resolution, the dictionary cache (memory → SQLite → operator), building the request, HTTP, parsing
rows into offers. Cold = empty memory and an empty database cache (every dictionary fetched);
warm = after a first search (one PRICES call). Goal: < 50 ms overhead per warm search.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlmodel import Session  # noqa: E402

from crystal_bay import migrations  # noqa: E402
from crystal_bay.db import make_engine  # noqa: E402
from crystal_bay.integrations.samo import SamoClient, SamoSettings  # noqa: E402
from crystal_bay.sandbox import samo as sandbox  # noqa: E402
from crystal_bay.services import tours  # noqa: E402
from crystal_bay.services.tour_catalog import Catalog, clear_memory  # noqa: E402

START = dt.date.today() + dt.timedelta(days=30)
REQUEST = tours.SearchRequest(departure="Алматы", country="Вьетнам", date_from=START,
                              date_to=START + dt.timedelta(days=6), nights_min=7, nights_max=10, adults=2,
                              children_ages=(5,), per_page=100)


def _factory(engine):
    @contextlib.contextmanager
    def scope():
        with Session(engine, expire_on_commit=False) as session:
            yield session
            session.commit()
    return scope


async def _one(client: SamoClient, catalog: Catalog, app, request=REQUEST) -> tuple[float, float, int]:
    before = len(app.state.handler_ms)
    started = time.perf_counter()
    result = await tours.search(request, client=client, catalog=catalog)
    total = (time.perf_counter() - started) * 1000
    own = sum(list(app.state.handler_ms)[before:])
    assert result.offers
    return total, own, len(app.state.handler_ms) - before


def _fmt(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return f"median {statistics.median(values):6.1f} ms  p95 {p95:6.1f} ms"


async def _bench(label: str, client: SamoClient, app, engine, runs: int) -> None:
    cold_total, cold_own, cold_over, cold_calls = [], [], [], 0
    for _ in range(max(3, runs // 5)):
        clear_memory()
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM samo_dictionaries")
        catalog = Catalog(client, session_factory=_factory(engine))
        total, own, calls = await _one(client, catalog, app)
        cold_total.append(total), cold_own.append(own), cold_over.append(total - own)
        cold_calls = calls
    catalog = Catalog(client, session_factory=_factory(engine))
    await _one(client, catalog, app)
    warm_total, warm_own, warm_over, warm_calls = [], [], [], 0
    for i in range(runs):
        request = tours.SearchRequest(**{**REQUEST.__dict__, "nights_max": 8 + i % 3})
        total, own, calls = await _one(client, catalog, app, request)
        warm_total.append(total), warm_own.append(own), warm_over.append(total - own)
        warm_calls = calls
    db_only_over = []
    for _ in range(max(3, runs // 5)):
        clear_memory()  # a fresh process: the dictionaries come from the database
        catalog = Catalog(client, session_factory=_factory(engine))
        total, own, _ = await _one(client, catalog, app)
        db_only_over.append(total - own)
    print(f"\n{label}")
    print(f"  cold  ({cold_calls} operator calls): total {_fmt(cold_total)} | sandbox {_fmt(cold_own)} | "
          f"overhead {_fmt(cold_over)}")
    print(f"  warm  ({warm_calls} operator call):  total {_fmt(warm_total)} | sandbox {_fmt(warm_own)} | "
          f"overhead {_fmt(warm_over)}")
    print(f"  warm from the database only (new process):                                overhead {_fmt(db_only_over)}")
    verdict = "OK" if statistics.median(warm_over) < 50 else "ABOVE GOAL"
    print(f"  goal < 50 ms overhead per warm search: {verdict}")


async def main(runs: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cb-bench-tours-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    migrations.upgrade(url)
    engine = make_engine(url)
    app = sandbox.create_app()
    config = SamoSettings(api_url="http://samo-sandbox/export/default.php", oauth_token=SecretStr(sandbox.DEFAULT_TOKEN),
                          min_interval_s=0, max_concurrency=4)
    client = SamoClient(config, transport=httpx.ASGITransport(app=app), demo=True)
    try:
        await _bench("in-process (ASGI transport; demo mode, CLI)", client, app, engine, runs)
    finally:
        await client.aclose()
    from tests.servers import serve

    with serve(app) as base:
        http_config = config.model_copy(update={"api_url": base + "/export/default.php"})
        client = SamoClient(http_config, demo=False)
        try:
            await _bench("loopback HTTP (uvicorn; like a remote operator)", client, app, engine, runs)
        finally:
            await client.aclose()
    engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    asyncio.run(main(parser.parse_args().runs))
