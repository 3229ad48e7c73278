"""The lead board: columns, cards, filters in the URL, drag-and-drop moves, live refresh."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from urllib.parse import urlencode

import reflex as rx

from crystal_bay import i18n
from crystal_bay.db import session_scope
from crystal_bay.models import Channel, Outcome
from crystal_bay.services import leads as lead_service
from crystal_bay.services import pipeline, reminders
from crystal_bay.services import users as user_service
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import DomainError
from crystal_bay.settings import get_settings
from crystal_bay.state.base import AppState
from crystal_bay.state.guard import requires

PAGE_SIZE = 20  # cards per column on first load; "load more" adds as many again
TAG_MATCHES = 20
FILTER_KEYS = ("assignee", "channel", "tag", "status", "from", "to", "overdue", "lost", "q", "group")
TOAST_ID = "board"  # one toast at a time: a new message replaces the last one instead of piling up


@dataclasses.dataclass
class CardView:
    """One card, every text already formatted (the browser only places it)."""

    id: int
    stage_id: int
    href: str
    customer_name: str
    channel: str
    channel_label: str  # the channel named for people (the icon's hint)
    destination: str
    dates: str
    travellers: str
    budget: str  # with the currency's sign, e.g. "3 000 $"
    score: str  # "" when the lead has no score
    score_tone: str  # green | amber | gray
    score_title: str  # "Оценка ИИ: reason; reason"
    assignee_initials: str
    since_message: str
    overdue: bool
    today: bool  # a reminder is due later today
    needs_human: bool
    lost: bool
    tags: list[str]


@dataclasses.dataclass
class ColumnView:
    key: str
    stage_id: int
    title: str
    count: int
    totals: str
    cards: list[CardView]
    has_more: bool


@dataclasses.dataclass
class Option:
    value: str
    label: str


@dataclasses.dataclass
class TodayItem:
    reminder_id: int
    lead_id: int
    href: str
    customer_name: str
    text: str
    due: str
    overdue: bool


def _ago(lang: str, when: dt.datetime | None, now: dt.datetime) -> str:
    """'5 мин', '3 ч', '2 д' since a moment; '' when unknown."""
    if when is None:
        return ""
    minutes = max(0, int((now - when).total_seconds() // 60))
    if minutes < 60:
        return i18n.tr(lang, "time.minutes", n=minutes)
    if minutes < 48 * 60:
        return i18n.tr(lang, "time.hours", n=minutes // 60)
    return i18n.tr(lang, "time.days", n=minutes // (60 * 24))


def _score_tone(score: int) -> str:
    return "green" if score >= 70 else "amber" if score >= 40 else "gray"


def toast(kind: str, text: str, toast_id: str = TOAST_ID):
    """A toast that replaces the page's previous one (same id) rather than stacking under it."""
    return getattr(rx.toast, kind)(text, id=toast_id)


class BoardState(AppState):
    """The Kanban of leads; everything it changes goes through the services."""

    columns: list[ColumnView] = []
    group_by: str = "stage"
    f_assignee: str = ""
    f_channel: str = ""
    f_tag: str = ""
    f_status: str = ""
    f_from: str = ""
    f_to: str = ""
    f_overdue: bool = False
    f_lost: bool = False
    f_search: str = ""
    tag_query: str = ""  # what is typed in the tag filter (the filter itself is f_tag)
    tag_matches: list[str] = []
    managers: list[Option] = []
    stages: list[Option] = []
    today: list[TodayItem] = []
    lost_dialog_open: bool = False
    lost_lead_id: int = 0
    create_open: bool = False
    create_error: str = ""
    _version: str = ""
    _limits: dict[str, int] = {}

    @rx.var
    def channel_options(self) -> list[Option]:
        return [Option(value=c.value, label=i18n.tr(self.lang, f"channel.{c.value}")) for c in Channel]

    @rx.var
    def status_options(self) -> list[Option]:
        cats = ("new", "in_progress", "pending", "confirmed", "closed")
        return [Option(value=c, label=i18n.tr(self.lang, f"status.{c}")) for c in cats]

    @rx.var
    def filters_active(self) -> bool:
        return any([self.f_assignee, self.f_channel, self.f_tag, self.f_status, self.f_from, self.f_to,
                    self.f_overdue, self.f_lost, self.f_search])

    # ---------- helpers (not handlers) ----------

    def _filters(self) -> lead_service.BoardFilters:
        def date_or_none(value: str) -> dt.date | None:
            try:
                return dt.date.fromisoformat(value) if value else None
            except ValueError:
                return None

        return lead_service.BoardFilters(
            assignee=self.f_assignee or None, me_id=self.user_id or None, channel=self.f_channel or None,
            tag=self.f_tag or None, status=self.f_status or None, created_from=date_or_none(self.f_from),
            created_to=date_or_none(self.f_to), overdue_only=self.f_overdue, include_lost=self.f_lost,
            search=self.f_search.strip()[:100],
        )

    def _card(self, card: lead_service.LeadCard, now: dt.datetime, score_label: str) -> CardView:
        score = card.score
        reasons = "; ".join(card.score_reasons)
        return CardView(
            id=card.id, stage_id=card.stage_id, href=f"/lead/{card.id}", customer_name=card.customer_name or "—",
            channel=card.channel, channel_label=i18n.tr(self.lang, f"channel.{card.channel}"),
            destination=card.destination, dates=card.dates, travellers=card.travellers,
            budget=lead_service.format_money(card.budget, card.currency) if card.budget else "",
            score="" if score is None else str(score), score_tone=_score_tone(score or 0),
            score_title=f"{score_label}: {reasons}" if reasons else score_label,
            assignee_initials=card.assignee_initials, since_message=_ago(self.lang, card.last_customer_message_at, now),
            overdue=card.overdue, today=card.due_today, needs_human=card.needs_human,
            lost=card.outcome == Outcome.lost.value, tags=list(card.tags),
        )

    def _reload(self) -> None:
        """Columns, cards and today's reminders from the database. Only what changed is assigned, so a
        reload that finds the same board sends nothing to the browser."""
        filters = self._filters()
        now = dt.datetime.now(dt.UTC)
        score_label = i18n.tr(self.lang, "card.score")
        with session_scope() as session:
            # The version first: a change landing while the cards are read then shows on the next poll.
            self._version = lead_service.board_version(session=session, now=now)
            cols = lead_service.board_columns(session=session, filters=filters, group_by=self.group_by)
            cards = lead_service.board_page(session=session, filters=filters, columns=cols, group_by=self.group_by,
                                            limits=self._limits, page_size=PAGE_SIZE)
            views = [
                ColumnView(
                    key=col.key, stage_id=col.stage_id or 0,
                    title=col.title_en if self.lang == "en" else col.title_ru, count=col.count,
                    totals=lead_service.format_totals(col.totals),
                    cards=[self._card(c, now, score_label) for c in cards[col.key]],
                    has_more=col.count > len(cards[col.key]),
                )
                for col in cols
            ]
            due = reminders.due_reminders(session=session, user_id=self.user_id, until=reminders.end_of_today(now=now))
        tz = get_settings().timezone
        today = [
            TodayItem(reminder_id=r.reminder_id, lead_id=r.lead_id, href=f"/lead/{r.lead_id}",
                      customer_name=r.customer_name, text=r.text, due=i18n.format_datetime(r.due_at, tz),
                      overdue=r.overdue)
            for r in due
        ]
        if views != self.columns:
            self.columns = views
        if today != self.today:
            self.today = today

    def _load_choices(self) -> None:
        with session_scope() as session:
            people = [u for u in user_service.list_users(session=session) if u.is_active]
            stages = pipeline.list_stages(session=session)
        self.managers = [Option(value=str(u.id), label=u.name) for u in people]
        self.stages = [Option(value=str(s.id), label=s.name_en if self.lang == "en" else s.name_ru) for s in stages]

    def _url_event(self):
        params = {
            "assignee": self.f_assignee, "channel": self.f_channel, "tag": self.f_tag, "status": self.f_status,
            "from": self.f_from, "to": self.f_to, "overdue": "1" if self.f_overdue else "",
            "lost": "1" if self.f_lost else "", "q": self.f_search,
            "group": "status" if self.group_by == "status" else "",
        }
        query = urlencode({k: v for k, v in params.items() if v})
        url = "/" + (f"?{query}" if query else "")
        return rx.call_script(f"window.history.replaceState(null, '', {json.dumps(url)})")

    def _actor(self) -> Actor:
        return Actor(type="user", id=self.user_id, label=self.user_name)

    def _fail(self, exc: DomainError):
        key = f"error.{exc.code}"
        text = i18n.tr(self.lang, key)
        return toast("error", exc.message if text == key else text)

    # ---------- page load and live refresh ----------

    @requires()
    def load(self):
        """Page load: read the filters from the URL, then load columns, choices and today's reminders."""
        self.access = "ok"
        q = self.router.url.query_parameters
        self.f_assignee, self.f_channel = q.get("assignee", ""), q.get("channel", "")
        self.f_tag, self.f_status = q.get("tag", ""), q.get("status", "")
        self.f_from, self.f_to = q.get("from", ""), q.get("to", "")
        self.f_overdue, self.f_lost = q.get("overdue") == "1", q.get("lost") == "1"
        self.f_search = q.get("q", "")
        self.tag_query, self.tag_matches = self.f_tag, []
        self.group_by = "status" if q.get("group") == "status" else "stage"
        self._limits = {}
        self._load_choices()
        self._reload()

    @requires()
    def poll(self, _tick: str = ""):
        """Every few seconds: reload when anything on the board changed (another manager, the API, the bot,
        a job) or a reminder came due; otherwise nothing is sent."""
        with session_scope() as session:
            version = lead_service.board_version(session=session)
        if version != self._version:
            self._reload()

    # ---------- filters ----------

    def _apply(self):
        self._limits = {}
        self._reload()
        return self._url_event()

    @requires()
    def set_filter(self, key: str, value: str):
        """Change one filter (text or choice) and reload; the URL follows."""
        value = str(value or "")[:100]
        if value == "__all__":
            value = ""
        mapping = {"assignee": "f_assignee", "channel": "f_channel", "tag": "f_tag", "status": "f_status",
                   "from": "f_from", "to": "f_to", "q": "f_search"}
        if key not in mapping:
            return None
        setattr(self, mapping[key], value)
        if key == "tag":
            self.tag_query = value
        return self._apply()

    @requires()
    def type_tag(self, value: str):
        """Typing in the tag filter: suggest the tags that start with it; an exact tag (or nothing) filters."""
        value = " ".join(str(value or "").split())[:lead_service.MAX_TAG]
        self.tag_query = value
        with session_scope() as session:
            self.tag_matches = lead_service.tag_suggestions(session=session, prefix=value, limit=TAG_MATCHES)
        exact = next((t for t in self.tag_matches if t.casefold() == value.casefold()), None) if value else ""
        if exact is None or exact == self.f_tag:
            return None
        self.f_tag = exact
        return self._apply()

    @requires()
    def toggle_filter(self, key: str, value: bool):
        """Switch 'overdue only' or 'show lost'."""
        if key == "overdue":
            self.f_overdue = bool(value)
        elif key == "lost":
            self.f_lost = bool(value)
        else:
            return None
        return self._apply()

    @requires()
    def set_group(self, group: str | list[str]):
        """Group columns by pipeline stage or by status category."""
        self.group_by = "status" if group == "status" else "stage"
        return self._apply()

    @requires()
    def clear_filters(self):
        """Back to the default view."""
        self.f_assignee = self.f_channel = self.f_tag = self.f_status = self.f_from = self.f_to = self.f_search = ""
        self.tag_query = ""
        self.f_overdue = self.f_lost = False
        return self._apply()

    @requires()
    def load_more(self, key: str):
        """Show the next page of cards in one column."""
        self._limits = {**self._limits, key: self._limits.get(key, PAGE_SIZE) + PAGE_SIZE}
        self._reload()

    # ---------- moves ----------

    def _move(self, lead_id: int, stage_id: int, outcome: str | None = None):
        try:
            with session_scope() as session:
                pipeline.move_lead(session=session, lead_id=lead_id, stage_id=stage_id, actor=self._actor(),
                                   outcome=outcome)
        except DomainError as exc:
            self._reload()  # the card snaps back to where the database has it
            return self._fail(exc)
        self._reload()
        return toast("success", i18n.tr(self.lang, "board.moved"))

    @requires()
    def on_drop(self, payload: dict):
        """A card was dropped: move it to the column under the pointer (or ask why it was lost)."""
        source = payload.get("source") or {}
        targets = [payload.get("target") or {}, *(payload.get("dropTargets") or [])]
        target = next((t for t in targets if isinstance(t, dict) and t.get("kind")), {})  # not a scroll area
        try:
            lead_id = int(source.get("lead_id"))
            from_stage = int(source.get("stage_id"))
        except (TypeError, ValueError):
            return None
        if not target:
            return None
        if self.group_by != "stage":  # a status category spans several stages: which one is not known
            return toast("info", i18n.tr(self.lang, "board.drop_by_stage"))
        if target.get("kind") == "lost":
            self.lost_lead_id, self.lost_dialog_open = lead_id, True
            return None
        try:
            stage_id = int(target.get("stage_id"))
        except (TypeError, ValueError):
            return None
        if stage_id == from_stage:
            return None
        return self._move(lead_id, stage_id)

    @requires()
    def move_to(self, lead_id: int, stage_id: int):
        """Move from the card's menu (keyboard and touch users)."""
        return self._move(int(lead_id), int(stage_id))

    @requires()
    def mark_won(self, lead_id: int):
        """Close the lead as won (the last stage)."""
        with session_scope() as session:
            last = pipeline.list_stages(session=session)[-1]
        return self._move(int(lead_id), last.id, outcome=Outcome.won.value)

    @requires()
    def ask_lost(self, lead_id: int):
        """Open the 'why was it lost?' dialog for a card."""
        self.lost_lead_id, self.lost_dialog_open = int(lead_id), True

    @requires()
    def cancel_lost(self):
        """Close the dialog; nothing changes."""
        self.lost_dialog_open, self.lost_lead_id = False, 0

    @requires()
    def confirm_lost(self, form_data: dict):
        """Mark the lead lost with the reason typed in the dialog."""
        try:
            with session_scope() as session:
                pipeline.mark_lost(session=session, lead_id=self.lost_lead_id,
                                   reason=str(form_data.get("reason") or ""), actor=self._actor())
        except DomainError as exc:
            return self._fail(exc)
        self.lost_dialog_open, self.lost_lead_id = False, 0
        self._reload()
        return toast("success", i18n.tr(self.lang, "board.marked_lost"))

    @requires()
    def reopen(self, lead_id: int):
        """Bring a lost or closed lead back to work."""
        with session_scope() as session:
            pipeline.reopen(session=session, lead_id=int(lead_id), actor=self._actor())
        self._reload()

    # ---------- reminders and new leads ----------

    @requires()
    def complete_reminder(self, reminder_id: int):
        """Tick off a reminder from the 'Today' list."""
        try:
            with session_scope() as session:
                reminders.complete_reminder(session=session, reminder_id=int(reminder_id), actor=self._actor())
        except DomainError as exc:
            return self._fail(exc)
        self._reload()
        return None

    @requires()
    def open_create(self, value: bool = True):
        """Open or close the 'new lead' dialog."""
        self.create_open, self.create_error = bool(value), ""

    @requires()
    def create_lead(self, form_data: dict):
        """Create a lead by hand (a phone call, a walk-in); optionally assign it to me."""
        try:
            with session_scope() as session:
                lead = lead_service.create_manual_lead(
                    session=session, name=str(form_data.get("name") or "").strip(),
                    phone=str(form_data.get("phone") or "").strip() or None,
                    email=str(form_data.get("email") or "").strip() or None,
                    source=str(form_data.get("source") or Channel.phone.value),
                    message=str(form_data.get("message") or "").strip() or None,
                    assignee_id=self.user_id if form_data.get("assign_to_me") else None, actor=self._actor(),
                )
                lead_id = lead.id
        except DomainError as exc:
            key = f"error.{exc.code}"
            self.create_error = exc.message if i18n.tr(self.lang, key) == key else i18n.tr(self.lang, key)
            return None
        self.create_open, self.create_error = False, ""
        self._reload()
        return toast("success", i18n.tr(self.lang, "board.created", id=lead_id))
