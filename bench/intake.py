"""Lead intake benchmark: `.venv/bin/python bench/intake.py [--engines sqlite,postgresql] [--quick]`.

For each engine: a fresh database (SQLite: a temporary file; PostgreSQL: the database
`crystal_bay_bench_intake` on 127.0.0.1:5432, user postgres, created and dropped here — never the
shared `test` database), migrated; an API key made with the CLI (`create-api-key`); the API served
by uvicorn on 127.0.0.1 (`bench.ceiling_app:app`: the real API app plus a bench-only one-row insert).

Measured at 1, 10 and 50 concurrent clients (each a keep-alive connection of a minimal HTTP/1.1
client: httpx cost the load generator several times the server's CPU per request), a fixed number
of requests per level (after a warm-up): leads/s and p50/p99 latency of POST /api/v1/leads (each request a new
customer, lead and message), the same for POST /bench/insert (the ceiling), then the time to import
a 100,000-row CSV through POST /api/v1/leads/import and to import it again (all duplicates).
Prints figures, then one goal line per goal of issue 5 (PASS or MISS with the figure): at least
1,000 leads/s and p99 under 50 ms at 50 clients, leads/s within 2x of the ceiling at every level,
the 100,000-row import under 60 s. Every step has a timeout. The load generator shares the
machine's cores. BENCH_PG_DB names the PostgreSQL database (default crystal_bay_bench_intake).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = os.environ.get("BENCH_PG_DB", "crystal_bay_bench_intake")
LEVELS = ((1, 300), (10, 2000), (50, 4000))
QUICK_LEVELS = ((1, 100), (10, 400), (50, 1000))
WARM_UP = 100
STARTUP_TIMEOUT_S = 60
LEVEL_TIMEOUT_S = 300
IMPORT_TIMEOUT_S = 600
GOAL_LEADS_PER_S = 1000
GOAL_P99_MS = 50.0
GOAL_CEILING_FACTOR = 2.0
GOAL_IMPORT_ROWS, GOAL_IMPORT_S = 100_000, 60.0


@dataclass
class Figures:
    label: str
    clients: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float | None = None  # the server's CPU time per request (all workers): steadier than wall time
    client_cpu_ms: float | None = None  # the load generator's


    @property
    def per_second(self) -> float:
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def database(engine: str) -> Iterator[str]:
    """A fresh database URL for the engine, removed afterwards."""
    if engine == "sqlite":
        with tempfile.TemporaryDirectory(prefix="cb-bench-intake-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    import psycopg

    def admin(sql: str) -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)

    admin(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
    admin(f"CREATE DATABASE {PG_BENCH_DB}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
    finally:
        admin(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")


def _env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=url, CRYSTAL_BAY_DEMO="1", API_RATE_LIMIT_PER_MINUTE="1000000000",
               PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    for name in ("REDIS_URL", "SAMO_API_URL", "SAMO_OAUTH_TOKEN"):
        env.pop(name, None)
    return env


def prepare(url: str) -> str:
    """Migrate, create the stages, and make an API key with the CLI; returns the key."""
    env = _env(url)
    for args in (["migrate"], ["create-api-key", "--name", "bench", "--scope", "leads:write", "--scope",
                                "leads:read"]):
        proc = subprocess.run([sys.executable, "-m", "crystal_bay", *args], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=180, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise SystemExit(f"`crystal_bay {args[0]}` failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout.strip().splitlines()[-1]


@contextlib.contextmanager
def server(url: str, workers: int) -> Iterator[tuple[str, int]]:
    """uvicorn serving bench.ceiling_app:app on a free loopback port, stopped afterwards."""
    port = _free_port()
    log = tempfile.NamedTemporaryFile(prefix="cb-bench-uvicorn-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.ceiling_app:app", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning", "--no-access-log", "--timeout-keep-alive", "30"],
        cwd=REPO, env=_env(url), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"uvicorn exited with {proc.returncode}; log {log.name}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"uvicorn did not start in {STARTUP_TIMEOUT_S} s; log {log.name}")
            time.sleep(0.3)
        yield base, proc.pid  # the server is its own process group (start_new_session)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()


class Phones:
    """Unique valid Kazakh mobile numbers across the whole run."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"+7701{self.n:07d}"


