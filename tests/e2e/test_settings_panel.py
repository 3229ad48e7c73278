"""The settings & integrations panel in chromium: an admin saves an OpenAI key (masked afterwards), points
it at the OpenAI sandbox mounted on the backend, tests the connection and sees ok with a latency; every
tab renders; a manager cannot open the page. Screenshots go to tests/artifacts/settings-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, FIRST_NAVIGATION_TIMEOUT_MS, Credentials, LiveApp

pytestmark = pytest.mark.e2e

SLOW = 60_000  # the dev server compiles a page on its first visit
STEP = 15_000
FAKE_KEY = "sk-test.0000000000000000000000000042"  # obviously fake; the sandbox accepts any "sk-" key




def _log_in(page: Page, app: LiveApp, user: Credentials) -> None:
    page.goto(app.url("/login"), timeout=FIRST_NAVIGATION_TIMEOUT_MS)
    expect(page.get_by_test_id("demo-banner")).to_be_visible(timeout=SLOW)  # hydrated: the form submits via Reflex
    page.locator('input[name="email"]').fill(user.email)
    page.locator('input[name="password"]').fill(user.password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("user-name")).to_have_text(user.name, timeout=SLOW)


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no hover highlight in the picture
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _toast(page: Page, kind: str, text: str) -> None:
    toast = page.locator(f'[data-sonner-toast][data-type="{kind}"]', has_text=text)
    expect(toast).to_be_visible(timeout=STEP)


def test_admin_saves_an_openai_key_and_tests_the_connection(new_context, live_app: LiveApp) -> None:
    page = new_context().new_page()
    _log_in(page, live_app, live_app.admin)
    page.goto(live_app.url("/settings"))
    expect(page.get_by_test_id("settings-title")).to_have_text("Настройки и интеграции", timeout=SLOW)

    card = page.get_by_test_id("integration-openai")
    expect(card).to_be_visible(timeout=SLOW)
    expect(card.get_by_text("Не настроено")).to_be_visible()

    card.get_by_test_id("input-api_key").fill(FAKE_KEY)
    card.get_by_test_id("input-base_url").fill(f"{live_app.api_url}/sandbox/openai/v1")
    card.get_by_test_id("save-integration").click()
    _toast(page, "success", "Сохранено.")
    expect(card.get_by_test_id("masked-api_key")).to_have_text("••••0042")
    expect(card.get_by_test_id("input-api_key")).to_have_value("")
    expect(card.get_by_text("Настроено", exact=True)).to_be_visible()
    expect(card.get_by_test_id("source-api_key")).to_have_text("сохранено")
    assert FAKE_KEY not in page.content() and FAKE_KEY[:-4] not in page.content()

    card.get_by_test_id("test-connection").click()
    status = card.get_by_test_id("result-status")
    expect(status).to_have_text("ok", timeout=STEP)
    expect(card.get_by_test_id("result-latency")).to_have_text(re.compile(r"^\d+ ms$"))
    expect(card.get_by_test_id("result-message")).to_have_text(
        "Подключено: ключ принят, модель gpt-4o-mini доступна.")
    expect(card.get_by_test_id("last-success")).to_be_visible()
    _toast(page, "success", "Подключение работает")
    assert FAKE_KEY not in page.content()
    _shot(page, "settings-integrations.png")

    # a bad URL is refused with the reason under the field, and nothing changes
    card.get_by_test_id("input-base_url").fill("ftp://files.example.kz")
    card.get_by_test_id("save-integration").click()
    expect(card.get_by_test_id("error-base_url")).to_have_text("Адрес должен начинаться с http:// или https://.")
    expect(card.get_by_test_id("source-base_url")).to_have_text("сохранено")

    expect(page.locator("[data-sonner-toast]")).to_have_count(0, timeout=20_000)  # clean screenshots
    for tab, marker in (("users", live_app.manager.email), ("api_keys", "Создать ключ"),
                        ("pipeline", "Коммерческое предложение"), ("outbox", "ожидают"),
                        ("jobs", "outbox.worker")):
        page.get_by_test_id(f"tab-{tab}").click()
        marker_el = page.get_by_role("tabpanel").get_by_text(marker).first
        if tab == "pipeline":
            marker_el = page.locator(f'input[value="{marker}"]')
        expect(marker_el).to_be_visible(timeout=STEP)
        _shot(page, f"settings-{tab}.png")


def test_a_manager_cannot_open_the_settings(new_context, live_app: LiveApp) -> None:
    page = new_context().new_page()
    _log_in(page, live_app, live_app.manager)
    expect(page.locator('[data-nav="/settings"]')).to_have_count(0)
    page.goto(live_app.url("/settings"))
    expect(page.get_by_test_id("forbidden")).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("settings-title")).to_have_count(0)
    expect(page.get_by_test_id("integration-openai")).to_have_count(0)
