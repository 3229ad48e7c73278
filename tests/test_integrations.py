"""Integration settings: cards from the registry and schemas, env vs database, encryption, validation,
audit without values, live connection tests against the OpenAI sandbox, and demo mode."""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

import pytest
from pydantic import BaseModel, HttpUrl, SecretStr
from sqlmodel import select

from crystal_bay.integrations import registry
from crystal_bay.integrations.base import ConnectionResult, IntegrationSpec, setting
from crystal_bay.models import AuditEvent, IntegrationSetting, IntegrationTestResult
from crystal_bay.sandbox.openai import create_app as openai_sandbox
from crystal_bay.services import crypto
from crystal_bay.services import integrations as svc
from crystal_bay.services.errors import NotFound, ValidationFailed
from tests.factories import SYSTEM, count, make_user
from tests.servers import closed_port_url, serve, silent_server

FAKE_KEY = "sk-test.0000000000000000000000001234"
OPENAI_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL")
PANEL = ("samo", "openai", "telegram", "wazzup", "sendgrid", "bitrix24")


@pytest.fixture(autouse=True)
def _no_openai_env(settings_env):
    settings_env(**{name: None for name in OPENAI_ENV})
    return settings_env


@pytest.fixture(scope="module")
def sandbox_url():
    with serve(openai_sandbox()) as url:
        yield url + "/v1"


def _card(session, slug="openai"):
    return svc.integration_view(session=session, slug=slug)


def _field(view, name):
    return next(f for f in view.fields if f.field.name == name)


def test_every_registry_entry_is_a_card_and_unbuilt_ones_are_coming_soon(session):
    cards = svc.list_integrations(session=session)
    slugs = [c.spec.slug for c in cards]
    assert slugs == [s.slug for s in registry.all_specs()]
    assert [s for s in slugs if s in PANEL] == list(PANEL)  # later issues may add more
    soon = {c.spec.slug for c in cards if c.spec.coming_soon}
    assert soon == {s.slug for s in registry.all_specs() if s.schema is None}
    assert all(c.fields == [] and not c.configured for c in cards if c.spec.coming_soon)
    openai = next(c for c in cards if c.spec.slug == "openai")
    kinds = {f.field.name: f.field.kind for f in openai.fields}
    assert kinds == {"api_key": "secret", "base_url": "url", "model": "text", "timeout_s": "number"}
    assert _field(openai, "model").source == "default" and _field(openai, "model").display == "gpt-4o-mini"
    assert _field(openai, "api_key").source == "unset" and not openai.configured


class FakeCrmSettings(BaseModel):
    endpoint: HttpUrl = setting(title=("Адрес", "Endpoint"), help=("Адрес CRM", "The CRM's URL"))
    token: SecretStr = setting(title=("Токен", "Token"))
    region: Literal["kz", "ru"] = setting("kz", title=("Регион", "Region"))
    retries: int = setting(3, title=("Повторы", "Retries"), ge=0, le=10)
    sandbox: bool = setting(False, title=("Песочница", "Sandbox"))


async def _fake_test(config: FakeCrmSettings) -> ConnectionResult:
    return ConnectionResult(ok=True, latency_ms=7, message=f"reached {config.endpoint.host}")


FAKE_SPEC = IntegrationSpec(slug="fakecrm", title_ru="Тестовая CRM", title_en="Test CRM", description_ru="д",
                            description_en="d", schema=FakeCrmSettings, test_connection=_fake_test)