class _Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol for the bench: a POST with a JSON
    body, a response with Content-Length. A tenth of httpx's CPU per request, so that the load generator, which
    shares the machine's two cores with the server, takes less of them."""

    def __init__(self, host: str, port: int, headers: bytes):
        self.host, self.port, self.headers = host, port, headers
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, payload: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s"
                          % (path.encode(), self.headers, len(payload), payload))
        head = await self.reader.readuntil(b"\r\n\r\n")
        status, length, close = int(head[9:12]), 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _load(base: str, path: str, key: str, clients: int, requests: int, body) -> tuple[list[float], int, float]:
    """`requests` POSTs by `clients` concurrent clients (one keep-alive connection each); returns latencies (s),
    errors, wall time."""
    latencies: list[float] = []
    errors = 0
    remaining = requests
    host, port = base.removeprefix("http://").rsplit(":", 1)
    headers = (f"Host: {host}:{port}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\n"
               "Accept: application/json\r\n").encode()

    async def worker() -> None:
        nonlocal remaining, errors
        connection = _Connection(host, int(port), headers)
        try:
            while remaining > 0:
                remaining -= 1
                payload = json.dumps(body(), ensure_ascii=False).encode()
                started = time.perf_counter()
                try:
                    errors += await asyncio.wait_for(connection.post(path, payload), 30) >= 300
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
                    errors += 1
                    connection.close()
                latencies.append(time.perf_counter() - started)
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(clients))), LEVEL_TIMEOUT_S)
    return latencies, errors, time.perf_counter() - started


def group_cpu_s(pgid: int | None) -> float | None:
    """CPU seconds (user + system) used so far by the processes of a process group (Linux /proc), else None."""
    if pgid is None or not os.path.isdir("/proc"):
        return None
    total, tick = 0, os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 (pgrp), counted after the ") "
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def measure(base: str, key: str, label: str, path: str, levels, body, pgid: int | None = None) -> list[Figures]:
    asyncio.run(_load(base, path, key, 4, WARM_UP, body))
    results = []
    for clients, requests in levels:
        cpu_before, client_before = group_cpu_s(pgid), time.process_time()
        latencies, errors, seconds = asyncio.run(_load(base, path, key, clients, requests, body))
        cpu_after, client_ms = group_cpu_s(pgid), (time.process_time() - client_before) * 1000 / requests
        ordered = sorted(latencies)
        cpu_ms = (cpu_after - cpu_before) * 1000 / requests if cpu_before is not None and cpu_after is not None else None
        results.append(Figures(label, clients, requests, errors, seconds, statistics.median(ordered) * 1000,
                               ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, cpu_ms, client_ms))
    return results


def import_csv(rows: int, phones: Phones) -> bytes:
    lines = ["Имя;Телефон;Email;Сообщение;Направление;Взрослые;Бюджет;Валюта;Теги"]
    for i in range(rows):
        tag = "импорт" if i % 10 == 0 else ""
        lines.append(f"Клиент {i};{phones.next()};c{i}@example.kz;Хочу тур, заявка {i};Вьетнам;2;{1000 + i % 900};"
                     f"USD;{tag}")
    return ("\n".join(lines) + "\n").encode()


def timed_import(base: str, key: str, content: bytes) -> tuple[float, dict]:
    started = time.perf_counter()
    response = httpx.post(f"{base}/api/v1/leads/import", content=content, timeout=IMPORT_TIMEOUT_S,
                          headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"})
    seconds = time.perf_counter() - started
    body = response.json()
    if response.status_code != 200:
        raise SystemExit(f"import failed: {response.status_code} {body}")
    return seconds, body


def run_engine(engine: str, workers: int, levels, import_rows: int) -> None:
    print(f"\n=== {engine}, uvicorn --workers {workers} ===", flush=True)
    phones = Phones()
    with database(engine) as url:
        key = prepare(url)
        with server(url, workers) as (base, pgid):
            leads = measure(base, key, "POST /api/v1/leads", "/api/v1/leads", levels,
                            lambda: {"name": "Бенчмарк", "phone": phones.next(), "message": "Хочу во Вьетнам",
                                     "adults": 2, "budget": 1500, "currency": "USD"}, pgid)
            ceiling = measure(base, key, "POST /bench/insert (ceiling)", "/bench/insert", levels, lambda: {}, pgid)
            _print_table(leads + ceiling)
            for lead, top in zip(leads, ceiling, strict=True):
                print(f"  {lead.clients:>2} clients: leads/s = {lead.per_second / top.per_second:.0%} of the ceiling")
            import_s = None
            if import_rows:
                content = import_csv(import_rows, phones)
                import_s, report = timed_import(base, key, content)
                print(f"  import {import_rows:,} rows ({len(content) / 2**20:.1f} MiB): {import_s:.1f} s "
                      f"({import_rows / import_s:,.0f} rows/s; imported {report['imported']:,}, "
                      f"rejected {report['rejected']:,}; server-side {report['seconds']:.1f} s)")
                seconds, report = timed_import(base, key, content)
                print(f"  the same file again: {seconds:.1f} s (duplicates {report['duplicates']:,}, "
                      f"imported {report['imported']:,})")
            print_goals(f"{engine}, {workers} worker{'s' if workers > 1 else ''}", leads, ceiling, import_rows,
                        import_s)


def goal_lines(leads: list[Figures], ceiling: list[Figures], import_rows: int,
               import_s: float | None) -> list[tuple[bool | None, str]]:
    """(passed, text) per goal of issue 5; passed is None when this run cannot tell (e.g. a smaller import)."""
    top, top_ceiling = max(leads, key=lambda f: f.clients), max(ceiling, key=lambda f: f.clients)
    ratios = [(lead.clients, top_c.per_second / lead.per_second if lead.per_second else float("inf"))
              for lead, top_c in zip(leads, ceiling, strict=True)]
    worst_clients, worst = max(ratios, key=lambda r: r[1])
    lines = [
        (top.per_second >= GOAL_LEADS_PER_S and top.errors == 0,
         f">= {GOAL_LEADS_PER_S:,} leads/s at {top.clients} clients: {top.per_second:,.0f} leads/s "
         f"({top.errors} errors)"),
        (top.p99_ms < GOAL_P99_MS, f"p99 < {GOAL_P99_MS:.0f} ms at {top.clients} clients: {top.p99_ms:.1f} ms"),
        (worst <= GOAL_CEILING_FACTOR,
         f"within {GOAL_CEILING_FACTOR:g}x of the ceiling at every level: worst {worst:.2f}x at {worst_clients} "
         f"clients (ceiling {top_ceiling.per_second:,.0f}/s at {top_ceiling.clients})"),
    ]
    if import_s is None:
        lines.append((None, f"{GOAL_IMPORT_ROWS:,}-row import < {GOAL_IMPORT_S:.0f} s: not run"))
    elif import_rows < GOAL_IMPORT_ROWS:
        lines.append((None, f"{GOAL_IMPORT_ROWS:,}-row import < {GOAL_IMPORT_S:.0f} s: only {import_rows:,} rows "
                            f"imported ({import_s:.1f} s)"))
    else:
        lines.append((import_s < GOAL_IMPORT_S, f"{import_rows:,}-row import < {GOAL_IMPORT_S:.0f} s: {import_s:.1f} s"))
    return lines


def print_goals(label: str, leads: list[Figures], ceiling: list[Figures], import_rows: int,
                import_s: float | None) -> None:
    print(f"  goals ({label}, {os.cpu_count()} cores):")
    for passed, text in goal_lines(leads, ceiling, import_rows, import_s):
        print(f"    GOAL {'n/a ' if passed is None else 'PASS' if passed else 'MISS'}  {text}")


def _print_table(rows: list[Figures]) -> None:
    print(f"  {'endpoint':<30} {'clients':>7} {'requests':>8} {'errors':>6} {'per s':>8} {'p50 ms':>8} "
          f"{'p99 ms':>8} {'CPU ms/req: server':>18} {'client':>7}")
    for r in rows:
        cpu = f"{r.server_cpu_ms:.2f}" if r.server_cpu_ms is not None else "-"
        print(f"  {r.label:<30} {r.clients:>7} {r.requests:>8} {r.errors:>6} {r.per_second:>8.0f} "
              f"{r.p50_ms:>8.1f} {r.p99_ms:>8.1f} {cpu:>18} {r.client_cpu_ms or 0:>7.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--sqlite-workers", type=int, default=1)
    parser.add_argument("--pg-workers", default="1,2", help="comma-separated worker counts to run on PostgreSQL")
    parser.add_argument("--import-rows", type=int, default=None, help="default 100,000 (--quick: 10,000); 0: none")
    parser.add_argument("--quick", action="store_true", help="fewer requests and a 10,000-row import")
    args = parser.parse_args(argv)
    levels = QUICK_LEVELS if args.quick else LEVELS
    rows = args.import_rows if args.import_rows is not None else 10_000 if args.quick else 100_000
    print(f"cores: {os.cpu_count()}; levels (clients, requests): {levels}")
    for engine in args.engines.split(","):
        if engine == "sqlite":
            run_engine("sqlite", args.sqlite_workers, levels, rows)
        else:
            for workers in (int(w) for w in args.pg_workers.split(",")):
                run_engine("postgresql", workers, levels, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
