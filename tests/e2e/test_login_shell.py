"""Login, the app shell, language switch, roles and logout, as a user sees them in chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, FIRST_NAVIGATION_TIMEOUT_MS, Credentials, LiveApp

pytestmark = pytest.mark.e2e

# The dev server compiles a page on its first visit: the first look at anything waits long.
SLOW = 60_000
STEP = 15_000

NAV_RU = {"/": "Доска", "/inbox": "Входящие", "/bookings": "Бронирования", "/analytics": "Аналитика",
          "/settings": "Настройки"}
NAV_EN = {"/": "Board", "/inbox": "Inbox", "/bookings": "Bookings", "/analytics": "Analytics",
          "/settings": "Settings"}


def _at(app: LiveApp, path: str) -> re.Pattern[str]:
    """The page URL is exactly this path (query string or hash allowed)."""
    return re.compile(re.escape(app.base_url + path) + r"/?([?#].*)?$")


def _open_login(page: Page, app: LiveApp) -> None:
    page.goto(app.url("/login"), timeout=FIRST_NAVIGATION_TIMEOUT_MS)
    # The demo banner appears once the page is hydrated and its on_load ran over the websocket:
    # only then does the form submit through Reflex instead of as a plain HTML form.
    expect(page.get_by_test_id("demo-banner")).to_be_visible(timeout=SLOW)


def _log_in(page: Page, app: LiveApp, user: Credentials, password: str | None = None) -> None:
    _open_login(page, app)
    page.locator('input[name="email"]').fill(user.email)
    page.locator('input[name="password"]').fill(password if password is not None else user.password)
    page.get_by_test_id("login-submit").click()


def _expect_nav(page: Page, labels: dict[str, str]) -> None:
    for route, label in labels.items():
        expect(page.locator(f'[data-nav="{route}"]')).to_have_text(label, timeout=STEP)


def test_wrong_password_shows_error_and_stays_on_login(page: Page, live_app: LiveApp) -> None:
    _log_in(page, live_app, live_app.admin, password="definitely-not-the-password")

    error = page.get_by_test_id("login-error")
    expect(error).to_be_visible(timeout=STEP)
    expect(error).to_have_text("Неверная эл. почта или пароль.")
    expect(page).to_have_url(_at(live_app, "/login"))
    expect(page.get_by_test_id("user-name")).to_have_count(0)


def test_admin_shell_language_pages_and_logout(page: Page, live_app: LiveApp) -> None:
    admin = live_app.admin
    _log_in(page, live_app, admin)

    # Lands on the board, inside the shell, in Russian.
    expect(page).to_have_url(_at(live_app, "/"), timeout=SLOW)
    expect(page.get_by_test_id("user-name")).to_have_text(admin.name, timeout=SLOW)
    expect(page.get_by_test_id("user-role")).to_have_text("Администратор")
    _expect_nav(page, NAV_RU)
    expect(page.get_by_test_id("demo-banner")).to_be_visible()
    expect(page.get_by_role("heading", name="Доска заявок")).to_be_visible(timeout=STEP)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "e2e-board-admin-ru.png"), full_page=True)

    # English.
    page.locator('[data-lang="en"]').click()
    _expect_nav(page, NAV_EN)
    expect(page.get_by_test_id("user-role")).to_have_text("Administrator", timeout=STEP)
    expect(page.get_by_role("heading", name="Lead board")).to_be_visible()

    # The choice survives a reload.
    page.reload(timeout=SLOW)
    expect(page.get_by_test_id("user-name")).to_have_text(admin.name, timeout=SLOW)
    _expect_nav(page, NAV_EN)
    expect(page.get_by_test_id("user-role")).to_have_text("Administrator")
    page.screenshot(path=str(ARTIFACTS / "e2e-board-admin-en.png"), full_page=True)

    # Back to Russian.
    page.locator('[data-lang="ru"]').click()
    _expect_nav(page, NAV_RU)
    expect(page.get_by_test_id("user-role")).to_have_text("Администратор", timeout=STEP)

    # Every sidebar page opens from the sidebar and renders inside the shell.
    headings = {"/inbox": "Входящие", "/bookings": "Бронирования", "/analytics": "Аналитика"}
    for route, heading in headings.items():
        page.locator(f'[data-nav="{route}"]').click()
        expect(page).to_have_url(_at(live_app, route), timeout=SLOW)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=SLOW)
        expect(page.get_by_test_id("user-name")).to_have_text(admin.name)
        expect(page.get_by_test_id("demo-banner")).to_be_visible()
    page.locator('[data-nav="/settings"]').click()
    expect(page).to_have_url(_at(live_app, "/settings"), timeout=SLOW)
    expect(page.get_by_test_id("settings-title")).to_have_text("Настройки и интеграции", timeout=SLOW)
    expect(page.get_by_test_id("forbidden")).to_have_count(0)
    expect(page.get_by_test_id("user-name")).to_have_text(admin.name)
    # The users tab lists both accounts.
    page.get_by_test_id("tab-users").click()
    expect(page.get_by_role("cell", name=live_app.manager.email)).to_be_visible(timeout=STEP)
    expect(page.get_by_role("cell", name=admin.email)).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "e2e-settings-admin-ru.png"), full_page=True)

    # Opened directly (a full page load), a page still shows the shell with the user.
    page.goto(live_app.url("/bookings"), timeout=SLOW)
    expect(page.get_by_role("heading", name="Бронирования", exact=True)).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("user-name")).to_have_text(admin.name, timeout=STEP)

    # Log out: back at the login page, and the board is closed to this browser now.
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(_at(live_app, "/login"), timeout=STEP)
    expect(page.get_by_test_id("login-submit")).to_be_visible()
    page.goto(live_app.url("/"), timeout=SLOW)
    expect(page).to_have_url(_at(live_app, "/login"), timeout=SLOW)
    expect(page.get_by_test_id("user-name")).to_have_count(0)


def test_manager_has_no_settings(page: Page, live_app: LiveApp) -> None:
    manager = live_app.manager
    _log_in(page, live_app, manager)

    expect(page).to_have_url(_at(live_app, "/"), timeout=SLOW)
    expect(page.get_by_test_id("user-name")).to_have_text(manager.name, timeout=SLOW)
    expect(page.get_by_test_id("user-role")).to_have_text("Менеджер")
    _expect_nav(page, {k: v for k, v in NAV_RU.items() if k != "/settings"})
    expect(page.locator('[data-nav="/settings"]')).to_have_count(0)
    expect(page.get_by_text("Настройки", exact=True)).to_have_count(0)

    # Typing the address does not open the page either.
    page.goto(live_app.url("/settings"), timeout=SLOW)
    forbidden = page.get_by_test_id("forbidden")
    expect(forbidden).to_be_visible(timeout=SLOW)
    expect(forbidden).to_contain_text("Нет доступа")
    expect(page.get_by_test_id("settings-title")).to_have_count(0)
    expect(page.get_by_test_id("user-name")).to_have_text(manager.name)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "e2e-settings-forbidden-manager.png"), full_page=True)


def test_board_without_login_goes_to_login(page: Page, live_app: LiveApp) -> None:
    page.goto(live_app.url("/"), timeout=FIRST_NAVIGATION_TIMEOUT_MS)
    expect(page).to_have_url(_at(live_app, "/login"), timeout=SLOW)
    expect(page.get_by_test_id("login-submit")).to_be_visible(timeout=STEP)
    expect(page.get_by_test_id("user-name")).to_have_count(0)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "e2e-anonymous-redirect-to-login.png"), full_page=True)
