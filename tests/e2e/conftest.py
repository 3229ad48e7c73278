"""End-to-end fixtures: the app started with `reflex run` on a fresh database, and chromium.

`live_app` (session) migrates a throwaway SQLite database, creates an admin and a manager with
the CLI, starts `reflex run --env dev` on two free ports in its own process group, waits for
the backend health check and the login page, and stops the whole group afterwards.
`browser` (session) is Debian's /usr/bin/chromium driven by Playwright (never `playwright
install`); `page` is a fresh context + page per test, with a screenshot in tests/artifacts/ when
the test fails.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
BUN_BIN = REPO / ".tools" / "bun" / "node_modules" / ".bin"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT_S = 240
FIRST_NAVIGATION_TIMEOUT_MS = 60_000


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: browser end-to-end test against a running `reflex run` (slow)")


@dataclasses.dataclass(frozen=True)
class Credentials:
    email: str
    password: str
    name: str
    role: str


@dataclasses.dataclass(frozen=True)
class LiveApp:
    base_url: str  # the frontend, e.g. http://localhost:3001
    api_url: str  # the backend, e.g. http://127.0.0.1:8001
    admin: Credentials
    manager: Credentials
    log_path: Path
    database_url: str = ""  # the app's throwaway SQLite database (for creating and checking data)

    def url(self, path: str) -> str:
        return self.base_url + path


ADMIN = Credentials(email="admin-e2e@crystalbay.kz", password="Adm1n-e2e-Passw0rd!", name="Алия Админова", role="admin")
MANAGER = Credentials(
    email="manager-e2e@crystalbay.kz", password="Man4ger-e2e-Passw0rd!", name="Марат Менеджеров", role="manager"
)


def _free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1 (all sockets held open until every port is chosen)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - local test URL
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


def _tail(path: Path, lines: int = 80) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _other_reflex_runs() -> list[str]:
    """`reflex run` processes already serving this repo (they would share .web with ours)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in cmdline if a]
        if "reflex" in " ".join(args) and "run" in args and Path(cwd) == REPO:
            found.append(f"{pid}: {' '.join(args)}")
    return found


def _run_cli(env: dict[str, str], *args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "crystal_bay", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    if proc.returncode != 0:
        pytest.fail(f"`python -m crystal_bay {args[0]}` failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the app's process group, SIGKILL it if anything is left after ~10 s."""
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        return
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)  # anything left in the group?
        except ProcessLookupError:
            break
        proc.poll()
        time.sleep(0.2)
    else:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


@pytest.fixture(scope="session")
def live_app() -> Iterator[LiveApp]:
    bun = BUN_BIN / "bun"
    if not os.access(bun, os.X_OK):
        pytest.fail(f"bun is missing at {bun}: run ./dev.sh setup first")
    others = _other_reflex_runs()
    if others:
        pytest.fail("another `reflex run` of this app is running (it would share .web); stop it first:\n"
                    + "\n".join(others))

    tmp = Path(tempfile.mkdtemp(prefix="cb-e2e-"))
    db_url = f"sqlite:///{tmp / 'e2e.db'}"
    no_reload = tmp / "hot-reload-watches-nothing"
    no_reload.mkdir()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        REFLEX_DB_URL=db_url,
        CRYSTAL_BAY_DEMO="1",
        REFLEX_USE_SYSTEM_BUN="1",
        PATH=f"{BUN_BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
        # Hot reload off: the backend would otherwise restart (and recompile .web) whenever a file
        # changes under the repo -- other people's edits, pytest's __pycache__, our screenshots --
        # dropping the websocket in the middle of a test. Watching an empty directory disables it.
        REFLEX_HOT_RELOAD_OVERRIDE_PATHS=str(no_reload),
    )
    for name in ("SAMO_API_URL", "SAMO_OAUTH_TOKEN", "ADMIN_EMAIL", "ADMIN_PASSWORD", "REFLEX_REDIS_URL"):
        env.pop(name, None)

    _run_cli(env, "migrate")
    for user in (ADMIN, MANAGER):
        _run_cli(env, "create-user", "--email", user.email, "--name", user.name, "--role", user.role,
                 "--password", user.password)

    frontend_port, backend_port = _free_ports(2)
    base_url = f"http://localhost:{frontend_port}"
    api_url = f"http://127.0.0.1:{backend_port}"
    log_path = tmp / "reflex-run.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "reflex", "run", "--env", "dev",
         "--frontend-port", str(frontend_port), "--backend-port", str(backend_port),
         "--backend-host", "127.0.0.1"],
        cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        started = time.monotonic()
        deadline = started + STARTUP_TIMEOUT_S
        backend_ok = frontend_ok = False
        while True:
            if proc.poll() is not None:
                pytest.fail(f"`reflex run` exited with {proc.returncode} while starting; log {log_path}:\n"
                            + _tail(log_path))
            backend_ok = backend_ok or _status(f"{api_url}/api/health") == 200
            frontend_ok = backend_ok and (frontend_ok or _status(f"{base_url}/login") == 200)
            if backend_ok and frontend_ok:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"app not up after {STARTUP_TIMEOUT_S} s (backend ok: {backend_ok}, frontend ok: "
                            f"{frontend_ok}); log {log_path}:\n" + _tail(log_path))
            time.sleep(1)
        print(f"\n[e2e] app up in {time.monotonic() - started:.1f} s: {base_url} (backend {api_url}), log {log_path}")
        yield LiveApp(base_url=base_url, api_url=api_url, admin=ADMIN, manager=MANAGER, log_path=log_path,
                      database_url=db_url)
    finally:
        _stop_group(proc)
        log.close()


@pytest.fixture(scope="session")
def _playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(_playwright):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (never `playwright install`)")
    b = _playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture()
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ru-RU")
    context.set_default_timeout(15_000)
    pg = context.new_page()
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        try:
            pg.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=True)
        except Exception as exc:  # noqa: BLE001 - a missing screenshot must not hide the failure
            print(f"[e2e] could not save a failure screenshot: {exc}")
    context.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/e2e carries the e2e marker (`-m "not e2e"` skips them all), and they run last:
    Playwright's sync API keeps an event loop running in the main thread while its session is open, which
    would make every later `asyncio.run` in a service test fail."""
    here = Path(__file__).resolve().parent
    e2e = [item for item in items if here in Path(str(item.path)).resolve().parents]
    for item in e2e:
        item.add_marker(pytest.mark.e2e)
    chosen = set(map(id, e2e))
    items[:] = [item for item in items if id(item) not in chosen] + e2e


@pytest.fixture()
def new_context(browser, request) -> Iterator[Callable[..., object]]:
    """`new_context(viewport=None)`: a browser context (its own session) in Russian and Almaty time; a screenshot
    of every page of every context when the test fails."""
    contexts = []

    def make(viewport: dict | None = None):
        ctx = browser.new_context(viewport=viewport or {"width": 1440, "height": 900}, locale="ru-RU",
                                  timezone_id="Asia/Almaty")
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        return ctx

    yield make
    rep = getattr(request.node, "rep_call", None)
    for i, ctx in enumerate(contexts):
        if rep is not None and rep.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            for j, pg in enumerate(ctx.pages):
                try:
                    pg.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}-{i}{j}.png"), full_page=True)
                except Exception as exc:  # noqa: BLE001 - a missing screenshot must not hide the failure
                    print(f"[e2e] could not save a failure screenshot: {exc}")
        ctx.close()
