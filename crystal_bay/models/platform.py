"""Platform tables: integration test results, app-wide switches, scheduled jobs and the scheduler lease."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger
from sqlmodel import Field, Index, SQLModel

from crystal_bay.models._base import JSONType, utcnow


class IntegrationTestResult(SQLModel, table=True):
    """One "test connection" run of an integration (the last 20 per integration are kept)."""

    __tablename__ = "integration_test_results"
    __table_args__ = (Index("ix_integration_test_results_at", "integration", "tested_at"),)

    id: int | None = Field(default=None, primary_key=True)
    integration: str = Field(max_length=50)
    ok: bool = False
    latency_ms: int | None = None
    code: str = Field(default="", max_length=50)  # i18n key conn.<code> of the message
    params: dict = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    message: str = Field(default="", max_length=500)
    detail: str = ""
    tested_at: dt.datetime = Field(default_factory=utcnow)
    tested_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")


class PlatformSetting(SQLModel, table=True):
    """An app-wide switch set in the panel (e.g. demo mode); the environment wins over it."""

    __tablename__ = "platform_settings"

    key: str = Field(primary_key=True, max_length=100)
    value: dict = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    updated_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")


class ScheduledJob(SQLModel, table=True):
    """A scheduled job's schedule and its last run; `last_tick` makes each tick run once."""

    __tablename__ = "scheduled_jobs"

    job_id: str = Field(primary_key=True, max_length=100)
    interval_s: int
    last_tick: int | None = Field(default=None, sa_type=BigInteger)
    last_started_at: dt.datetime | None = None
    last_finished_at: dt.datetime | None = None
    last_duration_ms: int | None = None
    last_ok: bool | None = None
    last_result: str = Field(default="", max_length=1000)
    last_trigger: str = Field(default="", max_length=20)  # schedule | manual
    last_owner: str = Field(default="", max_length=200)
    next_run_at: dt.datetime | None = None
    runs: int = 0
    failures: int = 0


class SchedulerLease(SQLModel, table=True):
    """Who runs the scheduled jobs: one row per lease, held by one process until it expires."""

    __tablename__ = "scheduler_leases"

    name: str = Field(primary_key=True, max_length=50)
    owner: str = Field(max_length=200)
    acquired_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime
