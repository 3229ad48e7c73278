"""Benchmark the lead board with 10 000 open leads: `.venv/bin/python bench/board.py [--open-leads N]`.

Seeds a fresh temporary SQLite database with the demo generator (migrated first), creates an admin,
starts the app the way tests/e2e/conftest.py does (`reflex run --env dev` on free loopback ports, its
own process group, scheduler and hot reload off) and then, unless `--modes dev`, once more as a
production build (`reflex run --env prod --single-port`: what managers would use), and prints:

* time to first render of the board in headless chromium after login: from navigating to "/" until
  the first card ([data-lead-id]) is visible -- right after login (first visit of the board) and on
  later full loads (warm);
* what the browser receives for that first render: websocket frames and bytes, and how often the
  board's poll event is sent (it should be once every 3 s, and a poll that finds nothing new sends nothing);
* the server time of one move (services.pipeline.move_lead in this process, same database, with
  its commit; median of 20), of the board's reload (what BoardState._reload does after a move:
  board_version, board_columns, board_page, today's reminders), of "move + reload" as one figure
  (what the drop handler does before it answers), and of the poll (board_version);
* the backend's memory (RSS of the reflex/granian Python processes) and the frontend dev server's.

Figures only, no asserts. Everything started here is stopped at the end; the whole run is bounded
(a watchdog stops the app and exits after --budget seconds). Goal (issue 4): first render < 1.5 s,
a move < 100 ms server-side. Do not run it while another `reflex run` of this repo is up (they share .web).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BUN_BIN = REPO / ".tools" / "bun" / "node_modules" / ".bin"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_NAME = "bench-admin@crystalbay.kz", "Bench-Adm1n-Passw0rd!", "Бенч Админов"
OPEN_SHARE = 0.79  # the demo generator closes ~12 % (completed) and loses ~9 % of its leads


def _free_ports(count: int) -> list[int]:
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
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - local URL
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


def _other_reflex_runs() -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            args = [a.decode(errors="replace") for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if "reflex" in " ".join(args) and "run" in args and Path(cwd) == REPO:
            found.append(f"{pid}: {' '.join(args)}")
    return found


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the app's process group; SIGKILL whatever is left after ~10 s."""
    try:
        pgid = os.getpgid(proc.pid)
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
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


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _summary(samples: list[float]) -> str:
    s = sorted(samples)
    return (f"median {_ms(statistics.median(s))}, min {_ms(s[0])}, max {_ms(s[-1])} "
            f"(n={len(s)})")


def seed(url: str, open_leads: int, seed_value: int) -> dict:
    from sqlmodel import col, func, select

    from crystal_bay import migrations
    from crystal_bay.db import make_engine, session_scope
    from crystal_bay.models import Lead
    from crystal_bay.services import demo, users
    from crystal_bay.services.audit import Actor

    started = time.perf_counter()
    migrations.upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            counts = demo.seed_demo(session=session, leads=int(open_leads / OPEN_SHARE) + 200, seed=seed_value)
            users.create_user(session=session, email=ADMIN_EMAIL, name=ADMIN_NAME, role="admin",
                              password=ADMIN_PASSWORD, actor=Actor.system("bench"))
        with session_scope(engine) as session:
            n_open = session.exec(select(func.count()).select_from(Lead).where(col(Lead.outcome).is_(None))).one()
    finally:
        engine.dispose()
    print(f"seeded in {time.perf_counter() - started:.1f} s (migrations included): "
          + ", ".join(f"{k}={v}" for k, v in counts.items()) + f"; open leads: {n_open}")
    return counts


