"""One settings object for the whole system, read from the environment (and `.env`)."""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_URL = f"sqlite:///{ROOT / 'data' / 'crystal_bay.db'}"

# Values that must never be used as a real SECRET_KEY.
PLACEHOLDER_SECRETS = {
    "",
    "changeme",
    "change-me",
    "secret",
    "dev",
    "development",
    "placeholder",
    "your-secret-key",
    "please-change-me",
}
DEMO_SECRET_KEY = "demo-only-insecure-secret-key-do-not-use-in-production"


class ConfigurationError(RuntimeError):
    """The environment does not describe a runnable configuration."""


class Settings(BaseSettings):
    """Environment configuration. Secrets are SecretStr and never printed."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = Field(DEFAULT_SQLITE_URL, title="Database URL")
    secret_key: SecretStr = Field(SecretStr(""), title="Secret key")
    crystal_bay_demo: bool | None = Field(None, title="Demo mode")

    telegram_bot_token: SecretStr | None = None
    # The customer bot (docs: README "Telegram bot"): any Bot API server (PTB base_url form, the token is
    # appended); webhook mode when a webhook URL is set; the webhook secret is derived when not given.
    telegram_api_base_url: str = Field("https://api.telegram.org/bot", title="Telegram Bot API base URL")
    telegram_webhook_url: str | None = Field(None, title="Telegram webhook URL (public, ends with /api/webhooks/telegram)")
    telegram_webhook_secret: SecretStr | None = Field(None, title="Telegram webhook secret token")
    samo_api_url: str | None = None
    samo_oauth_token: SecretStr | None = None
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    ai_auto_move_threshold: float = Field(0.85, ge=0, le=1, title="AI: confidence needed to move a lead by itself")
    # Off by default: the processor runs on every inbound message, so this would hand every unassigned lead out
    # round-robin; the issue makes it a capability ("can auto-assign"), the agency switches it on.
    ai_auto_assign: bool = Field(False, title="AI: assign unassigned leads round-robin among available managers")
    sendgrid_api_key: SecretStr | None = None
    sendgrid_from_email: str | None = None
    wazzup_api_key: SecretStr | None = None
    bitrix_webhook_url: SecretStr | None = None
    redis_url: str | None = None
    public_base_url: str | None = Field(None, title="Public address of quote links (default: the backend's URL)")

    timezone: str = Field("Asia/Almaty", title="The agency's time zone (how times are shown)")
    session_ttl_hours: int = Field(12, ge=1, le=24 * 30, title="Login session lifetime, hours")
    login_max_failures_per_account: int = Field(5, ge=1)
    login_max_failures_per_client: int = Field(20, ge=1)
    login_window_minutes: int = Field(15, ge=1)

    # Lead intake (docs/api.md): API rate limit per key, the website widget, SendGrid Inbound Parse.
    api_rate_limit_per_minute: int = Field(600, ge=1, title="API requests per minute per API key")
    widget_public_keys: str = Field("", title="Website widget public keys (comma-separated; empty: widget off)")
    widget_rate_limit_per_minute: int = Field(10, ge=1, title="Widget submissions per minute per client address")
    sendgrid_inbound_secret: SecretStr | None = Field(None, title="SendGrid Inbound Parse secret (URL or basic auth)")

    admin_email: str | None = Field(None, title="First admin's e-mail (bootstrap)")
    admin_password: SecretStr | None = Field(None, title="First admin's password (bootstrap)")

    @property
    def demo(self) -> bool:
        """Demo mode: explicit setting, else on only when no SAMO credentials are set."""
        if self.crystal_bay_demo is not None:
            return self.crystal_bay_demo
        return not (self.samo_api_url and self.samo_oauth_token)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @model_validator(mode="after")
    def _check_secret_key(self) -> "Settings":
        key = self.secret_key.get_secret_value()
        if self.demo:
            if not key:
                self.secret_key = SecretStr(DEMO_SECRET_KEY)
            return self
        if key.strip().lower() in PLACEHOLDER_SECRETS or key == DEMO_SECRET_KEY or len(key) < 16:
            raise ConfigurationError(
                "SECRET_KEY must be set to a random value of at least 16 characters outside "
                "demo mode (for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        return self

    def sqlalchemy_url(self) -> str:
        """The URL with the driver SQLAlchemy should use (psycopg 3 for PostgreSQL)."""
        url = self.database_url
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call get_settings.cache_clear())."""
    return Settings()
