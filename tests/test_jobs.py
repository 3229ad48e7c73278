"""The scheduler: aligned ticks, the leader lease (row and PostgreSQL advisory lock), run records,
"run now", and two OS processes against one PostgreSQL database running each tick once."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import delete, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from crystal_bay import jobs, migrations
from crystal_bay.db import make_engine
from crystal_bay.models import ScheduledJob, SchedulerLease
from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[1]
T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
LOCK_DB = "crystal_bay_lock_test"


@pytest.fixture()
def clean(engine):
    def wipe():
        with Session(engine) as s:
            s.exec(delete(ScheduledJob))
            s.exec(delete(SchedulerLease))
            s.commit()

    wipe()
    yield engine
    wipe()


def _spec(job_id="test.job", every=5, fn=None):
    async def ok():
        return "3 things done"

    return jobs.JobSpec(job_id=job_id, every_s=every, fn=fn or ok, title_ru="Тест", title_en="Test")


def test_ticks_are_aligned_so_every_process_computes_the_same_one():
    assert jobs.tick_of(5, T0) == jobs.tick_of(5, T0 + dt.timedelta(seconds=1))  # fired a little late
    assert jobs.tick_of(5, T0 - dt.timedelta(milliseconds=200)) == jobs.tick_of(5, T0)  # or a little early
    assert jobs.tick_of(5, T0 + dt.timedelta(seconds=5)) == jobs.tick_of(5, T0) + 1
    assert jobs.next_run_after(60, T0 + dt.timedelta(seconds=1)) == T0 + dt.timedelta(seconds=60)


def test_the_outbox_worker_and_reminders_are_declared():
    declared = {s.job_id: s.every_s for s in jobs.load_jobs()}
    assert declared["outbox.worker"] == 5 and declared["reminders.due"] == 60


def test_a_lease_row_is_held_by_one_owner_until_it_expires(clean):
    a, b = jobs.Lease(clean, "a", ttl_s=30), jobs.Lease(clean, "b", ttl_s=30)
    a._advisory = b._advisory = False  # the row alone (SQLite; PostgreSQL behind a transaction pooler)
    assert a.acquire(T0) and not b.acquire(T0 + dt.timedelta(seconds=10))
    assert a.acquire(T0 + dt.timedelta(seconds=20))  # renewed until T0+50
    assert not b.acquire(T0 + dt.timedelta(seconds=45))
    assert b.acquire(T0 + dt.timedelta(seconds=51)) and not a.acquire(T0 + dt.timedelta(seconds=52))
    b.release()
    assert a.acquire()


def test_on_postgresql_the_advisory_lock_decides_and_frees_at_once(clean):
    a, b = jobs.Lease(clean, "a", ttl_s=30), jobs.Lease(clean, "b", ttl_s=30)
    if clean.dialect.name != "postgresql":
        assert not a._advisory  # SQLite: the lease row (previous test)
        return
    try:
        assert a.acquire() and not b.acquire()
        assert not b.acquire(jobs.utcnow() + dt.timedelta(hours=1))  # an expired row does not matter
        with Session(clean) as s:
            assert s.get(SchedulerLease, jobs.LEASE_NAME).owner == "a"
        a._conn.invalidate()  # the leader's connection dies (process crash): the lock goes with it
        a._conn = None
        a.held = False
        assert b.acquire()
        with Session(clean) as s:
            assert s.get(SchedulerLease, jobs.LEASE_NAME).owner == "b"
    finally:
        a.release()
        b.release()


def test_a_run_is_recorded_for_the_panel(clean):
    spec = _spec()
    outcome = asyncio.run(jobs.run_job(spec, engine=clean, owner="me", trigger="manual", now=T0))
    assert outcome.ran and outcome.ok and outcome.result == "3 things done"
    with Session(clean) as s:
        row = s.get(ScheduledJob, "test.job")
    assert (row.last_ok, row.last_result, row.last_trigger, row.runs, row.failures) == (True, "3 things done",
                                                                                         "manual", 1, 0)
    assert row.last_duration_ms >= 0 and row.interval_s == 5 and row.next_run_at > row.last_finished_at


def test_a_failing_job_is_recorded_and_does_not_raise(clean):
    async def boom():
        raise RuntimeError("SAMO answered 502")

    outcome = asyncio.run(jobs.run_job(_spec(fn=boom), engine=clean, owner="me", now=T0))
    assert outcome.ran and outcome.ok is False and "SAMO answered 502" in outcome.result
    with Session(clean) as s:
        row = s.get(ScheduledJob, "test.job")
    assert row.last_ok is False and row.failures == 1


def test_each_tick_runs_once_even_when_two_schedulers_fire_it(clean):
    calls = []

    async def count():
        calls.append(1)

    spec = _spec(fn=count)
    first = asyncio.run(jobs.run_job(spec, engine=clean, owner="a", now=T0))
    second = asyncio.run(jobs.run_job(spec, engine=clean, owner="b", now=T0 + dt.timedelta(seconds=1)))
    third = asyncio.run(jobs.run_job(spec, engine=clean, owner="b", now=T0 + dt.timedelta(seconds=5)))
    assert (first.ran, second.ran, third.ran) == (True, False, True) and len(calls) == 2


def test_run_now_runs_a_declared_job_and_refuses_unknown_ones(clean, monkeypatch):
    from crystal_bay.services.errors import NotFound

    spec = _spec("test.manual")
    monkeypatch.setitem(jobs._JOBS, "test.manual", spec)
    assert asyncio.run(jobs.run_now("test.manual", engine=clean)).ok
    with pytest.raises(NotFound):
        asyncio.run(jobs.run_now("no.such.job", engine=clean))


def test_the_scheduler_runs_jobs_on_their_interval_and_stops(clean):
    ticks = []

    async def job(ctx):
        ticks.append(ctx.tick)

    async def run():
        scheduler = jobs.Scheduler(engine=clean, jobs=[_spec("test.fast", every=1, fn=job)], lease_ttl_s=3,
                                   owner="inproc")
        await scheduler.start()
        assert scheduler.leader
        await asyncio.sleep(2.6)
        await scheduler.stop()

    asyncio.run(run())
    assert len(ticks) >= 2 and len(set(ticks)) == len(ticks)
    with Session(clean) as s:
        lease = s.get(SchedulerLease, jobs.LEASE_NAME)
        assert lease.expires_at < jobs.utcnow()  # released on stop


def test_the_lifespan_does_nothing_when_the_scheduler_is_disabled(monkeypatch):
    monkeypatch.setenv("CRYSTAL_BAY_SCHEDULER", "0")
    started = []
    monkeypatch.setattr(jobs.Scheduler, "start", lambda self: started.append(self))

    async def run():
        async with jobs.lifespan():
            pass

    asyncio.run(run())
    assert started == [] and not jobs.scheduler_enabled()


@pytest.fixture()
def lock_db():
    """A PostgreSQL database of its own (created and dropped here), so nothing collides with the suite."""
    admin = make_engine(str(make_url(PG_URL).set(database="postgres")))
    url = str(make_url(PG_URL).set(database=LOCK_DB).render_as_string(hide_password=False))

    def drop():
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{LOCK_DB}" WITH (FORCE)'))

    drop()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{LOCK_DB}"'))
    migrations.upgrade(url)
    yield url
    drop()
    admin.dispose()


def test_two_processes_on_one_postgresql_run_each_tick_once(lock_db, tmp_path):
    out = tmp_path / "ticks.txt"
    seconds, start_at = 6, time.time() + 4
    env = {**os.environ, "CRYSTAL_BAY_DEMO": "1", "PYTHONUNBUFFERED": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.lock_worker", lock_db, str(out), str(start_at),
                               str(seconds)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for _ in range(2)]
    try:
        outputs = [p.communicate(timeout=60)[0].decode(errors="replace") for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], outputs
    lines = [line.split() for line in out.read_text().splitlines()]
    for job_id in ("lock.lease", "lock.race"):
        ticks = [int(tick) for name, tick, _pid in lines if name == job_id]
        assert len(ticks) >= seconds - 2, (job_id, ticks)
        assert max(Counter(ticks).values()) == 1, (job_id, sorted(ticks))  # no tick ran twice
    leaders = {pid for name, _tick, pid in lines if name == "lock.lease"}
    assert len(leaders) == 1  # only the lease holder ran the leased job
    engine = make_engine(lock_db)
    with Session(engine) as s:
        runs = {r.job_id: r.runs for r in s.exec(select(ScheduledJob))}
    engine.dispose()
    assert runs == {"lock.lease": sum(1 for n, *_ in lines if n == "lock.lease"),
                    "lock.race": sum(1 for n, *_ in lines if n == "lock.race")}
