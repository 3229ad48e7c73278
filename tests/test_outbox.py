"""The outbox on SQLite and PostgreSQL: same-transaction writes, retries with backoff on a fake clock,
permanent vs temporary errors, nothing lost in a crash, no double send when workers race."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections import Counter

import httpx
import pytest
from sqlalchemy import delete
from sqlmodel import Session, select

from crystal_bay.models import AuditEvent, OutboxJob
from crystal_bay.services import outbox
from crystal_bay.services.errors import NotFound, ValidationFailed
from tests.factories import SYSTEM

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
HALF = lambda: 0.5  # noqa: E731 - a fixed "random" makes the jitter predictable: factor 0.75


class Recorder:
    """Handlers for test kinds; records each call (thread-safe)."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.script: list[Exception | None] = []

    def note(self, kind, payload):
        with self.lock:
            self.calls.append((kind, payload))


@pytest.fixture()
def rec(engine):
    recorder = Recorder()

    @outbox.register("test.send")
    async def send(payload):
        recorder.note("test.send", payload)
        if recorder.script:
            error = recorder.script.pop(0)
            if error is not None:
                raise error

    @outbox.register("test.slow")
    async def slow(payload):
        await asyncio.sleep(0.005)
        recorder.note("test.slow", payload)

    @outbox.register("test.exactly", delivery="exactly_once")
    async def exactly(payload, ctx):
        recorder.note("test.exactly", {**payload, "key": ctx.idempotency_key, "attempt": ctx.attempt})

    _wipe(engine)
    yield recorder
    _wipe(engine)
    for kind in ("test.send", "test.slow", "test.exactly"):
        outbox.unregister(kind)


def _wipe(engine):
    with Session(engine) as s:
        s.exec(delete(OutboxJob))
        s.exec(delete(AuditEvent).where(AuditEvent.entity_type == "outbox_job"))
        s.commit()


def _enqueue(engine, key="k1", kind="test.send", **kw) -> int:
    with Session(engine) as s:
        job = outbox.enqueue(session=s, kind=kind, payload={"n": key}, idempotency_key=key, **kw)
        s.commit()
        return job.id


def _job(engine, job_id) -> OutboxJob:
    with Session(engine) as s:
        return s.get(OutboxJob, job_id)


def _run(engine, now, **kw):
    return asyncio.run(outbox.run_due(engine=engine, now=now, rand=HALF, **kw))


def test_enqueue_is_part_of_the_callers_transaction_and_idempotent(engine, rec):
    with Session(engine) as s:
        outbox.enqueue(session=s, kind="test.send", payload={"n": 1}, idempotency_key="rolled-back")
        s.rollback()
    with Session(engine) as s:
        assert s.exec(select(OutboxJob)).all() == []
    first = _enqueue(engine, "same")
    again = _enqueue(engine, "same")
    assert first == again
    with Session(engine) as s:
        assert len(s.exec(select(OutboxJob)).all()) == 1
        with pytest.raises(ValidationFailed) as info:
            outbox.enqueue(session=s, kind="test.slow", payload={}, idempotency_key="same")
        assert info.value.code == "duplicate_key"


@pytest.mark.parametrize(
    ("kind", "payload", "key"),
    [("", {}, "k"), ("test.send", {}, ""), ("test.send", {"x": object()}, "k"), ("test.send", [1], "k"),
     ("x" * 51, {}, "k"), ("test.send", {}, "k" * 201)],
)
def test_bad_jobs_are_refused_and_nothing_is_written(engine, rec, kind, payload, key):
    with Session(engine) as s:
        with pytest.raises(ValidationFailed):
            outbox.enqueue(session=s, kind=kind, payload=payload, idempotency_key=key)
        s.commit()
        assert s.exec(select(OutboxJob)).all() == []


def test_a_due_job_runs_once_and_is_done(engine, rec):
    job_id = _enqueue(engine, "a", not_before=T0)
    assert _run(engine, T0 - dt.timedelta(seconds=1)).claimed == 0
    summary = _run(engine, T0)
    assert (summary.claimed, summary.done) == (1, 1) and rec.calls == [("test.send", {"n": "a"})]
    job = _job(engine, job_id)
    assert job.status == "done" and job.attempts == 1 and job.locked_until is None
    assert _run(engine, T0 + dt.timedelta(hours=1)).claimed == 0 and len(rec.calls) == 1