def test_a_new_schema_in_the_registry_makes_its_card_with_fields_from_the_schema(session):
    with registry.registered(FAKE_SPEC):
        cards = {c.spec.slug: c for c in svc.list_integrations(session=session)}
        card = cards["fakecrm"]
        assert not card.spec.coming_soon
        fields = {f.field.name: f.field for f in card.fields}
        assert [f.field.name for f in card.fields] == ["endpoint", "token", "region", "retries", "sandbox"]
        assert fields["endpoint"].kind == "url" and fields["endpoint"].title_en == "Endpoint"
        assert fields["endpoint"].help_ru == "Адрес CRM" and fields["endpoint"].required
        assert fields["token"].secret and fields["region"].choices == ("kz", "ru")
        assert fields["retries"].kind == "integer" and fields["sandbox"].kind == "bool"
        svc.save_settings(session=session, slug="fakecrm", actor=SYSTEM,
                          values={"endpoint": "https://crm.example.kz/api", "token": "tok-0000-0000-9876"})
        result = asyncio.run(svc.run_test(session=session, slug="fakecrm", actor=SYSTEM))
        assert result.ok and result.message == "reached crm.example.kz"
    assert "fakecrm" not in {c.spec.slug for c in svc.list_integrations(session=session)}


def test_encryption_round_trip_and_a_changed_secret_key_is_reported(settings_env):
    token = crypto.encrypt("sk-test.roundtrip-0000")
    assert "sk-test" not in token and crypto.decrypt(token) == "sk-test.roundtrip-0000"
    settings_env(SECRET_KEY="another-secret-key-for-tests-0123456789")
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(token)


def test_saved_values_are_encrypted_and_secrets_only_shown_masked(session):
    view = svc.save_settings(session=session, slug="openai", actor=SYSTEM,
                             values={"api_key": FAKE_KEY, "model": "gpt-4o"})
    rows = session.exec(select(IntegrationSetting).where(IntegrationSetting.integration == "openai")).all()
    assert {r.key for r in rows} == {"api_key", "model"}
    assert all(FAKE_KEY not in r.value_encrypted and "gpt-4o" not in r.value_encrypted for r in rows)
    assert next(r for r in rows if r.key == "api_key").is_secret
    key = _field(view, "api_key")
    assert key.display == "••••1234" and key.source == "database" and FAKE_KEY not in repr(view)
    assert view.configured and _field(view, "model").display == "gpt-4o"
    config = svc.load_config(session=session, slug="openai")
    assert config.api_key.get_secret_value() == FAKE_KEY


def test_an_empty_secret_keeps_the_stored_one_and_an_empty_field_goes_back_to_default(session):
    svc.save_settings(session=session, slug="openai", actor=SYSTEM, values={"api_key": FAKE_KEY, "model": "gpt-4o"})
    view = svc.save_settings(session=session, slug="openai", actor=SYSTEM, values={"api_key": "", "model": ""})
    assert _field(view, "api_key").display == "••••1234"
    assert _field(view, "model").source == "default" and _field(view, "model").display == "gpt-4o-mini"


def test_saving_audits_which_fields_changed_never_the_values(session, caplog):
    caplog.set_level(logging.DEBUG)
    admin = make_user(session, role="admin")
    from crystal_bay.services.audit import Actor

    svc.save_settings(session=session, slug="openai", actor=Actor.for_user(admin),
                      values={"api_key": FAKE_KEY, "base_url": "https://gateway.example.kz/v1"})
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "settings_changed")
                         .order_by(AuditEvent.id.desc())).first()
    assert event.actor_id == admin.id
    assert event.data == {"integration": "openai", "changed": ["api_key", "base_url"], "cleared": []}
    assert FAKE_KEY not in str(event.data) and FAKE_KEY not in caplog.text
    row = session.exec(select(IntegrationSetting).where(IntegrationSetting.key == "api_key")).one()
    assert row.updated_by_id == admin.id


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"api_key": FAKE_KEY, "base_url": "not a url"}, "base_url", "valid URL"),
        ({"api_key": FAKE_KEY, "base_url": "ftp://files.example.kz"}, "base_url", "http"),
        ({"api_key": FAKE_KEY, "timeout_s": "0"}, "timeout_s", "at least 1"),
        ({"api_key": FAKE_KEY, "timeout_s": "soon"}, "timeout_s", "number"),
        ({"api_key": FAKE_KEY, "model": "gpt 4o; drop"}, "model", "not allowed"),
        ({"api_key": "sk-1"}, "api_key", "at least 8"),
        ({"api_key": FAKE_KEY, "colour": "blue"}, "colour", "does not exist"),
    ],
)
def test_bad_settings_are_refused_with_a_plain_error_and_change_nothing(session, values, field, words):
    rows, audits = count(session, IntegrationSetting), count(session, AuditEvent)
    with pytest.raises(svc.SettingsInvalid) as info:
        svc.save_settings(session=session, slug="openai", actor=SYSTEM, values=values)
    assert words in info.value.errors[field]
    assert "sk-test" not in str(info.value.errors) and "sk-1" not in str(info.value.errors)
    assert count(session, IntegrationSetting) == rows and count(session, AuditEvent) == audits


