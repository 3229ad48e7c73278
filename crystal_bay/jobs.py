"""Scheduled jobs: declared beside their domain, run by exactly one process.

A domain module declares a job with `@scheduled("outbox.worker", every=5, title=(ru, en))` on an
`async def` (optionally taking a `JobContext`); `JOB_MODULES` lists the modules to import.
`lifespan()` (registered on the Reflex app) starts an APScheduler `AsyncIOScheduler` in the
backend's event loop, unless `CRYSTAL_BAY_SCHEDULER=0`.

Exactly once, two layers:

1. A leader lease: only the process holding it runs jobs. On PostgreSQL that is
   `pg_try_advisory_lock` on a connection the process keeps open (released the moment the process
   dies); elsewhere — or when advisory locks are unavailable, e.g. behind a transaction pooler —
   a row in `scheduler_leases` with an owner and an expiry, renewed every ttl/3.
2. A tick claim: ticks are aligned to a fixed epoch, so every process computes the same tick
   number for a run; a run first does `UPDATE scheduled_jobs SET last_tick = :tick WHERE
   last_tick < :tick`. Only one process can win a tick, even during a lease handover.

"Run now" from the panel runs the job at once in the calling process (not counted as a tick):
every job must be safe to run concurrently with itself (the outbox claims rows; the reminder job
enqueues with idempotency keys).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import importlib
import inspect
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, insert, or_, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, select

from crystal_bay.db import get_engine
from crystal_bay.models import ScheduledJob, SchedulerLease, utcnow

log = logging.getLogger(__name__)

JOB_MODULES = ("crystal_bay.services.outbox", "crystal_bay.services.reminder_jobs", "crystal_bay.services.tours",
               "crystal_bay.services.bookings", "crystal_bay.services.messaging", "crystal_bay.services.ai.inbound_jobs")
EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
LEASE_NAME = "scheduler"
LEASE_TTL_S = 30
_JOBS_T = ScheduledJob.__table__  # type: ignore[attr-defined]
_LEASE_T = SchedulerLease.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class JobContext:
    job_id: str
    trigger: str  # schedule | manual
    tick: int | None


@dataclass(frozen=True)
class JobSpec:
    job_id: str
    every_s: int
    fn: Callable[..., Awaitable[Any]]
    title_ru: str
    title_en: str

    def call(self, ctx: JobContext) -> Awaitable[Any]:
        return self.fn(ctx) if inspect.signature(self.fn).parameters else self.fn()


_JOBS: dict[str, JobSpec] = {}


def scheduled(job_id: str, *, every: int, title: tuple[str, str]):
    """Declare an async job that runs every `every` seconds (its result string is shown in the panel)."""
    if every < 1:
        raise ValueError("every must be at least 1 second")

    def decorator(fn):
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"job {job_id!r} must be async")
        _JOBS[job_id] = JobSpec(job_id=job_id, every_s=every, fn=fn, title_ru=title[0], title_en=title[1])
        return fn

    return decorator


def load_jobs() -> list[JobSpec]:
    """Import the modules that declare jobs; every declared job, in declaration order."""
    for module in JOB_MODULES:
        importlib.import_module(module)
    return list(_JOBS.values())


def get_job(job_id: str) -> JobSpec | None:
    load_jobs()
    return _JOBS.get(job_id)


def scheduler_enabled() -> bool:
    """False when CRYSTAL_BAY_SCHEDULER=0 (tests, or processes that must not run jobs)."""
    return os.environ.get("CRYSTAL_BAY_SCHEDULER", "1").strip().lower() not in ("0", "false", "no", "off")


def tick_of(every_s: int, now: dt.datetime) -> int:
    """The epoch-aligned tick a run at `now` belongs to (tolerates a run firing a little early or late)."""
    return int((now - EPOCH).total_seconds() / every_s + 0.25)


def next_run_after(every_s: int, now: dt.datetime) -> dt.datetime:
    elapsed = (now - EPOCH).total_seconds()
    return EPOCH + dt.timedelta(seconds=(int(elapsed // every_s) + 1) * every_s)


# --- the leader lease ---


def _advisory_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"crystal_bay:{name}".encode()).digest()[:8], "big", signed=True)


class Lease:
    """The right to run jobs, held by one owner at a time (see the module docstring)."""

    def __init__(self, engine: Engine, owner: str, *, name: str = LEASE_NAME, ttl_s: int = LEASE_TTL_S):
        self.engine, self.owner, self.name, self.ttl_s = engine, owner, name, ttl_s
        self.held = False
        self._advisory = engine.dialect.name == "postgresql"
        self._conn: Connection | None = None

    def acquire(self, now: dt.datetime | None = None) -> bool:
        """Take or renew the lease; True while this owner holds it."""
        now = now or utcnow()
        try:
            if self._advisory:
                self.held = self._acquire_advisory() and self._write_row(now, force=True)
            else:
                self.held = self._write_row(now, force=False)
        except DBAPIError as exc:
            log.warning("scheduler lease check failed (%s); not running jobs until it works", type(exc).__name__)
            self._drop_connection()
            self.held = False
        return self.held

    def _acquire_advisory(self) -> bool:
        if self._conn is not None:
            self._conn.execute(text("SELECT 1"))  # still connected means still locked
            return True
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _advisory_key(self.name)}).scalar()
        except DBAPIError:
            conn.close()
            log.warning("pg_try_advisory_lock is unavailable; using the lease row only")
            self._advisory = False
            return self._write_row(utcnow(), force=False)
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def _write_row(self, now: dt.datetime, *, force: bool) -> bool:
        expires = now + dt.timedelta(seconds=self.ttl_s)
        values = {"owner": self.owner, "expires_at": expires,
                  "acquired_at": case((_LEASE_T.c.owner == self.owner, _LEASE_T.c.acquired_at), else_=now)}
        stmt = update(_LEASE_T).where(_LEASE_T.c.name == self.name)
        if not force:
            stmt = stmt.where(or_(_LEASE_T.c.owner == self.owner, _LEASE_T.c.expires_at < now))
        with self.engine.begin() as conn:
            if conn.execute(stmt.values(**values)).rowcount == 1:
                return True
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_LEASE_T).values(name=self.name, owner=self.owner, acquired_at=now,
                                                     expires_at=expires))
            return True
        except IntegrityError:
            return False

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def release(self) -> None:
        """Give the lease up so another process can take over at once."""
        if self._conn is not None:
            with contextlib.suppress(DBAPIError):
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _advisory_key(self.name)})
            self._drop_connection()
        if self.held:
            with contextlib.suppress(DBAPIError), self.engine.begin() as conn:
                conn.execute(update(_LEASE_T).where(_LEASE_T.c.name == self.name, _LEASE_T.c.owner == self.owner)
                             .values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        self.held = False


# --- running a job ---


@dataclass(frozen=True)
class JobOutcome:
    job_id: str
    ran: bool
    ok: bool | None = None
    result: str = ""
    duration_ms: int = 0


def _ensure_rows(engine: Engine, specs: list[JobSpec], now: dt.datetime) -> None:
    """Create (or update the interval and next run of) each job's row."""
    for spec in specs:
        values = {"interval_s": spec.every_s, "next_run_at": next_run_after(spec.every_s, now)}
        with engine.begin() as conn:
            if conn.execute(update(_JOBS_T).where(_JOBS_T.c.job_id == spec.job_id).values(**values)).rowcount:
                continue
        with contextlib.suppress(IntegrityError), engine.begin() as conn:
            conn.execute(insert(_JOBS_T).values(job_id=spec.job_id, last_result="", last_trigger="", last_owner="",
                                                runs=0, failures=0, **values))


