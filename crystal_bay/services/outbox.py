"""The outbox: durable side effects, written in the caller's transaction and run by a worker.

A change that must reach the outside world (a CRM sync, an e-mail, a messenger send) calls
`enqueue(...)` in the same transaction as the change: both commit or neither does. The worker
(`run_due`, scheduled every 5 s) claims due jobs atomically — PostgreSQL `FOR UPDATE SKIP LOCKED`,
SQLite a conditional UPDATE — so two workers never run one job at the same time, then runs each
job's handler:

- success → `done`;
- `PermanentError` (4xx other than 408/429) → `failed` at once;
- `TemporaryError` (timeouts, connection errors, 5xx, 408, 429 + Retry-After) or any other
  exception → retried with exponential backoff and jitter, `failed` after `max_attempts`.

Failed jobs are listed in the panel with "retry now" and "discard".

Delivery, per kind (declared with `@register(kind, delivery=...)`):

- `exactly_once`: the handler passes `ctx.idempotency_key` to a remote side that deduplicates on
  it, so a retry after a crash between the remote call and marking the job done has no second effect.
- `at_least_once`: the remote side cannot deduplicate; a crash at that moment repeats the effect.

A claimed job is leased for `LEASE_S`; a worker that dies mid-job leaves it to be claimed again
after the lease (its attempt counted), which is why every kind is at least at-least-once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import inspect
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from sqlalchemy import case, literal, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from crystal_bay.db import get_engine
from crystal_bay.integrations.base import IntegrationError
from crystal_bay.jobs import scheduled
from crystal_bay.models import OutboxJob, utcnow
from crystal_bay.services import audit
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import NotFound, ValidationFailed

log = logging.getLogger(__name__)

LEASE_S = 300  # a claimed job is re-claimable after this; handlers time out before it
HANDLER_TIMEOUT_S = 240
BACKOFF_BASE_S = 10.0
BACKOFF_CAP_S = 3600.0
MAX_ERROR = 2000
Delivery = Literal["exactly_once", "at_least_once"]
_TABLE = OutboxJob.__table__  # type: ignore[attr-defined]


class PermanentError(Exception):
    """Retrying cannot help (the remote side refused the request as such)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TemporaryError(Exception):
    """Try again later; `retry_after` (seconds) when the remote side said when."""

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class JobContext:
    """What a handler may want besides the payload (the idempotency key for exactly-once kinds)."""

    job_id: int
    kind: str
    idempotency_key: str
    attempt: int


@dataclass(frozen=True)
class HandlerSpec:
    kind: str
    fn: Callable[..., Awaitable[None]]
    delivery: Delivery
    description: str
    takes_context: bool
    urgent: bool = False


_HANDLERS: dict[str, HandlerSpec] = {}


def register(kind: str, *, delivery: Delivery = "at_least_once", description: str = "", urgent: bool = False):
    """Register `async def handler(payload[, ctx]) -> None` for a kind of job. Due jobs of `urgent` kinds (a
    person is waiting: a reply to a customer) are claimed before the others (e.g. a burst of AI reads)."""

    def decorator(fn: Callable[..., Awaitable[None]]):
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"outbox handler for {kind!r} must be async")
        takes_context = len(inspect.signature(fn).parameters) >= 2
        _HANDLERS[kind] = HandlerSpec(kind=kind, fn=fn, delivery=delivery, description=description or (fn.__doc__ or ""),
                                      takes_context=takes_context, urgent=urgent)
        return fn

    return decorator


def unregister(kind: str) -> None:
    _HANDLERS.pop(kind, None)


def handler_for(kind: str) -> HandlerSpec | None:
    return _HANDLERS.get(kind)


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) in seconds, or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds()) if when.tzinfo else None


def classify(exc: BaseException) -> PermanentError | TemporaryError:
    """Turn a client's error into Permanent (4xx except 408/429) or Temporary (timeouts, 5xx, 429)."""
    if isinstance(exc, PermanentError | TemporaryError):
        return exc
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        message = f"HTTP {status} from {exc.request.method} {exc.request.url.copy_with(query=None)}"
        if status in (408, 429) or status >= 500:
            return TemporaryError(message, retry_after=retry_after_seconds(exc.response.headers.get("retry-after")))
        return PermanentError(message)
    if isinstance(exc, httpx.TimeoutException | asyncio.TimeoutError | TimeoutError):
        return TemporaryError(f"Timed out: {type(exc).__name__}")
    if isinstance(exc, httpx.TransportError | ConnectionError):
        return TemporaryError(f"Connection failed: {type(exc).__name__}: {exc}")
    if isinstance(exc, IntegrationError):
        return TemporaryError(exc.message) if exc.temporary else PermanentError(exc.message)
    return TemporaryError(f"{type(exc).__name__}: {exc}")


# --- writing jobs (in the caller's transaction) ---