SOON_SPEC = IntegrationSpec(slug="future", title_ru="Будущая", title_en="Future", description_ru="", description_en="")


def test_required_fields_go_together_all_or_none(session):
    with registry.registered(FAKE_SPEC):
        with pytest.raises(svc.SettingsInvalid) as info:
            svc.save_settings(session=session, slug="fakecrm", actor=SYSTEM, values={"endpoint": "https://crm.kz"})
        assert info.value.errors == {"token": "This field is required."}
        assert count(session, IntegrationSetting) == 0
        view = svc.save_settings(session=session, slug="fakecrm", actor=SYSTEM, values={"retries": "5"})
        assert not view.configured and "endpoint" in view.problem  # nothing required yet: "not configured"


def test_an_integration_can_be_unconfigured_by_removing_its_key(session):
    svc.save_settings(session=session, slug="openai", actor=SYSTEM, values={"api_key": FAKE_KEY, "model": "gpt-4o"})
    view = svc.save_settings(session=session, slug="openai", actor=SYSTEM, values={}, clear=["api_key"])
    assert _field(view, "api_key").source == "unset" and not view.configured
    assert _field(view, "model").display == "gpt-4o"
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "settings_changed")
                         .order_by(AuditEvent.id.desc())).first()
    assert event.data == {"integration": "openai", "changed": [], "cleared": ["api_key"]}


def test_coming_soon_and_unknown_integrations_refuse_settings(session):
    with registry.registered(SOON_SPEC), pytest.raises(ValidationFailed) as info:
        svc.save_settings(session=session, slug="future", actor=SYSTEM, values={"x": "1"})
    assert info.value.code == "coming_soon"
    with registry.registered(SOON_SPEC), pytest.raises(ValidationFailed):
        asyncio.run(svc.run_test(session=session, slug="future", actor=SYSTEM))
    with pytest.raises(NotFound):
        svc.save_settings(session=session, slug="nope", actor=SYSTEM, values={})


def test_the_environment_wins_and_cannot_be_changed_from_the_panel(session, settings_env):
    svc.save_settings(session=session, slug="openai", actor=SYSTEM, values={"api_key": FAKE_KEY, "model": "gpt-4o"})
    settings_env(OPENAI_MODEL="gpt-4.1-mini", OPENAI_API_KEY="sk-test.from-env-000000005678")
    view = _card(session)
    assert _field(view, "model").source == "env" and _field(view, "model").display == "gpt-4.1-mini"
    assert _field(view, "api_key").display == "••••5678" and _field(view, "api_key").field.env_var == "OPENAI_API_KEY"
    assert svc.load_config(session=session, slug="openai").model == "gpt-4.1-mini"
    with pytest.raises(svc.SettingsInvalid) as info:
        svc.save_settings(session=session, slug="openai", actor=SYSTEM, values={"model": "gpt-4o-mini"})
    assert "OPENAI_MODEL" in info.value.errors["model"]
    svc.save_settings(session=session, slug="openai", actor=SYSTEM, values={"model": "gpt-4.1-mini", "api_key": ""})