def start_app(url: str, tmp: Path, timeout_s: float, mode: str = "dev") -> tuple[subprocess.Popen, str, str, Path]:
    """`reflex run --env dev` as the e2e tests do, or `--env prod` (a production build, one port)."""
    no_reload = tmp / "hot-reload-watches-nothing"
    no_reload.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.update(DATABASE_URL=url, REFLEX_DB_URL=url, CRYSTAL_BAY_DEMO="1", CRYSTAL_BAY_SCHEDULER="0",
               REFLEX_USE_SYSTEM_BUN="1", PATH=f"{BUN_BIN}{os.pathsep}{env.get('PATH', '')}", PYTHONUNBUFFERED="1",
               REFLEX_HOT_RELOAD_OVERRIDE_PATHS=str(no_reload))
    for name in ("SAMO_API_URL", "SAMO_OAUTH_TOKEN", "ADMIN_EMAIL", "ADMIN_PASSWORD", "REFLEX_REDIS_URL"):
        env.pop(name, None)
    frontend_port, backend_port = _free_ports(2)
    api_url = f"http://127.0.0.1:{backend_port}"
    base_url = f"http://localhost:{frontend_port}" if mode == "dev" else api_url
    ports = ["--frontend-port", str(frontend_port), "--backend-port", str(backend_port)]
    if mode == "prod":
        ports = ["--single-port", "--backend-port", str(backend_port)]
    log_path = tmp / f"reflex-run-{mode}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reflex", "run", "--env", mode, *ports, "--backend-host", "127.0.0.1"],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = time.monotonic()
    backend_ok = frontend_ok = False
    while not (backend_ok and frontend_ok):
        if proc.poll() is not None:
            raise RuntimeError(f"`reflex run` exited with {proc.returncode}; log: {log_path}")
        if time.monotonic() - started > timeout_s:
            raise RuntimeError(f"app not up after {timeout_s:.0f} s; log: {log_path}")
        backend_ok = backend_ok or _status(f"{api_url}/api/health") == 200
        frontend_ok = backend_ok and (frontend_ok or _status(f"{base_url}/login") == 200)
        time.sleep(0.5)
    print(f"app --env {mode} up in {time.monotonic() - started:.1f} s ({base_url}, backend {api_url})")
    return proc, base_url, api_url, log_path


class _Frames:
    """The Reflex websocket's frames on one page: what the server sent, which events the browser sent."""

    def __init__(self, page) -> None:
        self.received: list[int] = []
        self.sent: list[tuple[float, str]] = []
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:
        ws.on("framereceived", lambda payload: self.received.append(len(payload)))
        ws.on("framesent", lambda payload: self.sent.append((time.perf_counter(), str(payload)[:300])))

    def reset(self) -> None:
        self.received.clear()
        self.sent.clear()

    def events(self, name: str) -> list[float]:
        return [at for at, text in self.sent if f".{name}" in text]


def browser_figures(base_url: str, warm_loads: int) -> None:
    from playwright.sync_api import expect, sync_playwright

    card = "[data-lead-id]"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="ru-RU")
            context.set_default_timeout(60_000)
            page = context.new_page()
            frames = _Frames(page)
            t0 = time.perf_counter()
            page.goto(base_url + "/login")
            expect(page.get_by_test_id("demo-banner")).to_be_visible()  # hydrated: the form submits via Reflex
            print(f"  login page ready (first visit): {_ms(time.perf_counter() - t0)}")
            page.locator('input[name="email"]').fill(ADMIN_EMAIL)
            page.locator('input[name="password"]').fill(ADMIN_PASSWORD)
            t0 = time.perf_counter()
            page.get_by_test_id("login-submit").click()
            page.locator(card).first.wait_for(state="visible")
            print(f"  board after login (submit click -> first card; first visit of the board): "
                  f"{_ms(time.perf_counter() - t0)}")

            loads = []
            for _ in range(1 + warm_loads):
                frames.reset()
                t0 = time.perf_counter()
                page.goto(base_url + "/", wait_until="commit")
                page.locator(card).first.wait_for(state="visible")
                loads.append(time.perf_counter() - t0)
            received, n_frames = sum(frames.received), len(frames.received)
            print(f"  FIRST RENDER (full navigation to / -> first card visible): first load {_ms(loads[0])}; "
                  f"warm loads {_summary(loads[1:])}")
            n_cards = page.locator(card).count()
            dom_nodes = page.evaluate("document.getElementsByTagName('*').length")
            print(f"  the board shows {n_cards} cards, {dom_nodes} DOM elements; the last load received "
                  f"{n_frames} websocket frames, {received / 1024:.0f} KB")
            frames.reset()
            page.wait_for_timeout(10_000)  # (not time.sleep: Playwright delivers the frame events while it waits)
            polls = frames.events("poll")
            print(f"  poll: {len(polls)} poll events in 10 s (one every 3 s expected); the server sent "
                  f"{len(frames.received)} frames, {sum(frames.received) / 1024:.1f} KB meanwhile")
            # A fresh browser session (empty cache), logged in through the form again, for one more cold look.
            context.close()
            context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="ru-RU")
            context.set_default_timeout(60_000)
            page = context.new_page()
            page.goto(base_url + "/login")
            expect(page.get_by_test_id("demo-banner")).to_be_visible()
            page.locator('input[name="email"]').fill(ADMIN_EMAIL)
            page.locator('input[name="password"]').fill(ADMIN_PASSWORD)
            page.get_by_test_id("login-submit").click()
            page.locator(card).first.wait_for(state="visible")
            t0 = time.perf_counter()
            page.goto(base_url + "/", wait_until="commit")
            page.locator(card).first.wait_for(state="visible")
            print(f"  first render in a new browser session (new context, logged in): {_ms(time.perf_counter() - t0)}")
            context.close()
        finally:
            browser.close()


def server_figures(url: str, moves: int) -> None:
    from sqlmodel import col, select

    from crystal_bay.db import make_engine, session_scope
    from crystal_bay.models import Lead, User
    from crystal_bay.services import leads as lead_service
    from crystal_bay.services import pipeline, reminders
    from crystal_bay.services.audit import Actor

    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            stages = {s.slug: s.id for s in pipeline.list_stages(session=session)}
            admin = session.exec(select(User).where(User.email == ADMIN_EMAIL)).one()
            ids = list(session.exec(
                select(Lead.id).where(col(Lead.outcome).is_(None), Lead.stage_id == stages["new_request"])
                .order_by(col(Lead.updated_at).desc()).limit(moves)))
        actor = Actor.for_user(admin)
        times = []
        for lead_id in ids:
            t0 = time.perf_counter()
            with session_scope(engine) as session:
                pipeline.move_lead(session=session, lead_id=lead_id, stage_id=stages["consultation"], actor=actor)
            times.append(time.perf_counter() - t0)
        print(f"  MOVE: pipeline.move_lead (own session + commit, new_request -> consultation): {_summary(times)}")

        def reload(filters: lead_service.BoardFilters) -> None:
            """What BoardState._reload asks the services for."""
            with session_scope(engine) as session:
                lead_service.board_version(session=session)
                cols = lead_service.board_columns(session=session, filters=filters, group_by="stage")
                lead_service.board_page(session=session, filters=filters, columns=cols, page_size=20)
                reminders.due_reminders(session=session, user_id=admin.id)

        with session_scope(engine) as session:
            ids = list(session.exec(
                select(Lead.id).where(col(Lead.outcome).is_(None), Lead.stage_id == stages["consultation"])
                .order_by(col(Lead.updated_at).desc()).limit(moves)))
        together = []
        for lead_id in ids:
            t0 = time.perf_counter()
            with session_scope(engine) as session:
                pipeline.move_lead(session=session, lead_id=lead_id, stage_id=stages["tour_selection"], actor=actor)
            reload(lead_service.BoardFilters())
            together.append(time.perf_counter() - t0)
        print(f"  MOVE + RELOAD (move_lead, then the board read again, as the drop handler does): {_summary(together)}")

        for label, filters in (
            ("default view", lead_service.BoardFilters()),
            ("assignee=mine", lead_service.BoardFilters(assignee="mine", me_id=admin.id)),
            ("overdue only", lead_service.BoardFilters(overdue_only=True)),
            ('search q="Нячанг" (message text)', lead_service.BoardFilters(search="Нячанг")),
            ('search q="8 701" (phone)', lead_service.BoardFilters(search="8 701")),
        ):
            samples = []
            for _ in range(8):
                t0 = time.perf_counter()
                reload(filters)
                samples.append(time.perf_counter() - t0)
            print(f"  board reload, {label} (version, columns, board_page of 20 a column, today): {_summary(samples)}")
        samples = []
        for _ in range(20):
            t0 = time.perf_counter()
            with session_scope(engine) as session:
                lead_service.board_version(session=session)
            samples.append(time.perf_counter() - t0)
        print(f"  poll (board_version, every 3 s per open board): {_summary(samples)}")
    finally:
        engine.dispose()


