"""The admin panel "Настройки и интеграции": the page state, its tabs, the integration cards and demo mode.

Users, API keys and the pipeline live in `settings_admin.py`; the outbox and jobs in
`settings_ops.py`. Every handler is `@requires("admin")` except the page load `check`, which shows
managers the "no access" panel. Cards are built from the integrations registry and each schema
(`build_cards`), so a new integration needs no UI code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import reflex as rx

from crystal_bay import i18n
from crystal_bay.db import session_scope
from crystal_bay.integrations.base import schema_fields
from crystal_bay.models import Role, utcnow
from crystal_bay.services import integrations as integration_service
from crystal_bay.services.ai import usage as ai_usage
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import DomainError
from crystal_bay.settings import get_settings
from crystal_bay.state.base import AppState
from crystal_bay.state.guard import requires

TABS = ("integrations", "users", "api_keys", "pipeline", "outbox", "jobs")
USAGE_DAYS = 14
_INPUT_TYPES = {"secret": "password", "url": "url", "number": "text", "integer": "text"}


@dataclasses.dataclass
class FieldRow:
    name: str
    title_ru: str
    title_en: str
    help_ru: str
    help_en: str
    kind: str  # text | secret | url | number | integer | bool | select
    input_type: str
    value: str  # the current value of a plain field ('' for secrets: they are never sent to the browser)
    masked: str  # a secret as '••••1234'
    checked: bool
    choices: list[str]
    source: str  # env | database | default | unset
    env_var: str
    locked: bool  # set in the environment: read-only here
    required: bool
    stored_secret: bool  # a secret stored in the database (can be removed)
    error: str


@dataclasses.dataclass
class ResultRow:
    ok: bool
    latency: str
    message: str
    detail: str
    at: str


@dataclasses.dataclass
class CardRow:
    slug: str
    title_ru: str
    title_en: str
    description_ru: str
    description_en: str
    coming_soon: bool
    configured: bool
    problem: str
    fields: list[FieldRow]
    has_result: bool
    last: ResultRow
    last_success: str
    history: list[ResultRow]


@dataclasses.dataclass
class UsageRow:
    """One day of OpenAI usage on the OpenAI card (or the total of the period)."""

    day: str
    requests: str
    failures: str  # "" when every call answered
    tokens: str
    cost: str
    latency: str
    engine: str


def _usd(amount: Decimal) -> str:
    return f"${amount:.4f}" if amount < 1 else f"${amount:,.2f}".replace(",", " ")


def usage_rows(days: list[ai_usage.UsageSummary], lang: str) -> list[UsageRow]:
    """The days newest first, then the period's total (avg latency weighted by requests); [] with no usage."""
    if not days:
        return []

    def row(label: str, calls: int, failures: int, tokens: int, cost: Decimal, latency: int, models) -> UsageRow:
        return UsageRow(day=label, requests=f"{calls:,}".replace(",", " "),
                        failures=i18n.tr(lang, "ai.usage.failures", n=failures) if failures else "",
                        tokens=f"{tokens:,}".replace(",", " "), cost=_usd(cost), latency=f"{latency} ms",
                        engine=", ".join(sorted(models)))

    rows = [row(f"{d.day:%d.%m}", d.calls, d.failures, d.prompt_tokens + d.completion_tokens, d.cost_usd,
                d.avg_latency_ms, d.models) for d in reversed(days)]
    calls = sum(d.calls for d in days)
    rows.append(row(i18n.tr(lang, "ai.usage.total"), calls, sum(d.failures for d in days),
                    sum(d.prompt_tokens + d.completion_tokens for d in days),
                    sum((d.cost_usd for d in days), Decimal(0)),
                    round(sum(d.avg_latency_ms * d.calls for d in days) / calls) if calls else 0,
                    {m for d in days for m in d.models}))
    return rows


def localized(lang: str, prefix: str, code: str, params: dict[str, Any], fallback: str) -> str:
    """The translation `prefix.code` filled with params, or the service's English text."""
    key = f"{prefix}.{code}"
    if not code or key not in i18n.strings(lang):
        return fallback
    try:
        return i18n.tr(lang, key, **params)
    except (KeyError, IndexError, ValueError):
        return fallback


