"""The settings panel's state, driven as the page drives it: cards come from the registry, secrets never
reach the browser's state, saving validates, tests run in the background, the admin tabs work."""

from __future__ import annotations

import json
import logging
import re

import pytest
from sqlalchemy import delete
from sqlmodel import select

import crystal_bay.crystal_bay  # noqa: F401  (registers every page and state)
from crystal_bay.db import session_scope
from crystal_bay.integrations import registry
from crystal_bay.models import ApiKey, IntegrationSetting, IntegrationTestResult, OutboxJob, User
from crystal_bay.sandbox.openai import create_app as openai_sandbox
from crystal_bay.services import outbox, users
from crystal_bay.state.settings import IntegrationsState, SettingsState, build_cards
from crystal_bay.state.settings_admin import ApiKeysState, UsersAdminState
from crystal_bay.state.settings_ops import JobsAdminState, OutboxAdminState
from tests.factories import SYSTEM
from tests.servers import serve
from tests.state_support import call_handler, state_instance
from tests.test_integrations import FAKE_SPEC

KEY = "sk-test.0000000000000000000000007777"


_instance, _call = state_instance, call_handler



_seq = iter(range(1, 10**6))


def _login(cls, role="admin"):
    n = next(_seq)
    with session_scope() as session:
        user = users.create_user(session=session, email=f"st-{role}-{n}@crystalbay.kz", name=f"{role} {n}", role=role,
                                 password="state-password", actor=SYSTEM)
        token = users.authenticate(session=session, email=user.email, password="state-password", client_ip="t").token
    state = _instance(cls)
    state.auth_token = token
    return state


@pytest.fixture()
def clean_settings(app_db, settings_env):
    settings_env(OPENAI_API_KEY=None, OPENAI_BASE_URL=None, OPENAI_MODEL=None)

    def wipe():
        with session_scope() as session:
            session.exec(delete(IntegrationSetting))
            session.exec(delete(IntegrationTestResult))

    wipe()
    yield
    wipe()


def _card(state, slug):
    return next(c for c in state.cards if c.slug == slug)


def _field(card, name):
    return next(f for f in card.fields if f.name == name)


def test_the_cards_are_derived_from_the_registry_including_a_new_schema(clean_settings):
    with session_scope() as session:
        from crystal_bay.services import integrations

        plain = build_cards(integrations.list_integrations(session=session), lang="ru", tz="Asia/Almaty")
        assert "fakecrm" not in [c.slug for c in plain]
        with registry.registered(FAKE_SPEC):
            cards = build_cards(integrations.list_integrations(session=session), lang="en", tz="Asia/Almaty")
    card = next(c for c in cards if c.slug == "fakecrm")
    assert not card.coming_soon and card.title_en == "Test CRM"
    assert [(f.name, f.kind, f.input_type) for f in card.fields] == [
        ("endpoint", "url", "url"), ("token", "secret", "password"), ("region", "select", "text"),
        ("retries", "integer", "text"), ("sandbox", "bool", "text")]
    assert _field(card, "region").choices == ["kz", "ru"] and _field(card, "retries").value == "3"
    assert _field(card, "endpoint").help_ru == "Адрес CRM" and _field(card, "endpoint").required
    state = _login(IntegrationsState)
    with registry.registered(FAKE_SPEC):
        _call(state, "load")
        built = [s.slug for s in registry.all_specs() if s.schema is not None]
        assert [c.slug for c in state.built_cards] == built and built[-1] == "fakecrm" and "openai" in built
        assert [c.slug for c in state.soon_cards] == [s.slug for s in registry.all_specs() if s.schema is None]


def test_a_saved_secret_is_only_in_the_state_masked(clean_settings, caplog):
    caplog.set_level(logging.DEBUG)
    state = _login(IntegrationsState)
    _call(state, "load")
    events = _call(state, "save", {"slug": "openai", "api_key": KEY, "base_url": "", "model": "gpt-4o-mini",
                                   "timeout_s": "20"})
    assert "success" in str(events)
    key = _field(_card(state, "openai"), "api_key")
    assert key.masked == "••••7777" and key.value == "" and key.source == "database" and key.stored_secret
    card = _card(state, "openai")
    assert (_field(card, "timeout_s").value, _field(card, "timeout_s").source) == ("20", "database")
    assert (_field(card, "model").value, _field(card, "model").source) == ("gpt-4o-mini", "default")  # not stored
    serialized = json.dumps(state.dict(), default=str)
    assert KEY not in serialized and KEY[:-4] not in serialized
    assert KEY not in caplog.text


def test_an_empty_secret_box_keeps_the_key_and_bad_values_show_under_their_field(clean_settings):
    state = _login(IntegrationsState)
    _call(state, "load")
    _call(state, "save", {"slug": "openai", "api_key": KEY})
    events = _call(state, "save", {"slug": "openai", "api_key": "", "base_url": "ftp://x", "timeout_s": "0"})
    assert "error" in str(events)
    card = _card(state, "openai")
    assert _field(card, "base_url").error == "Адрес должен начинаться с http:// или https://."
    assert _field(card, "timeout_s").error == "Не меньше 1."
    assert _field(card, "api_key").masked == "••••7777"
    with session_scope() as session:
        keys = {r.key for r in session.exec(select(IntegrationSetting))}
    assert keys == {"api_key"}  # nothing else was stored
    _call(state, "clear_secret", "openai", "api_key")
    assert _field(_card(state, "openai"), "api_key").source == "unset"