def enqueue(
    *, session: Session, kind: str, payload: dict[str, Any], idempotency_key: str,
    max_attempts: int | None = None, not_before: dt.datetime | None = None,
) -> OutboxJob:
    """Add a job in the caller's transaction; the same idempotency key returns the existing job."""
    kind, key = (kind or "").strip(), (idempotency_key or "").strip()
    if not kind or len(kind) > 50:
        raise ValidationFailed("A job kind of 1–50 characters is required.", code="invalid_job", field="kind")
    if not key or len(key) > 200:
        raise ValidationFailed("An idempotency key of 1–200 characters is required.", code="invalid_job",
                               field="idempotency_key")
    if not isinstance(payload, dict):
        raise ValidationFailed("The payload must be a JSON object.", code="invalid_job", field="payload")
    try:
        json.dumps(payload)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"The payload is not JSON: {exc}", code="invalid_job", field="payload") from exc
    if max_attempts is not None and not 1 <= max_attempts <= 50:
        raise ValidationFailed("max_attempts must be 1–50.", code="invalid_job", field="max_attempts")
    existing = session.exec(select(OutboxJob).where(OutboxJob.idempotency_key == key)).first()
    if existing is None:
        job = OutboxJob(kind=kind, payload=payload, idempotency_key=key, next_try_at=not_before or utcnow())
        if max_attempts is not None:
            job.max_attempts = max_attempts
        # INSERT .. ON CONFLICT DO NOTHING: a concurrent enqueue of the same key leaves the caller's
        # transaction intact (no savepoint needed, which SQLite's driver handles badly).
        dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = (dialect_insert(_TABLE).values(**job.model_dump(exclude={"id"}))
                .on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(_TABLE.c.id))
        new_id = session.connection().execute(stmt).scalar()
        if new_id is not None:
            return session.get(OutboxJob, new_id)
        existing = session.exec(select(OutboxJob).where(OutboxJob.idempotency_key == key)).one()
    if existing.kind != kind:
        raise ValidationFailed(f"The idempotency key {key!r} is already used by a {existing.kind!r} job.",
                               code="duplicate_key", field="idempotency_key")
    return existing


# --- the worker ---


@dataclass
class Claimed:
    id: int
    kind: str
    payload: dict
    idempotency_key: str
    attempts: int
    max_attempts: int


@dataclass
class RunSummary:
    claimed: int = 0
    done: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.claimed} claimed: {self.done} done, {self.retried} to retry, {self.failed} failed"


def _due(now: dt.datetime):
    return (_TABLE.c.status == "pending", _TABLE.c.next_try_at <= now,
            or_(_TABLE.c.locked_until.is_(None), _TABLE.c.locked_until < now))


def _claim(engine: Engine, now: dt.datetime, limit: int) -> list[Claimed]:
    """Lease up to `limit` due jobs to this worker (attempts + 1); no other worker gets them."""
    until = now + dt.timedelta(seconds=LEASE_S)
    columns = (_TABLE.c.id, _TABLE.c.kind, _TABLE.c.payload, _TABLE.c.idempotency_key, _TABLE.c.attempts,
               _TABLE.c.max_attempts)
    urgent = sorted(spec.kind for spec in _HANDLERS.values() if spec.urgent)
    first = case((_TABLE.c.kind.in_(urgent), 0), else_=1) if urgent else literal(1)
    pick = select(_TABLE.c.id).where(*_due(now)).order_by(first, _TABLE.c.next_try_at, _TABLE.c.id).limit(limit)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            ids = list(conn.execute(pick.with_for_update(skip_locked=True)).scalars())
        else:  # SQLite: candidates first, then a conditional UPDATE that only matches still-due rows
            ids = list(conn.execute(pick).scalars())
            conn.commit()
        if not ids:
            conn.rollback()
            return []
        stmt = (update(_TABLE).where(_TABLE.c.id.in_(ids), *_due(now))
                .values(attempts=_TABLE.c.attempts + 1, locked_until=until, updated_at=now).returning(*columns))
        rows = conn.execute(stmt).all()
        conn.commit()
    order = {job_id: i for i, job_id in enumerate(ids)}  # RETURNING has no order: run them as picked
    return sorted((Claimed(*row) for row in rows), key=lambda job: order[job.id])