def test_temporary_errors_retry_with_exponential_backoff_then_fail(engine, rec):
    job_id = _enqueue(engine, "b", not_before=T0, max_attempts=4)
    rec.script = [outbox.TemporaryError("503 from CRM")] * 4
    now, delays = T0, []
    for attempt in range(1, 5):
        summary = _run(engine, now)
        assert summary.claimed == 1, attempt
        job = _job(engine, job_id)
        assert job.attempts == attempt and job.last_error == "503 from CRM"
        if attempt < 4:
            assert job.status == "pending"
            delays.append((job.next_try_at - now).total_seconds())
            assert _run(engine, job.next_try_at - dt.timedelta(seconds=1)).claimed == 0  # not before its time
            now = job.next_try_at
    assert delays == [7.5, 15.0, 30.0]  # 10·2^(n−1) s × 0.75 jitter
    assert _job(engine, job_id).status == "failed" and len(rec.calls) == 4
    assert _run(engine, now + dt.timedelta(days=1)).claimed == 0


def test_jitter_spreads_retries_and_the_backoff_is_capped():
    assert outbox.backoff_seconds(1, rand=lambda: 0.0) == 5.0
    assert outbox.backoff_seconds(1, rand=lambda: 1.0) == 10.0
    assert outbox.backoff_seconds(30, rand=lambda: 1.0) == outbox.BACKOFF_CAP_S


def test_a_permanent_error_fails_at_once(engine, rec):
    job_id = _enqueue(engine, "c", not_before=T0)
    rec.script = [outbox.PermanentError("400: the e-mail address is invalid")]
    assert _run(engine, T0).failed == 1
    job = _job(engine, job_id)
    assert job.status == "failed" and job.attempts == 1 and "invalid" in job.last_error


def _status_error(status: int, headers: dict | None = None) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "https://crm.example.kz/rest/crm.deal.add?auth=secret")
    return httpx.HTTPStatusError("boom", request=request, response=httpx.Response(status, headers=headers,
                                                                               request=request))


def test_http_errors_are_classified_4xx_permanent_429_5xx_timeouts_temporary():
    assert isinstance(outbox.classify(_status_error(404)), outbox.PermanentError)
    assert isinstance(outbox.classify(_status_error(422)), outbox.PermanentError)
    limited = outbox.classify(_status_error(429, {"Retry-After": "30"}))
    assert isinstance(limited, outbox.TemporaryError) and limited.retry_after == 30
    assert isinstance(outbox.classify(_status_error(503)), outbox.TemporaryError)
    assert isinstance(outbox.classify(_status_error(408)), outbox.TemporaryError)
    assert isinstance(outbox.classify(httpx.ReadTimeout("slow")), outbox.TemporaryError)
    assert isinstance(outbox.classify(httpx.ConnectError("refused")), outbox.TemporaryError)
    assert "auth=secret" not in outbox.classify(_status_error(404)).message


def test_a_429_waits_as_long_as_retry_after_says(engine, rec):
    job_id = _enqueue(engine, "d", not_before=T0)
    rec.script = [_status_error(429, {"Retry-After": "120"})]
    assert _run(engine, T0).retried == 1
    job = _job(engine, job_id)
    assert job.next_try_at == T0 + dt.timedelta(seconds=120) and "HTTP 429" in job.last_error
    rec.script = [_status_error(400)]
    _run(engine, job.next_try_at)
    assert _job(engine, job_id).status == "failed"


def test_a_job_without_a_handler_fails_with_a_clear_message(engine, rec):
    job_id = _enqueue(engine, "e", kind="nobody.handles.this", not_before=T0)
    _run(engine, T0)
    job = _job(engine, job_id)
    assert job.status == "failed" and "No handler is registered for job kind 'nobody.handles.this'" in job.last_error


def test_a_crash_between_commit_and_send_loses_nothing(engine, rec):
    job_id = _enqueue(engine, "f", not_before=T0)  # committed; the process "dies" before any worker ran
    assert rec.calls == []
    assert _run(engine, T0 + dt.timedelta(minutes=5)).done == 1  # the next process picks it up
    assert _job(engine, job_id).status == "done"