def memory_figures(proc: subprocess.Popen) -> None:
    import psutil

    try:
        root = psutil.Process(proc.pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        print("  memory: the app is gone")
        return
    backend = frontend = 0
    lines = []
    for p in procs:
        try:
            rss = p.memory_info().rss
            name, cmd = p.name(), " ".join(p.cmdline())[:110]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        is_python = "python" in name or "granian" in name or "reflex" in cmd
        is_frontend = any(x in name for x in ("bun", "node")) or "vite" in cmd or "react-router" in cmd
        if is_frontend:
            frontend += rss
        elif is_python:
            backend += rss
        lines.append(f"    {p.pid:>7} {rss / 1_048_576:7.1f} MB  {cmd}")
    print(f"  MEMORY (RSS): backend Python processes {backend / 1_048_576:.0f} MB in total; "
          f"frontend (bun/node dev server) {frontend / 1_048_576:.0f} MB")
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open-leads", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--warm-loads", type=int, default=4)
    parser.add_argument("--modes", default="dev,prod",
                        help="how to run the app, in order: dev (as the e2e tests) and/or prod (production build)")
    parser.add_argument("--budget", type=float, default=280, help="seconds before the watchdog stops everything")
    args = parser.parse_args(argv)

    others = _other_reflex_runs()
    if others:
        print("another `reflex run` of this repo is running (it would share .web); stop it first:\n"
              + "\n".join(others), file=sys.stderr)
        return 2
    if not os.access(BUN_BIN / "bun", os.X_OK):
        print(f"bun is missing at {BUN_BIN}: run ./dev.sh setup first", file=sys.stderr)
        return 2

    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="cb-bench-board-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    proc: subprocess.Popen | None = None
    stop_lock = threading.Lock()

    def stop_everything() -> None:
        with stop_lock:
            if proc is not None:
                _stop_group(proc)

    def watchdog() -> None:
        print(f"\nwatchdog: still running after {args.budget:.0f} s, stopping everything", file=sys.stderr, flush=True)
        stop_everything()
        shutil.rmtree(tmp, ignore_errors=True)
        os._exit(3)

    timer = threading.Timer(args.budget, watchdog)
    timer.daemon = True
    timer.start()
    try:
        seed(url, args.open_leads, args.seed)
        modes = [m.strip() for m in args.modes.split(",") if m.strip() in ("dev", "prod")] or ["dev"]
        for i, mode in enumerate(modes):
            remaining = args.budget - (time.monotonic() - started)
            proc, base_url, _api_url, _log = start_app(url, tmp, timeout_s=max(30.0, remaining - 90), mode=mode)
            browser_figures(base_url, args.warm_loads)
            memory_figures(proc)
            if i == 0:  # in this process, on the same database, the app still running (its board closed)
                print("server side (in-process, same SQLite database):")
                server_figures(url, args.moves)
            stop_everything()
            proc = None
    finally:
        timer.cancel()
        stop_everything()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"total bench time: {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