def backoff_seconds(attempt: int, *, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: base·2^(attempt−1), capped, times a random 0.5–1.0."""
    delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempt - 1))
    return delay * (0.5 + 0.5 * rand())


async def _run_handler(job: Claimed) -> PermanentError | TemporaryError | None:
    spec = _HANDLERS.get(job.kind)
    if spec is None:
        return PermanentError(f"No handler is registered for job kind {job.kind!r}.")
    args: list[Any] = [job.payload]
    if spec.takes_context:
        args.append(JobContext(job_id=job.id, kind=job.kind, idempotency_key=job.idempotency_key, attempt=job.attempts))
    try:
        await asyncio.wait_for(spec.fn(*args), timeout=HANDLER_TIMEOUT_S)
    except (PermanentError, TemporaryError) as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job, never lost
        outcome = classify(exc)
        log.warning("outbox job %s (%s) attempt %s failed: %s", job.id, job.kind, job.attempts, outcome.message)
        return outcome
    return None


def _finish(engine: Engine, job: Claimed, outcome: PermanentError | TemporaryError | None, now: dt.datetime,
            rand: Callable[[], float]) -> str:
    """Record a run's outcome; only while this worker still holds the job (attempts is the fence)."""
    values: dict[str, Any] = {"locked_until": None, "updated_at": now}
    if outcome is None:
        status = "done"
        values |= {"status": "done", "last_error": None}
    elif isinstance(outcome, PermanentError) or job.attempts >= job.max_attempts:
        status = "failed"
        values |= {"status": "failed", "last_error": outcome.message[:MAX_ERROR]}
    else:
        status = "retried"
        delay = backoff_seconds(job.attempts, rand=rand)
        if outcome.retry_after is not None:
            delay = min(BACKOFF_CAP_S, max(outcome.retry_after, 0.0))
        values |= {"last_error": outcome.message[:MAX_ERROR], "next_try_at": now + dt.timedelta(seconds=delay)}
    stmt = update(_TABLE).where(_TABLE.c.id == job.id, _TABLE.c.attempts == job.attempts,
                                _TABLE.c.status == "pending").values(**values)
    with engine.begin() as conn:
        if conn.execute(stmt).rowcount != 1:
            log.warning("outbox job %s was taken over or discarded while running; result dropped", job.id)
            return "lost"
    return status


async def run_due(
    *, now: dt.datetime | None = None, limit: int = 20, engine: Engine | None = None,
    rand: Callable[[], float] = random.random,
) -> RunSummary:
    """One worker step: claim due jobs, run them, record the outcomes. `now`/`rand` are injectable."""
    engine = engine or get_engine()
    claimed = await asyncio.to_thread(_claim, engine, now or utcnow(), limit)
    summary = RunSummary(claimed=len(claimed))
    for job in claimed:
        outcome = await _run_handler(job)
        status = await asyncio.to_thread(_finish, engine, job, outcome, now or utcnow(), rand)
        if status == "done":
            summary.done += 1
        elif status == "retried":
            summary.retried += 1
        elif status == "failed":
            summary.failed += 1
        if outcome is not None:
            summary.errors.append(f"#{job.id} {job.kind}: {outcome.message}")
    return summary


@scheduled("outbox.worker", every=5, title=("Отправка очереди (outbox)", "Outbox worker"))
async def outbox_worker() -> str:
    """Run the due outbox jobs: batches of 20 until none is due or about 4 s have passed (the next run is 5 s on)."""
    loop = asyncio.get_running_loop()
    started, total = loop.time(), RunSummary()
    while True:
        step = await run_due()
        total.claimed, total.done = total.claimed + step.claimed, total.done + step.done
        total.retried, total.failed = total.retried + step.retried, total.failed + step.failed
        if step.claimed < 20 or loop.time() - started > 4:
            return str(total)


# --- the panel ---


def _get(session: Session, job_id: int) -> OutboxJob:
    job = session.get(OutboxJob, job_id)
    if job is None:
        raise NotFound(f"Outbox job {job_id} does not exist.", field="job_id")
    return job


def _refuse_running(job: OutboxJob) -> None:
    if job.status not in ("pending", "failed"):
        raise ValidationFailed(f"The job is already {job.status}.", code="job_finished", field="job_id")
    if job.status == "pending" and job.locked_until is not None and job.locked_until > utcnow():
        raise ValidationFailed("The job is running right now; try again in a moment.", code="job_running",
                               field="job_id")


def retry_now(*, session: Session, job_id: int, actor: Actor) -> OutboxJob:
    """Make a failed (or waiting) job due now, with a fresh budget of attempts."""
    job = _get(session, job_id)
    _refuse_running(job)
    previous = job.status
    job.status, job.attempts, job.next_try_at, job.locked_until = "pending", 0, utcnow(), None
    job.updated_at = utcnow()
    session.add(job)
    audit.record(session=session, actor=actor, entity_type="outbox_job", entity_id=job.id, action="retry_now",
                 data={"kind": job.kind, "from_status": previous})
    return job


def discard(*, session: Session, job_id: int, actor: Actor) -> OutboxJob:
    """Give up on a failed or waiting job; it will never run."""
    job = _get(session, job_id)
    _refuse_running(job)
    previous = job.status
    job.status, job.locked_until, job.updated_at = "discarded", None, utcnow()
    session.add(job)
    audit.record(session=session, actor=actor, entity_type="outbox_job", entity_id=job.id, action="discarded",
                 data={"kind": job.kind, "from_status": previous, "last_error": job.last_error})
    return job


def list_jobs(*, session: Session, statuses: tuple[str, ...] = ("failed", "pending"), limit: int = 100) -> list[OutboxJob]:
    """Jobs in these statuses, failed first, then by when they are due."""
    stmt = (select(OutboxJob).where(col(OutboxJob.status).in_(statuses))
            .order_by(col(OutboxJob.status), col(OutboxJob.next_try_at), col(OutboxJob.id)).limit(limit))
    return list(session.exec(stmt))


def counts(*, session: Session) -> dict[str, int]:
    """How many jobs are in each status."""
    rows = session.exec(select(OutboxJob.status, func.count()).group_by(OutboxJob.status))
    return {status: n for status, n in rows}
