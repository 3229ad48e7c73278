"""The lead board and the lead workspace, as a manager uses them in chromium (issue 4).

Data is created through the service layer against the running app's own database (as the API,
the bot or a job would), and checked there afterwards. The board is wider than a laptop screen:
the tests use a wide viewport so the source and target columns of a drag are both on screen.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from crystal_bay.db import make_engine, session_scope
from crystal_bay.models import AuditEvent, Customer, Lead, PipelineStage, User
from crystal_bay.services import intake, pipeline, reminders
from crystal_bay.services import leads as lead_service
from crystal_bay.services.audit import Actor
from crystal_bay.services.intake_schemas import LeadIn, MessageIn
from tests.e2e.conftest import ARTIFACTS, FIRST_NAVIGATION_TIMEOUT_MS, Credentials, LiveApp

pytestmark = pytest.mark.e2e

SLOW = 60_000  # the dev server compiles a page on its first visit
STEP = 15_000
LIVE = 6_000  # the board polls every 3 s; the issue promises 5 s
WIDE = {"width": 3000, "height": 1200}
TZ = ZoneInfo("Asia/Almaty")  # the agency's time zone (settings.timezone default)
API = Actor(type="api", label="e2e (as the API would)")

_phones = itertools.count(random.Random().randrange(1_000_000, 8_000_000))


def _phone() -> str:
    """A fresh, valid Kazakh mobile number (customers are found by phone, so never reuse one)."""
    return f"+7701{next(_phones):07d}"


# ---------- fixtures ----------


@pytest.fixture(scope="module")
def db(live_app: LiveApp) -> Iterator[Engine]:
    assert live_app.database_url, "live_app does not say which database it runs on"
    engine = make_engine(live_app.database_url)
    yield engine
    engine.dispose()




# ---------- helpers ----------


def _create_lead(db: Engine, name: str, *, assignee_id: int | None = None, source: str = "telegram") -> int:
    with session_scope(db) as session:
        lead = lead_service.create_manual_lead(
            session=session, name=name, phone=_phone(), email=None, source=source,
            message=f"Хотим в Нячанг, {name}", assignee_id=assignee_id, actor=API,
        )
        return lead.id


def _user_id(db: Engine, email: str) -> int:
    with session_scope(db) as session:
        return session.exec(select(User.id).where(User.email == email)).one()


def _stage_slug(db: Engine, lead_id: int) -> str:
    with session_scope(db) as session:
        return session.exec(
            select(PipelineStage.slug).join(Lead, col(Lead.stage_id) == col(PipelineStage.id)).where(Lead.id == lead_id)
        ).one()


def _log_in(page: Page, app: LiveApp, user: Credentials) -> None:
    page.goto(app.url("/login"), timeout=FIRST_NAVIGATION_TIMEOUT_MS)
    # The demo banner shows once the page is hydrated and on_load ran: the form then submits via Reflex.
    expect(page.get_by_test_id("demo-banner")).to_be_visible(timeout=SLOW)
    page.locator('input[name="email"]').fill(user.email)
    page.locator('input[name="password"]').fill(user.password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("user-name")).to_have_text(user.name, timeout=SLOW)


def _board(new_context: Callable[[], BrowserContext], app: LiveApp, user: Credentials) -> Page:
    """A new session logged in as `user`, on the board with its columns drawn."""
    page = new_context(WIDE).new_page()
    _log_in(page, app, user)
    expect(page.get_by_role("heading", name="Доска заявок")).to_be_visible(timeout=SLOW)
    expect(page.locator('[data-stage-id="new_request"]')).to_be_visible(timeout=SLOW)
    return page


def _card(page: Page, lead_id: int, stage: str | None = None):
    scope = f'[data-stage-id="{stage}"] ' if stage else ""
    return page.locator(f'{scope}[data-lead-id="{lead_id}"]')


def _drag(page: Page, lead_id: int, stage: str) -> None:
    """Drag this card (by id: the poll may reorder cards, never re-resolve `.first`) onto a column."""
    page.locator(f'[data-lead-id="{lead_id}"] .lead-card').drag_to(page.locator(f'[data-stage-id="{stage}"]'))


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _toast(page: Page, kind: str, text: str):
    """The toast of this kind with this text, once it has faded in (so a screenshot shows it)."""
    toast = page.locator(f'[data-sonner-toast][data-type="{kind}"]', has_text=text)
    expect(toast).to_be_visible(timeout=STEP)
    expect(toast).to_have_css("opacity", "1")
    return toast


def _board_lead_ids(page: Page) -> set[int]:
    return {int(v) for v in page.locator("[data-lead-id]").evaluate_all("els => els.map(e => e.dataset.leadId)")}


# ---------- tests ----------


def test_drag_to_consultation_is_saved_and_audited(new_context, live_app: LiveApp, db: Engine) -> None:
    lead_id = _create_lead(db, "Дина Перетаскова")
    page = _board(new_context, live_app, live_app.admin)
    expect(_card(page, lead_id, "new_request")).to_be_visible(timeout=STEP)

    _drag(page, lead_id, "consultation")

    expect(_card(page, lead_id, "consultation")).to_be_visible(timeout=STEP)
    expect(_card(page, lead_id, "new_request")).to_have_count(0)
    _toast(page, "success", "Заявка перемещена")
    _shot(page, "e2e-board-after-drag.png")

    page.reload(timeout=SLOW)
    expect(_card(page, lead_id, "consultation")).to_be_visible(timeout=SLOW)
    expect(_card(page, lead_id, "new_request")).to_have_count(0)

    assert _stage_slug(db, lead_id) == "consultation"
    with session_scope(db) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.entity_type == "lead", AuditEvent.entity_id == lead_id,
                                     AuditEvent.action == "stage_changed")
        ).all()
        admin_id = session.exec(select(User.id).where(User.email == live_app.admin.email)).one()
    assert len(events) == 1, events
    assert events[0].data["to_stage"] == "consultation"
    assert events[0].actor_type == "user" and events[0].actor_id == admin_id


def test_drop_on_completed_without_outcome_is_refused(new_context, live_app: LiveApp, db: Engine) -> None:
    lead_id = _create_lead(db, "Ерлан Незакрытов")
    page = _board(new_context, live_app, live_app.admin)
    expect(_card(page, lead_id, "new_request")).to_be_visible(timeout=STEP)

    _drag(page, lead_id, "completed")

    _toast(page, "error", "Чтобы закрыть заявку, выберите итог")
    _shot(page, "e2e-board-refused-close.png")
    expect(_card(page, lead_id, "new_request")).to_be_visible()
    expect(_card(page, lead_id, "completed")).to_have_count(0)
    assert _stage_slug(db, lead_id) == "new_request"
    with session_scope(db) as session:
        moved = session.exec(select(AuditEvent.id).where(AuditEvent.entity_id == lead_id,
                                                         AuditEvent.action == "stage_changed")).all()
    assert moved == []


def test_filter_by_assignee_is_in_the_url(new_context, live_app: LiveApp, db: Engine) -> None:
    manager_id = _user_id(db, live_app.manager.email)
    admin_id = _user_id(db, live_app.admin.email)
    mine = _create_lead(db, "Сауле Менеджерова", assignee_id=manager_id)
    others = _create_lead(db, "Тимур Админов", assignee_id=admin_id)
    nobody = _create_lead(db, "Асель Ничейная")

    # As admin: pick the manager in the assignee select.
    page = _board(new_context, live_app, live_app.admin)
    for lead_id in (mine, others, nobody):
        expect(_card(page, lead_id)).to_be_visible(timeout=STEP)
    page.get_by_text("Менеджер", exact=True).locator("xpath=following-sibling::*[1]").click()
    page.get_by_role("option", name=live_app.manager.name, exact=True).click()

    expect(page).to_have_url(re.compile(rf"[?&]assignee={manager_id}(&|$)"), timeout=STEP)
    expect(_card(page, others)).to_have_count(0, timeout=STEP)
    expect(_card(page, nobody)).to_have_count(0)
    expect(_card(page, mine, "new_request")).to_be_visible()
    with session_scope(db) as session:
        managers_leads = set(session.exec(select(Lead.id).where(Lead.assignee_id == manager_id)).all())
    shown = _board_lead_ids(page)
    assert mine in shown and shown <= managers_leads, (shown, managers_leads)
    _shot(page, "e2e-board-filter-assignee.png")

    # The URL is the view: opened in a new page it shows the same filtered board.
    url = page.url
    assert parse_qs(urlparse(url).query)["assignee"] == [str(manager_id)]
    again = page.context.new_page()
    again.goto(url, timeout=SLOW)
    expect(_card(again, mine, "new_request")).to_be_visible(timeout=SLOW)
    expect(_card(again, others)).to_have_count(0)
    expect(_card(again, nobody)).to_have_count(0)
    assert _board_lead_ids(again) <= managers_leads

    # As the manager: "mine" shows the manager's leads only.
    mpage = _board(new_context, live_app, live_app.manager)
    expect(_card(mpage, others)).to_be_visible(timeout=STEP)
    mpage.goto(live_app.url("/?assignee=mine"), timeout=SLOW)
    expect(_card(mpage, mine, "new_request")).to_be_visible(timeout=SLOW)
    expect(_card(mpage, others)).to_have_count(0)
    expect(_card(mpage, nobody)).to_have_count(0)
    assert _board_lead_ids(mpage) <= managers_leads


def test_note_and_overdue_reminder(new_context, live_app: LiveApp, db: Engine) -> None:
    name = "Гульнара Напоминаева"
    lead_id = _create_lead(db, name, assignee_id=_user_id(db, live_app.admin.email))
    page = _board(new_context, live_app, live_app.admin)
    page.locator(f'[data-lead-id="{lead_id}"] [data-testid="card-name"]').click()

    expect(page).to_have_url(re.compile(rf"/lead/{lead_id}/?$"), timeout=SLOW)
    expect(page.get_by_test_id("lead-title")).to_have_text(name, timeout=SLOW)
    expect(page.get_by_test_id("lead-stage")).to_have_text("Новый запрос")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text(f"Хотим в Нячанг, {name}")  # the message became a note

    note = "Клиент просит перезвонить после 18:00"
    page.locator('textarea[name="note"]').fill(note)
    page.get_by_test_id("add-note").click()
    expect(timeline).to_contain_text(note, timeout=STEP)

    due = (dt.datetime.now(TZ) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    reminder = "Отправить подборку отелей"
    page.locator('input[name="due"]').fill(due)
    page.locator('input[name="text"]').fill(reminder)
    page.get_by_role("button", name="Напомнить", exact=True).click()
    expect(page.get_by_text(reminder, exact=True)).to_be_visible(timeout=STEP)
    _shot(page, "e2e-lead-page.png")

    page.get_by_role("link", name="Доска").first.click()
    card = _card(page, lead_id)
    expect(card).to_be_visible(timeout=SLOW)
    expect(card.get_by_test_id("overdue")).to_have_text("Просрочено")
    today = page.get_by_test_id("today")
    expect(today).to_contain_text("Сегодня")
    expect(today).to_contain_text(reminder)
    expect(today.get_by_role("link", name=name)).to_be_visible()
    _shot(page, "e2e-board-overdue-today.png")


def test_second_session_sees_new_lead_and_moves_live(new_context, live_app: LiveApp, db: Engine) -> None:
    watcher = _board(new_context, live_app, live_app.manager)
    mover = _board(new_context, live_app, live_app.admin)

    # Through the API's own intake service, as POST /api/leads or the bot would.
    text = "Здравствуйте! Хотим в Анталью в мае, двое взрослых."
    with session_scope(db) as session:
        data = LeadIn(name="Олжас Живой", phone=_phone(), source="telegram", message=text)
        lead_id = intake.submit_lead(session=session, data=data, actor=API).lead_id
    expect(_card(watcher, lead_id, "new_request")).to_be_visible(timeout=LIVE)
    expect(_card(mover, lead_id, "new_request")).to_be_visible(timeout=LIVE)

    # A card moved by someone else moves on the other board too.
    _drag(mover, lead_id, "consultation")
    expect(_card(mover, lead_id, "consultation")).to_be_visible(timeout=STEP)
    expect(_card(watcher, lead_id, "consultation")).to_be_visible(timeout=LIVE)
    expect(_card(watcher, lead_id, "new_request")).to_have_count(0)

    # The customer's message is on the lead's timeline, with its channel named for people.
    watcher.locator(f'[data-lead-id="{lead_id}"] [data-testid="card-name"]').click()
    expect(watcher.get_by_test_id("lead-title")).to_have_text("Олжас Живой", timeout=SLOW)
    expect(watcher.get_by_test_id("lead-stage")).to_have_text("Консультация")
    message = watcher.get_by_test_id("timeline").locator('.timeline-item[data-kind="message"]', has_text=text)
    expect(message).to_be_visible()
    expect(message.get_by_test_id("message-channel")).to_have_text("Telegram")
    _shot(watcher, "e2e-lead-page-message.png")


def test_create_lead_by_hand_from_the_board(new_context, live_app: LiveApp, db: Engine) -> None:
    page = _board(new_context, live_app, live_app.admin)
    page.get_by_test_id("new-lead").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Новая заявка")).to_be_visible(timeout=STEP)
    name = "Бауыржан Звонков"
    dialog.get_by_label("Имя клиента").fill(name)  # every field has a label
    dialog.get_by_label("Телефон").fill("8 701 555 44 33")
    expect(dialog.get_by_label("Эл. почта")).to_be_visible()
    dialog.get_by_label("Что хочет клиент").fill("Звонок: Турция, август, двое взрослых")
    _shot(page, "e2e-board-new-lead-dialog.png")
    dialog.get_by_role("button", name="Создать").click()

    expect(dialog).to_have_count(0, timeout=STEP)
    expect(page.get_by_text(re.compile(r"Заявка №\d+ создана"))).to_be_visible(timeout=STEP)
    with session_scope(db) as session:
        lead_id, phone = session.exec(
            select(Lead.id, Customer.phone).join(Customer, col(Customer.id) == col(Lead.customer_id))
            .where(Customer.name == name)
        ).one()
        admin_id = session.exec(select(User.id).where(User.email == live_app.admin.email)).one()
        assignee = session.get(Lead, lead_id).assignee_id
    assert phone == "+77015554433"
    assert assignee == admin_id  # "assign to me" is ticked by default
    card = _card(page, lead_id, "new_request")
    expect(card).to_be_visible(timeout=STEP)
    expect(card.get_by_test_id("card-name")).to_have_text(name)
    _shot(page, "e2e-board-after-create.png")


def test_board_is_a_fixed_area_with_scrolling_columns(new_context, live_app: LiveApp, db: Engine) -> None:
    made = [_create_lead(db, f"Колонка Прокруткина {i}") for i in range(14)]
    page = new_context(WIDE).new_page()
    page.set_viewport_size({"width": 1400, "height": 900})  # a laptop: the nine columns do not fit
    _log_in(page, live_app, live_app.admin)
    expect(_card(page, made[-1], "new_request")).to_be_visible(timeout=SLOW)
    sizes = page.evaluate("""async () => {
        await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));  // off-screen parts laid out
        const board = document.querySelector('[data-testid="board"]');
        const body = document.querySelector('[data-stage-id="new_request"] .cb-col-body');
        const doc = document.scrollingElement;
        return {boardW: board.scrollWidth, boardCW: board.clientWidth, bodyH: body.scrollHeight,
                bodyCH: body.clientHeight, docW: doc.scrollWidth, docH: doc.scrollHeight,
                winW: window.innerWidth, winH: window.innerHeight};
    }""")
    _shot(page, "e2e-board-layout.png")
    assert sizes["boardW"] > sizes["boardCW"], sizes  # the columns scroll sideways inside the board...
    assert sizes["docW"] <= sizes["winW"], sizes  # ...not the whole page
    assert sizes["bodyH"] > sizes["bodyCH"], sizes  # a long column scrolls on its own
    assert sizes["docH"] <= sizes["winH"] + 2, sizes  # and the page does not become one tall box
    # Columns show their money the same way as the cards.
    with session_scope(db) as session:
        lead_service.update_travel_request(session=session, lead_id=made[0], actor=API,
                                           data=lead_service.TravelRequestUpdate(budget=1500000, currency="KZT"))
    expect(_card(page, made[0]).get_by_test_id("card-budget")).to_have_text("1 500 000 ₸", timeout=LIVE)
    expect(page.locator('[data-stage-id="new_request"] [data-testid="column-totals"]')).to_contain_text(
        "1 500 000 ₸")


def test_reminder_due_today_and_coming_due_show_live(new_context, live_app: LiveApp, db: Engine) -> None:
    admin_id = _user_id(db, live_app.admin.email)
    lead_id = _create_lead(db, "Гаухар Сегодняшняя", assignee_id=admin_id)
    page = _board(new_context, live_app, live_app.admin)
    card = _card(page, lead_id)
    expect(card).to_be_visible(timeout=STEP)
    expect(card.get_by_test_id("overdue")).to_have_count(0)
    due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=8)  # later today, then past due while we watch
    with session_scope(db) as session:
        reminders.set_reminder(session=session, lead_id=lead_id, due_at=due, text="Позвонить до обеда",
                               actor=Actor(type="user", id=admin_id, label="e2e"))
    if due.astimezone(TZ).date() == dt.datetime.now(TZ).date():
        expect(card.get_by_test_id("due-today")).to_have_text("Сегодня", timeout=LIVE)
    expect(page.get_by_test_id("today")).to_contain_text("Позвонить до обеда", timeout=LIVE)
    # Nothing about the lead changes when the reminder comes due: the open board still notices.
    expect(card.get_by_test_id("overdue")).to_have_text("Просрочено", timeout=15_000)
    expect(card.get_by_test_id("due-today")).to_have_count(0)


def test_lead_page_updates_live(new_context, live_app: LiveApp, db: Engine) -> None:
    lead_id = _create_lead(db, "Ержан Живоглядов")
    page = _board(new_context, live_app, live_app.admin)
    page.goto(live_app.url(f"/lead/{lead_id}"), timeout=SLOW)
    expect(page.get_by_test_id("lead-title")).to_have_text("Ержан Живоглядов", timeout=SLOW)
    expect(page.get_by_test_id("customer-phones")).to_contain_text(re.compile(r"^\+7 701 \d{3} \d{2} \d{2}$"))
    expect(page.get_by_test_id("customer-language")).to_have_text("Язык: Русский")
    with session_scope(db) as session:  # the customer writes again (as the API would), a colleague moves the lead
        intake.log_message(session=session, lead_id=lead_id, actor=API,
                           data=MessageIn(channel="telegram", direction="inbound", text="А есть что-то в Дубае?"))
        stage = lead_service.get_stage(session=session, slug="consultation")
        pipeline.move_lead(session=session, lead_id=lead_id, stage_id=stage.id, actor=API)
    expect(page.get_by_test_id("timeline")).to_contain_text("А есть что-то в Дубае?", timeout=LIVE)
    expect(page.get_by_test_id("lead-stage")).to_have_text("Консультация", timeout=LIVE)
    _shot(page, "e2e-lead-page-live.png")


def test_drop_while_grouped_by_status_says_why_nothing_moved(new_context, live_app: LiveApp, db: Engine) -> None:
    lead_id = _create_lead(db, "Сания Статусова")
    page = _board(new_context, live_app, live_app.admin)
    page.get_by_role("radio", name="По статусам").click()
    expect(page).to_have_url(re.compile(r"[?&]group=status(&|$)"), timeout=STEP)
    expect(_card(page, lead_id, "new")).to_be_visible(timeout=STEP)
    _drag(page, lead_id, "in_progress")
    _toast(page, "info", "По этапам")
    expect(_card(page, lead_id, "new")).to_be_visible()
    _drag(page, lead_id, "pending")  # again: the message is replaced, toasts do not pile up
    expect(page.locator("[data-sonner-toast]")).to_have_count(1)
    assert _stage_slug(db, lead_id) == "new_request"


def test_tag_filter_finds_tags_as_you_type(new_context, live_app: LiveApp, db: Engine) -> None:
    tag = f"Экспедиция {random.randrange(10_000, 99_999)}"
    tagged, other = _create_lead(db, "Тагир Тегов"), _create_lead(db, "Нетег Нетегов")
    with session_scope(db) as session:
        for i in range(52):  # more tags than the old fixed list of 50 showed
            lead_service.add_tag(session=session, lead_id=other, name=f"Массовка {i:02d}", actor=API)
        lead_service.add_tag(session=session, lead_id=tagged, name=tag, actor=API)
    page = _board(new_context, live_app, live_app.admin)
    expect(_card(page, other)).to_be_visible(timeout=STEP)
    box = page.locator('input[name="filter-tag"]')
    box.fill(tag[:6])
    expect(page.locator(f'#board-tag-options option[value="{tag}"]')).to_have_count(1, timeout=STEP)
    box.fill(tag)
    expect(page).to_have_url(re.compile(r"[?&]tag="), timeout=STEP)
    assert parse_qs(urlparse(page.url).query)["tag"] == [tag]
    expect(_card(page, other)).to_have_count(0, timeout=STEP)
    expect(_card(page, tagged)).to_be_visible()
    page.reload(timeout=SLOW)  # from the URL: the filter shows the tag although it was never suggested here
    expect(page.locator('input[name="filter-tag"]')).to_have_value(tag, timeout=SLOW)
    expect(_card(page, tagged)).to_be_visible(timeout=STEP)
    expect(_card(page, other)).to_have_count(0)