def _result_row(view: integration_service.TestView, lang: str, tz: str) -> ResultRow:
    return ResultRow(ok=view.ok, latency="" if view.latency_ms is None else f"{view.latency_ms} ms",
                     message=localized(lang, "conn", view.code, view.params, view.message), detail=view.detail,
                     at=i18n.format_datetime(view.tested_at, tz))


def _field_row(view: integration_service.FieldView, error: str) -> FieldRow:
    f = view.field
    secret = f.secret
    value = "" if secret else view.display
    return FieldRow(
        name=f.name, title_ru=f.title_ru, title_en=f.title_en, help_ru=f.help_ru, help_en=f.help_en, kind=f.kind,
        input_type=_INPUT_TYPES.get(f.kind, "text"), value=value, masked=view.display if secret else "",
        checked=value.lower() == "true", choices=list(f.choices), source=view.source, env_var=f.env_var,
        locked=view.source == "env", required=f.required, stored_secret=secret and view.source == "database",
        error=error,
    )


def build_cards(views: list[integration_service.IntegrationView], *, lang: str, tz: str,
                errors: dict[str, dict[str, str]] | None = None) -> list[CardRow]:
    """The panel's cards from the service views: one per registry entry, fields from its schema."""
    errors = errors or {}
    empty = ResultRow(ok=False, latency="", message="", detail="", at="")
    cards = []
    for view in views:
        spec, history = view.spec, [_result_row(h, lang, tz) for h in view.history]
        cards.append(CardRow(
            slug=spec.slug, title_ru=spec.title_ru, title_en=spec.title_en, description_ru=spec.description_ru,
            description_en=spec.description_en, coming_soon=spec.coming_soon, configured=view.configured,
            problem=view.problem, fields=[_field_row(f, errors.get(spec.slug, {}).get(f.field.name, ""))
                                          for f in view.fields],
            has_result=bool(history), last=history[0] if history else empty,
            last_success=i18n.format_datetime(view.last_success_at, tz) if view.last_success_at else "",
            history=history,
        ))
    return cards


class SettingsState(AppState):
    """The page: which tab is open; each tab's state is a substate loaded when the tab opens."""

    tab: str = "integrations"

    def _actor(self) -> Actor:
        return Actor(type="user", id=self.user_id, label=self.user_name)

    def _error_text(self, exc: DomainError) -> str:
        """A refusal in the user's language: by its code, else by its field, else the service's message."""
        if exc.code != "invalid" and f"error.{exc.code}" in i18n.strings(self.lang):
            return i18n.tr(self.lang, f"error.{exc.code}")
        return localized(self.lang, "settings.field_error", exc.field or "", {}, exc.message)

    def _tab_loader(self):
        from crystal_bay.state.settings_admin import ApiKeysState, PipelineAdminState, UsersAdminState
        from crystal_bay.state.settings_ops import JobsAdminState, OutboxAdminState

        return {"integrations": IntegrationsState.load, "users": UsersAdminState.load, "api_keys": ApiKeysState.load,
                "pipeline": PipelineAdminState.load, "outbox": OutboxAdminState.load,
                "jobs": JobsAdminState.load}[self.tab]

    @requires()
    def check(self):
        """Page load: a manager sees 'no access' instead of the page; an admin gets it loaded."""
        if self.user_role != Role.admin.value:
            self.access = "forbidden"
            return None
        return SettingsState.load

    @requires(Role.admin.value)
    def load(self):
        """Admin page load: open the current tab."""
        self.access = "ok"
        return self._tab_loader()

    @requires(Role.admin.value)
    def set_tab(self, tab: str):
        """Switch tabs and load the one opened."""
        if tab not in TABS:
            return None
        self.tab = tab
        return self._tab_loader()


