"""Settings panel tabs for operations: the outbox (failed/pending jobs) and the scheduled jobs (admins only)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import reflex as rx

from crystal_bay import i18n, jobs
from crystal_bay.db import session_scope
from crystal_bay.models import Role
from crystal_bay.services import outbox
from crystal_bay.services.errors import DomainError
from crystal_bay.settings import get_settings
from crystal_bay.state.guard import requires
from crystal_bay.state.settings import SettingsState

ADMIN = Role.admin.value


@dataclasses.dataclass
class OutboxRow:
    job_id: int
    kind: str
    status: str
    attempts: str
    next_try: str
    last_error: str
    delivery: str
    key: str


@dataclasses.dataclass
class JobRow:
    job_id: str
    title_ru: str
    title_en: str
    every: str
    status: str  # ok | failed | never
    last_run: str
    duration: str
    result: str
    next_run: str
    runs: int
    failures: int
    trigger: str


def _when(value: dt.datetime | None, tz: str) -> str:
    """A job's run time to the second, in the agency's time zone."""
    return "—" if value is None else value.astimezone(ZoneInfo(tz)).strftime("%d.%m.%Y %H:%M:%S")


def _every(lang: str, seconds: int) -> str:
    if seconds % 3600 == 0:
        return i18n.tr(lang, "settings.every_h", n=seconds // 3600)
    if seconds % 60 == 0:
        return i18n.tr(lang, "settings.every_min", n=seconds // 60)
    return i18n.tr(lang, "settings.every_s", n=seconds)


class OutboxAdminState(SettingsState):
    """Jobs waiting or failed in the outbox, with "retry now" and "discard"."""

    rows: list[OutboxRow] = []
    counts: dict[str, int] = {}

    def _reload(self) -> None:
        tz = get_settings().timezone
        with session_scope() as session:
            items = outbox.list_jobs(session=session)
            self.counts = outbox.counts(session=session)
        self.rows = []
        for job in items:
            spec = outbox.handler_for(job.kind)
            self.rows.append(OutboxRow(
                job_id=job.id, kind=job.kind, status=job.status, attempts=f"{job.attempts}/{job.max_attempts}",
                next_try=i18n.format_datetime(job.next_try_at, tz) if job.status == "pending" else "—",
                last_error=job.last_error or "", delivery=spec.delivery if spec else "",
                key=job.idempotency_key))

    @requires(ADMIN)
    def load(self):
        """Load the failed and pending jobs."""
        self._reload()

    def _act(self, action, job_id: int, ok_key: str):
        try:
            with session_scope() as session:
                action(session=session, job_id=int(job_id), actor=self._actor())
        except DomainError as exc:
            return rx.toast.error(self._error_text(exc))
        self._reload()
        return rx.toast.success(i18n.tr(self.lang, ok_key))

    @requires(ADMIN)
    def retry(self, job_id: int):
        """Make a job due now with a fresh budget of attempts."""
        return self._act(outbox.retry_now, job_id, "settings.outbox_retried")

    @requires(ADMIN)
    def discard(self, job_id: int):
        """Give up on a job."""
        return self._act(outbox.discard, job_id, "settings.outbox_discarded")


class JobsAdminState(SettingsState):
    """Scheduled jobs: schedule, last run, duration, result, next run, and "run now"."""

    rows: list[JobRow] = []
    running: list[str] = []
    scheduler_enabled: bool = True
    lease_owner: str = ""
    lease_until: str = ""
    lease_live: bool = False

    def _reload(self) -> None:
        tz = get_settings().timezone
        with session_scope() as session:
            views = jobs.job_views(session=session)
            lease = jobs.lease_view(session=session)
        self.scheduler_enabled = jobs.scheduler_enabled()
        self.lease_owner = lease.owner if lease else ""
        self.lease_until = i18n.format_datetime(lease.expires_at, tz) if lease else ""
        self.lease_live = bool(lease and lease.live)
        rows = []
        for view in views:
            row, spec = view.row, view.spec
            never = row is None or row.last_finished_at is None
            rows.append(JobRow(
                job_id=spec.job_id, title_ru=spec.title_ru, title_en=spec.title_en, every=_every(self.lang, spec.every_s),
                status="never" if never else ("ok" if row.last_ok else "failed"),
                last_run="—" if never else _when(row.last_started_at, tz),
                duration="" if never else f"{row.last_duration_ms} ms", result="" if never else row.last_result,
                next_run=_when(row.next_run_at, tz) if row and self.lease_live else "—",
                runs=row.runs if row else 0, failures=row.failures if row else 0,
                trigger=row.last_trigger if row else ""))
        self.rows = rows

    @requires(ADMIN)
    def load(self):
        """Load the jobs and who runs them."""
        self._reload()

    @rx.event(background=True)
    @requires(ADMIN)
    async def run_now(self, job_id: str):
        """Run a job at once in this process, in the background."""
        async with self:
            if job_id in self.running:
                return None
            self.running = [*self.running, job_id]
            lang = self.lang
        try:
            outcome = await jobs.run_now(job_id)
        except DomainError as exc:
            async with self:
                self.running = [j for j in self.running if j != job_id]
                return rx.toast.error(self._error_text(exc))
        async with self:
            self.running = [j for j in self.running if j != job_id]
            self._reload()
        if outcome.ok:
            return rx.toast.success(i18n.tr(lang, "settings.job_done", ms=outcome.duration_ms))
        return rx.toast.error(i18n.tr(lang, "settings.job_failed"))