def _claim_tick(engine: Engine, spec: JobSpec, tick: int, owner: str, now: dt.datetime) -> bool:
    """Win this tick of the job for this process (at most one process wins each tick)."""
    stmt = (update(_JOBS_T)
            .where(_JOBS_T.c.job_id == spec.job_id, or_(_JOBS_T.c.last_tick.is_(None), _JOBS_T.c.last_tick < tick))
            .values(last_tick=tick, last_started_at=now, last_owner=owner[:200], last_trigger="schedule"))
    with engine.begin() as conn:
        if conn.execute(stmt).rowcount == 1:
            return True
        if conn.execute(select(_JOBS_T.c.job_id).where(_JOBS_T.c.job_id == spec.job_id)).first() is not None:
            return False
    _ensure_rows(engine, [spec], now)
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def _record(engine: Engine, spec: JobSpec, *, started: dt.datetime, outcome: JobOutcome, owner: str,
            trigger: str) -> None:
    finished = utcnow()
    values = {"last_started_at": started, "last_finished_at": finished, "last_duration_ms": outcome.duration_ms,
              "last_ok": outcome.ok, "last_result": outcome.result[:1000], "last_trigger": trigger,
              "last_owner": owner[:200], "next_run_at": next_run_after(spec.every_s, finished),
              "runs": _JOBS_T.c.runs + 1, "failures": _JOBS_T.c.failures + (0 if outcome.ok else 1)}
    with engine.begin() as conn:
        conn.execute(update(_JOBS_T).where(_JOBS_T.c.job_id == spec.job_id).values(**values))


async def run_job(spec: JobSpec, *, engine: Engine | None = None, owner: str = "", trigger: str = "schedule",
                  now: dt.datetime | None = None) -> JobOutcome:
    """Run one job: a scheduled run first claims its tick (and skips when another process has it)."""
    engine = engine or get_engine()
    now = now or utcnow()
    tick = tick_of(spec.every_s, now) if trigger == "schedule" else None
    if tick is not None and not await asyncio.to_thread(_claim_tick, engine, spec, tick, owner, now):
        return JobOutcome(job_id=spec.job_id, ran=False)
    if tick is None:
        await asyncio.to_thread(_ensure_rows, engine, [spec], now)
    loop = asyncio.get_running_loop()
    started_mono = loop.time()
    try:
        result = await spec.call(JobContext(job_id=spec.job_id, trigger=trigger, tick=tick))
        ok, text_result = True, str(result) if result is not None else "ok"
    except Exception as exc:  # noqa: BLE001 - a failing job is recorded and shown, never kills the scheduler
        log.exception("scheduled job %s failed", spec.job_id)
        ok, text_result = False, f"{type(exc).__name__}: {exc}"
    outcome = JobOutcome(job_id=spec.job_id, ran=True, ok=ok, result=text_result,
                         duration_ms=round((loop.time() - started_mono) * 1000))
    await asyncio.to_thread(_record, engine, spec, started=now, outcome=outcome, owner=owner, trigger=trigger)
    return outcome