class IntegrationsState(SettingsState):
    """Integration cards (from the registry), saving, live connection tests, demo mode."""

    cards: list[CardRow] = []
    testing: list[str] = []
    errors: dict[str, dict[str, str]] = {}
    form_key: int = 0
    demo_enabled: bool = False
    demo_source: str = ""
    secret_key_set: bool = True
    ai_usage: list[UsageRow] = []  # the OpenAI card: the last USAGE_DAYS days, newest first, then the total

    @rx.var
    def built_cards(self) -> list[CardRow]:
        return [c for c in self.cards if not c.coming_soon]

    @rx.var
    def soon_cards(self) -> list[CardRow]:
        return [c for c in self.cards if c.coming_soon]

    def _reload(self) -> None:
        with session_scope() as session:
            views = integration_service.list_integrations(session=session)
            demo = integration_service.demo_mode(session=session)
            since = utcnow().date() - dt.timedelta(days=USAGE_DAYS - 1)
            usage = ai_usage.usage_by_day(session=session, since=since)
        self.ai_usage = usage_rows(usage, self.lang)
        self.cards = build_cards(views, lang=self.lang, tz=get_settings().timezone, errors=self.errors)
        self.demo_enabled, self.demo_source, self.secret_key_set = demo.enabled, demo.source, demo.secret_key_set
        self.demo_mode = demo.enabled
        self.form_key += 1  # re-mount the forms so their default values show what was saved

    @requires(Role.admin.value)
    def load(self):
        """Load the cards and the demo switch."""
        self.errors = {}
        self._reload()

    @requires(Role.admin.value)
    def save(self, form_data: dict):
        """Validate and store one card's settings; field errors show under the fields."""
        slug = str(form_data.get("slug", ""))
        try:
            spec = integration_service.get_spec(slug)
            card = next((c for c in self.cards if c.slug == slug), None)
            locked = {f.name for f in card.fields if f.locked} if card else set()
            values: dict[str, Any] = {}
            for f in schema_fields(spec.schema) if spec.schema else []:
                if f.name in locked:  # set in the environment: the input is disabled, nothing to save
                    continue
                if f.kind == "bool":  # an unticked checkbox is simply absent from the form
                    values[f.name] = "true" if form_data.get(f.name) in ("on", "true", True) else "false"
                elif f.name in form_data:
                    values[f.name] = form_data[f.name]
            with session_scope() as session:
                integration_service.save_settings(session=session, slug=slug, values=values, actor=self._actor())
        except integration_service.SettingsInvalid as exc:
            self.errors = {**self.errors, slug: {
                name: localized(self.lang, "settings.err", code, params, exc.errors[name])
                for name, (code, params) in exc.codes.items()}}
            self._reload()
            return rx.toast.error(i18n.tr(self.lang, "settings.save_failed"))
        except DomainError as exc:
            return rx.toast.error(self._error_text(exc))
        self.errors = {k: v for k, v in self.errors.items() if k != slug}
        self._reload()
        return rx.toast.success(i18n.tr(self.lang, "settings.saved"))

    @requires(Role.admin.value)
    def clear_secret(self, slug: str, name: str):
        """Remove a secret stored in the database (the integration then needs a new one)."""
        try:
            with session_scope() as session:
                integration_service.save_settings(session=session, slug=slug, values={}, clear=[name],
                                                  actor=self._actor())
        except DomainError as exc:
            return rx.toast.error(self._error_text(exc))
        self._reload()
        return rx.toast.success(i18n.tr(self.lang, "settings.secret_removed"))

    @rx.event(background=True)
    @requires(Role.admin.value)
    async def test_connection(self, slug: str):
        """Run the card's live connection test in the background (a spinner shows meanwhile)."""
        async with self:
            if slug in self.testing:
                return None
            self.testing = [*self.testing, slug]
            actor, lang = self._actor(), self.lang
        try:
            with session_scope() as session:
                result = await integration_service.run_test(session=session, slug=slug, actor=actor)
        except DomainError as exc:
            async with self:
                self.testing = [s for s in self.testing if s != slug]
                return rx.toast.error(self._error_text(exc))
        async with self:
            self.testing = [s for s in self.testing if s != slug]
            self._reload()
        if result.ok:
            return rx.toast.success(i18n.tr(lang, "settings.test_ok", ms=result.latency_ms))
        return rx.toast.error(i18n.tr(lang, "settings.test_failed"))

    @requires(Role.admin.value)
    def set_demo(self, enabled: bool):
        """Turn demo mode on or off (refused when the environment sets it)."""
        try:
            with session_scope() as session:
                integration_service.set_demo_mode(session=session, enabled=bool(enabled), actor=self._actor())
        except DomainError as exc:
            return rx.toast.error(self._error_text(exc))
        self._reload()
        return rx.toast.success(i18n.tr(self.lang, "settings.demo_on" if enabled else "settings.demo_off"))
