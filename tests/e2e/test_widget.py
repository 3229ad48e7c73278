"""The website widget in chromium: a third-party page embeds assets/widget.js, a visitor sends the form."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, REPO

pytestmark = pytest.mark.e2e

KEY = "pk_e2e_site_widget"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    """The API (uvicorn, loopback) on a fresh SQLite database with one widget key."""
    tmp = Path(tempfile.mkdtemp(prefix="cb-e2e-widget-"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'w.db'}", "CRYSTAL_BAY_DEMO": "1",
           "WIDGET_PUBLIC_KEYS": KEY, "CRYSTAL_BAY_SCHEDULER": "0"}
    subprocess.run([sys.executable, "-m", "crystal_bay", "migrate"], cwd=REPO, env=env, check=True,
                   capture_output=True, timeout=120)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "crystal_bay.api.app:api", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/health", timeout=2)  # noqa: S310 - loopback
                break
            except OSError:
                time.sleep(0.5)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


@pytest.fixture()
def agency_site(backend: str) -> Iterator[str]:
    """The agency's own site on another loopback port (chromium's local-network checks forbid a public page
    from framing 127.0.0.1; in production both are public): a page that embeds the widget with widget.js."""
    script = (REPO / "assets" / "widget.js").read_bytes()
    page = (f"<!doctype html><html lang='ru'><meta charset='utf-8'><body><h1>Туры во Вьетнам</h1>"
            f"<div id='form'></div><script src='/widget.js' data-key='{KEY}' data-host='{backend}' "
            f"data-target='#form'></script></body></html>").encode()

    class Site(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body, kind = (script, "application/javascript") if self.path.startswith("/widget.js") else (
                page, "text/html; charset=utf-8")
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_visitor_sends_the_embedded_form_and_is_thanked_in_russian(page: Page, agency_site: str) -> None:
    page.goto(f"{agency_site}/vietnam?utm_source=instagram")

    frame = page.frame_locator("#form iframe")
    expect(frame.get_by_role("heading", name="Подберём тур для вас")).to_be_visible(timeout=20_000)
    expect(frame.locator("#cb-website")).not_to_be_in_viewport()  # the honeypot is off-screen
    frame.get_by_label("Ваше имя").fill("Айгерим Садыкова")
    frame.get_by_label("Телефон").fill("8 701 555 12 34")
    frame.get_by_label("Куда и когда хотите поехать?").fill("Нячанг, март, двое взрослых")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "e2e-widget-form.png"), full_page=True)
    frame.get_by_role("button", name="Отправить заявку").click()

    expect(frame.get_by_role("heading", name="Спасибо!")).to_be_visible(timeout=20_000)
    expect(frame.get_by_text("Айгерим, спасибо за заявку!")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "e2e-widget-thanks.png"), full_page=True)