def test_a_worker_dying_mid_job_leaves_it_to_another_after_the_lease(engine, rec):
    job_id = _enqueue(engine, "g", not_before=T0)
    claimed = outbox._claim(engine, T0, 10)  # claimed, then the worker dies without finishing
    assert [c.id for c in claimed] == [job_id]
    assert _run(engine, T0 + dt.timedelta(seconds=10)).claimed == 0  # still leased
    later = T0 + dt.timedelta(seconds=outbox.LEASE_S + 1)
    assert _run(engine, later).done == 1
    job = _job(engine, job_id)
    assert job.status == "done" and job.attempts == 2 and rec.calls == [("test.send", {"n": "g"})]


def test_exactly_once_kinds_get_the_idempotency_key(engine, rec):
    _enqueue(engine, "deal-42", kind="test.exactly", not_before=T0)
    _run(engine, T0)
    assert rec.calls == [("test.exactly", {"n": "deal-42", "key": "deal-42", "attempt": 1})]
    assert outbox.handler_for("test.exactly").delivery == "exactly_once"


def test_two_workers_racing_never_send_a_job_twice(engine, rec):
    ids = [_enqueue(engine, f"race-{i}", kind="test.slow", not_before=T0) for i in range(40)]
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def worker():
        try:
            start.wait()
            while asyncio.run(outbox.run_due(engine=engine, now=T0, limit=3, rand=HALF)).claimed:
                pass
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    sent = Counter(payload["n"] for _kind, payload in rec.calls)
    assert len(sent) == 40 and set(sent.values()) == {1}
    with Session(engine) as s:
        assert {j.status for j in s.exec(select(OutboxJob).where(OutboxJob.id.in_(ids)))} == {"done"}


def test_retry_now_and_discard_from_the_panel(engine, rec):
    failed_id = _enqueue(engine, "h", not_before=T0)
    other_id = _enqueue(engine, "i", not_before=T0)
    rec.script = [outbox.PermanentError("bad"), outbox.PermanentError("bad")]
    _run(engine, T0)
    with Session(engine) as s:
        assert [j.id for j in outbox.list_jobs(session=s)] == sorted([failed_id, other_id])
        assert outbox.counts(session=s) == {"failed": 2}
        outbox.retry_now(session=s, job_id=failed_id, actor=SYSTEM)
        outbox.discard(session=s, job_id=other_id, actor=SYSTEM)
        s.commit()
    assert asyncio.run(outbox.run_due(engine=engine, rand=HALF)).done == 1
    assert _job(engine, failed_id).status == "done" and _job(engine, other_id).status == "discarded"
    with Session(engine) as s:
        for action in (outbox.retry_now, outbox.discard):
            with pytest.raises(ValidationFailed):
                action(session=s, job_id=failed_id, actor=SYSTEM)
        with pytest.raises(NotFound):
            outbox.discard(session=s, job_id=10**9, actor=SYSTEM)
        actions = [e.action for e in s.exec(select(AuditEvent).where(AuditEvent.entity_type == "outbox_job"))]
        assert sorted(actions) == ["discarded", "retry_now"]


def test_a_running_job_cannot_be_discarded(engine, rec):
    job_id = _enqueue(engine, "j")
    outbox._claim(engine, outbox.utcnow(), 10)
    with Session(engine) as s:
        with pytest.raises(ValidationFailed) as info:
            outbox.discard(session=s, job_id=job_id, actor=SYSTEM)
        assert info.value.code == "job_running"


def test_an_urgent_kind_is_claimed_before_a_backlog_of_older_jobs(rec, engine):
    @outbox.register("test.urgent", urgent=True)
    async def urgent(payload):
        rec.note("test.urgent", payload)

    try:
        for i in range(5):  # a backlog (e.g. a burst of AI reads), all older than the customer's reply
            _enqueue(engine, key=f"backlog{i}", not_before=T0 - dt.timedelta(minutes=10))
        _enqueue(engine, key="reply", kind="test.urgent", not_before=T0)
        summary = asyncio.run(outbox.run_due(now=T0, limit=2, engine=engine, rand=HALF))
        assert summary.done == 2
        assert [kind for kind, _ in rec.calls] == ["test.urgent", "test.send"]
    finally:
        outbox.unregister("test.urgent")