def test_test_connection_runs_in_the_background_and_shows_ok_with_latency(clean_settings):
    state = _login(IntegrationsState)
    with serve(openai_sandbox()) as url:
        _call(state, "load")
        _call(state, "save", {"slug": "openai", "api_key": KEY, "base_url": url + "/v1"})
        events = _call(state, "test_connection", "openai")
    card = _card(state, "openai")
    assert "success" in str(events) and state.testing == []
    assert card.has_result and card.last.ok and card.last.latency.endswith(" ms")
    assert card.last.message == "Подключено: ключ принят, модель gpt-4o-mini доступна."
    assert card.last_success != "" and len(card.history) == 1


def test_a_manager_gets_the_forbidden_panel_and_no_data(app_db):
    state = _login(SettingsState, role="manager")
    assert _call(state, "check") is None and state.access == "forbidden"
    cards_state = _login(IntegrationsState, role="manager")
    events = _call(cards_state, "load")
    assert "toast" in str(events) and cards_state.cards == []


def test_tabs_load_their_section(app_db):
    state = _login(SettingsState)
    assert _call(state, "set_tab", "users") == UsersAdminState.load
    assert _call(state, "set_tab", "nonsense") is None and state.tab == "users"


def test_users_tab_create_reset_and_deactivate(app_db):
    state = _login(UsersAdminState)
    _call(state, "load")
    _call(state, "create_user", {"email": "tab-new@crystalbay.kz", "name": "Дина", "role": "manager", "password": ""})
    assert state.shown_password and state.shown_password_for == "tab-new@crystalbay.kz"
    row = next(u for u in state.users if u.email == "tab-new@crystalbay.kz")
    _call(state, "create_user", {"email": "tab-new@crystalbay.kz", "name": "Дина", "role": "manager"})
    assert state.create_error == "Пользователь с такой эл. почтой уже есть."
    _call(state, "create_user", {"email": "nope", "name": "X", "role": "manager"})
    assert state.create_error == "Неверный адрес эл. почты."
    _call(state, "save_assignment", {"user_id": str(row.user_id), "cap": "12", "available": "on"})
    assert "error" in str(_call(state, "save_assignment", {"user_id": str(row.user_id), "cap": "lots"}))
    _call(state, "set_active", row.user_id, False)
    with session_scope() as session:
        saved = session.get(User, row.user_id)
        assert (saved.is_active, saved.max_open_leads, saved.available_for_assignment) == (False, 12, True)
    assert "error" in str(_call(state, "set_active", state.user_id, False))  # not yourself


def test_api_keys_tab_shows_a_new_key_once_and_revokes(app_db):
    state = _login(ApiKeysState)
    _call(state, "load")
    _call(state, "create_key", {"name": "Сайт", "scope:leads:write": "on"})
    assert state.new_key.startswith("cbk_") and state.new_key_name == "Сайт"
    key = next(k for k in state.keys if k.name == "Сайт" and not k.revoked)
    assert key.scopes == ["leads:write"] and state.new_key not in json.dumps([k.__dict__ for k in state.keys])
    _call(state, "dismiss_key")
    assert state.new_key == ""
    _call(state, "create_key", {"name": "Без прав"})
    assert state.create_error == "Отметьте хотя бы одно право."
    _call(state, "revoke", key.key_id)
    with session_scope() as session:
        assert session.get(ApiKey, key.key_id).revoked_at is not None


def test_outbox_and_jobs_tabs(app_db):
    with session_scope() as session:
        job = outbox.enqueue(session=session, kind="state.test.kind", payload={}, idempotency_key="state-tab-1")
        job.status, job.last_error = "failed", "HTTP 400"
        session.add(job)
    state = _login(OutboxAdminState)
    _call(state, "load")
    row = next(r for r in state.rows if r.key == "state-tab-1")
    assert row.status == "failed" and row.delivery == ""
    _call(state, "discard", row.job_id)
    with session_scope() as session:
        assert session.get(OutboxJob, row.job_id).status == "discarded"
        session.exec(delete(OutboxJob).where(OutboxJob.idempotency_key == "state-tab-1"))
    jobs_state = _login(JobsAdminState)
    _call(jobs_state, "load")
    assert {"outbox.worker", "reminders.due"} <= {r.job_id for r in jobs_state.rows}
    events = _call(jobs_state, "run_now", "reminders.due")
    assert "success" in str(events)
    row = next(r for r in jobs_state.rows if r.job_id == "reminders.due")
    # other tests' due reminders may share this database: the count is whatever was due, the wording is fixed
    assert row.status == "ok" and re.fullmatch(r"\d+ reminders queued", row.result) and row.trigger == "manual"
