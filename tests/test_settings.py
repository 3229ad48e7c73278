"""Settings: demo mode defaults, SECRET_KEY rules outside demo, Supabase-style URLs."""

from __future__ import annotations

import pytest

from crystal_bay.settings import ConfigurationError, Settings


def _settings(**env) -> Settings:
    return Settings(_env_file=None, **env)


def test_demo_is_on_without_samo_credentials(monkeypatch):
    monkeypatch.delenv("CRYSTAL_BAY_DEMO", raising=False)
    assert _settings().demo is True


def test_demo_is_off_with_samo_credentials(monkeypatch):
    monkeypatch.delenv("CRYSTAL_BAY_DEMO", raising=False)
    with pytest.raises(ConfigurationError):  # real mode needs a real secret key
        _settings(samo_api_url="https://samo.example/export/default.php", samo_oauth_token="tok")
    s = _settings(samo_api_url="https://samo.example/export/default.php", samo_oauth_token="tok",
                  secret_key="k" * 40)
    assert s.demo is False


@pytest.mark.parametrize("key", ["", "changeme", "secret", "short"])
def test_placeholder_secret_keys_are_refused_outside_demo(key):
    with pytest.raises(ConfigurationError):
        _settings(crystal_bay_demo=False, secret_key=key)


def test_demo_gets_a_labelled_key_when_none_is_set():
    s = _settings(crystal_bay_demo=True, secret_key="")
    assert s.secret_key.get_secret_value().startswith("demo-only")


def test_postgres_urls_use_psycopg3():
    s = _settings(crystal_bay_demo=True, database_url="postgresql://u:p@db.supabase.co:5432/postgres")
    assert s.sqlalchemy_url().startswith("postgresql+psycopg://")
    s = _settings(crystal_bay_demo=True, database_url="postgres://u:p@h/db")
    assert s.sqlalchemy_url() == "postgresql+psycopg://u:p@h/db"


def test_secrets_are_not_printed():
    s = _settings(crystal_bay_demo=True, openai_api_key="sk-test.not-real-1234")
    assert "sk-test.not-real-1234" not in repr(s)
