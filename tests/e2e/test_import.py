"""The admin lead import in chromium: upload a CSV, check the mapping preview, import, read the report."""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, FIRST_NAVIGATION_TIMEOUT_MS, Credentials, LiveApp

pytestmark = pytest.mark.e2e

SLOW = 60_000
STEP = 15_000


def _log_in(page: Page, app: LiveApp, user: Credentials) -> None:
    page.goto(app.url("/login"), timeout=FIRST_NAVIGATION_TIMEOUT_MS)
    expect(page.get_by_test_id("demo-banner")).to_be_visible(timeout=SLOW)
    page.locator('input[name="email"]').fill(user.email)
    page.locator('input[name="password"]').fill(user.password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("user-name")).to_have_text(user.name, timeout=SLOW)


def _csv() -> str:
    digits = f"{random.randrange(1_000_000, 9_999_999):07d}"
    return ("Клиент;Телефон;Комментарий;Бюджет\n"
            f"Айгерим Садыкова;8 701 {digits[:3]} {digits[3:5]} {digits[5:]};Вьетнам в марте, 2 взрослых;1 500\n"
            f"Марат Жумабаев;+7 (702) {digits[:3]}-{digits[3:5]}-{digits[5:]};Турция, всё включено;\n"
            "Без контакта;;просто текст;\n")


def test_admin_imports_a_csv_and_sees_the_report(page: Page, live_app: LiveApp, tmp_path) -> None:
    _log_in(page, live_app, live_app.admin)
    page.locator('[data-nav="/import"]').click()
    expect(page).to_have_url(re.compile(r".*/import/?$"), timeout=SLOW)
    expect(page.get_by_test_id("import-title")).to_have_text("Импорт заявок", timeout=SLOW)

    file = tmp_path / "leads.csv"
    file.write_text(_csv(), encoding="utf-8")
    page.get_by_test_id("import-upload").locator('input[type="file"]').set_input_files(str(file))

    preview = page.get_by_test_id("import-preview")
    expect(preview).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("import-file-name")).to_have_text("leads.csv")
    expect(preview.get_by_text("Айгерим Садыкова")).to_be_visible()
    # The guessed mapping: Клиент → Имя, Телефон → Телефон, Комментарий → Сообщение, Бюджет → Бюджет.
    for label in ("Имя", "Телефон", "Сообщение", "Бюджет"):
        expect(preview.get_by_role("combobox").filter(has_text=label)).to_have_count(1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "e2e-import-preview.png"), full_page=True)

    page.get_by_test_id("import-start").click()
    expect(page.get_by_test_id("import-report")).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("report-total")).to_have_text("3")
    expect(page.get_by_test_id("report-imported")).to_have_text("2")
    expect(page.get_by_test_id("report-merged")).to_have_text("0")
    expect(page.get_by_test_id("report-rejected")).to_have_text("1")
    rejected = page.get_by_test_id("report-rejected-rows")
    expect(rejected).to_contain_text("4")
    expect(rejected).to_contain_text("Нет ни телефона, ни эл. почты, ни Telegram.")
    page.screenshot(path=str(ARTIFACTS / "e2e-import-report.png"), full_page=True)

    # The same file again creates nothing: every good row is a duplicate now.
    page.get_by_role("button", name="Импортировать ещё файл").click()
    page.get_by_test_id("import-upload").locator('input[type="file"]').set_input_files(str(file))
    expect(page.get_by_test_id("import-preview")).to_be_visible(timeout=SLOW)
    page.get_by_test_id("import-start").click()
    expect(page.get_by_test_id("import-report")).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("report-imported")).to_have_text("0")
    expect(page.get_by_test_id("report-duplicates")).to_have_text("2")


def test_a_manager_cannot_import(page: Page, live_app: LiveApp) -> None:
    _log_in(page, live_app, live_app.manager)
    expect(page.locator('[data-nav="/import"]')).to_have_count(0)
    page.goto(live_app.url("/import"), timeout=SLOW)
    expect(page.get_by_test_id("forbidden")).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("import-upload")).to_have_count(0)