def test_connection_test_against_the_sandbox_is_ok_with_latency(session, sandbox_url, caplog):
    caplog.set_level(logging.DEBUG)
    svc.save_settings(session=session, slug="openai", actor=SYSTEM, values={"api_key": FAKE_KEY,
                                                                            "base_url": sandbox_url})
    result = asyncio.run(svc.run_test(session=session, slug="openai", actor=SYSTEM))
    assert result.ok, result
    assert result.latency_ms is not None and 0 <= result.latency_ms < 5000
    assert "gpt-4o-mini is available" in result.message
    view = _card(session)
    assert view.last.ok and view.last_success_at is not None
    assert FAKE_KEY not in caplog.text and FAKE_KEY not in repr(view)


@pytest.mark.parametrize(
    ("server", "key", "words"),
    [("sandbox", "wrong-key-000000009999", "API key was refused"),
     ("closed", FAKE_KEY, "Connection refused"),
     ("silent", FAKE_KEY, "did not answer within 1 s")],
)
def test_failed_connection_tests_say_why_in_plain_words(session, sandbox_url, server, key, words, caplog):
    caplog.set_level(logging.DEBUG)
    with silent_server() as silent:
        base = {"sandbox": sandbox_url, "closed": closed_port_url() + "/v1", "silent": silent + "/v1"}[server]
        svc.save_settings(session=session, slug="openai", actor=SYSTEM,
                          values={"api_key": key, "base_url": base, "timeout_s": "1"})
        result = asyncio.run(svc.run_test(session=session, slug="openai", actor=SYSTEM))
    assert not result.ok and words in result.message, result
    assert result.detail and key not in result.detail and key not in result.message and key not in caplog.text
    stored = session.exec(select(IntegrationTestResult).order_by(IntegrationTestResult.id.desc())).first()
    assert stored.message == result.message and not stored.ok


def test_an_unconfigured_integration_test_fails_clearly(session):
    result = asyncio.run(svc.run_test(session=session, slug="openai", actor=SYSTEM))
    assert not result.ok and "Not configured" in result.message and "api_key" in result.detail


def test_only_the_last_20_results_are_kept(session):
    with registry.registered(FAKE_SPEC):
        svc.save_settings(session=session, slug="fakecrm", actor=SYSTEM,
                          values={"endpoint": "https://crm.example.kz", "token": "tok-0000-0000-9876"})
        for _ in range(23):
            asyncio.run(svc.run_test(session=session, slug="fakecrm", actor=SYSTEM))
        rows = session.exec(select(IntegrationTestResult).where(IntegrationTestResult.integration == "fakecrm")).all()
        assert len(rows) == 20 and len(_card(session, "fakecrm").history) == 20


def test_demo_mode_switch_and_the_environment_wins(session, settings_env):
    settings_env(CRYSTAL_BAY_DEMO="1")
    assert svc.demo_mode(session=session).source == "env" and svc.effective_demo(session)
    with pytest.raises(ValidationFailed) as info:
        svc.set_demo_mode(session=session, enabled=False, actor=SYSTEM)
    assert info.value.code == "demo_locked"
    settings_env(CRYSTAL_BAY_DEMO=None, SECRET_KEY="a-real-secret-key-for-tests-0123456789")
    assert svc.demo_mode(session=session).source == "default"
    state = svc.set_demo_mode(session=session, enabled=False, actor=SYSTEM)
    assert state.source == "database" and not state.enabled and not svc.effective_demo(session)
    assert svc.set_demo_mode(session=session, enabled=True, actor=SYSTEM).enabled
    settings_env(CRYSTAL_BAY_DEMO="0")
    assert not svc.effective_demo(session)


def test_leaving_demo_mode_needs_a_real_secret_key(session, settings_env):
    settings_env(CRYSTAL_BAY_DEMO=None, SECRET_KEY=None)
    with pytest.raises(ValidationFailed) as info:
        svc.set_demo_mode(session=session, enabled=False, actor=SYSTEM)
    assert info.value.code == "secret_key_required"