async def run_now(job_id: str, *, engine: Engine | None = None) -> JobOutcome:
    """Run a job at once in this process ("run now" in the panel)."""
    spec = get_job(job_id)
    if spec is None:
        from crystal_bay.services.errors import NotFound

        raise NotFound(f"There is no job {job_id!r}.", field="job_id")
    return await run_job(spec, engine=engine, owner=f"manual@{socket.gethostname()}:{os.getpid()}", trigger="manual")


# --- the scheduler ---


class Scheduler:
    """APScheduler in this event loop: renews the lease, fires each job on its aligned interval."""

    def __init__(self, *, engine: Engine | None = None, jobs: list[JobSpec] | None = None, use_lease: bool = True,
                 lease_ttl_s: int = LEASE_TTL_S, owner: str | None = None):
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self.engine = engine or get_engine()
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.jobs = jobs if jobs is not None else load_jobs()
        self.lease = Lease(self.engine, self.owner, ttl_s=lease_ttl_s) if use_lease else None
        self._aps = AsyncIOScheduler(timezone=dt.UTC)

    @property
    def leader(self) -> bool:
        return self.lease is None or self.lease.held

    async def _renew(self) -> None:
        if self.lease is not None:
            was = self.lease.held
            held = await asyncio.to_thread(self.lease.acquire)
            if held != was:
                log.info("scheduler %s %s the job lease", self.owner, "took" if held else "lost")

    async def _fire(self, spec: JobSpec) -> None:
        if self.leader:
            await run_job(spec, engine=self.engine, owner=self.owner)

    async def start(self) -> None:
        from apscheduler.triggers.interval import IntervalTrigger

        await asyncio.to_thread(_ensure_rows, self.engine, self.jobs, utcnow())
        await self._renew()
        if self.lease is not None:
            self._aps.add_job(self._renew, IntervalTrigger(seconds=max(1, self.lease.ttl_s // 3)), id="_lease",
                              max_instances=1, coalesce=True)
        for spec in self.jobs:
            self._aps.add_job(self._fire, IntervalTrigger(seconds=spec.every_s, start_date=EPOCH, timezone=dt.UTC),
                              args=[spec], id=spec.job_id, max_instances=1, coalesce=True,
                              misfire_grace_time=max(1, spec.every_s))
        self._aps.start()
        log.info("scheduler %s started with %d jobs (leader: %s)", self.owner, len(self.jobs), self.leader)

    async def stop(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)
        if self.lease is not None:
            await asyncio.to_thread(self.lease.release)


@contextlib.asynccontextmanager
async def lifespan() -> AsyncIterator[None]:
    """The Reflex lifespan task: run the scheduler while the backend runs; close clients at the end."""
    runner: Scheduler | None = None
    if not scheduler_enabled():
        log.info("scheduler disabled (CRYSTAL_BAY_SCHEDULER=0)")
    else:
        try:
            runner = Scheduler()
            await runner.start()
        except Exception:  # noqa: BLE001 - the app must still serve when jobs cannot start (e.g. not migrated)
            log.exception("the scheduler could not start; scheduled jobs will not run in this process")
            runner = None
    try:
        yield
    finally:
        if runner is not None:
            await runner.stop()
        from crystal_bay.integrations import openai as openai_integration

        await openai_integration.close_clients()
        from crystal_bay.integrations import samo as samo_integration

        await samo_integration.close_clients()
        from crystal_bay.integrations import sendgrid as sendgrid_integration

        await sendgrid_integration.close_clients()
        from crystal_bay.services.ai import openai_engine

        await openai_engine.close_engines()


# --- the panel ---


@dataclass(frozen=True)
class JobView:
    spec: JobSpec
    row: ScheduledJob | None


@dataclass(frozen=True)
class LeaseView:
    owner: str
    expires_at: dt.datetime | None
    live: bool


def job_views(*, session: Session) -> list[JobView]:
    """Every declared job with its last run (None when it never ran)."""
    rows = {r.job_id: r for r in session.exec(select(ScheduledJob))}
    return [JobView(spec=spec, row=rows.get(spec.job_id)) for spec in load_jobs()]


def lease_view(*, session: Session) -> LeaseView | None:
    """Who holds the job lease, and whether it is still live."""
    row = session.get(SchedulerLease, LEASE_NAME)
    if row is None:
        return None
    return LeaseView(owner=row.owner, expires_at=row.expires_at, live=row.expires_at > utcnow())
