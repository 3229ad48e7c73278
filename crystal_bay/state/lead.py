"""The lead workspace: customer, timeline, travel request, assignment, tags, reminders."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from crystal_bay import i18n
from crystal_bay.db import session_scope
from crystal_bay.services import conversations, customers, pipeline, reminders
from crystal_bay.services import leads as lead_service
from crystal_bay.services import users as user_service
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import DomainError, ValidationFailed
from crystal_bay.settings import get_settings
from crystal_bay.state.base import AppState
from crystal_bay.state.board import Option, toast
from crystal_bay.state.guard import requires

LANGUAGE_NAMES = {"ru": "Русский", "en": "English"}
TOAST_ID = "lead"
TRAVEL_FIELDS = ("departure_city", "country", "resort", "date_from", "date_to", "nights_min", "nights_max",
                 "adults", "children", "children_ages", "budget", "currency", "hotel_stars", "meal")


@dataclasses.dataclass
class TimelineRow:
    at: str
    kind: str
    direction: str
    channel: str
    author: str
    text: str


@dataclasses.dataclass
class ReminderRow:
    reminder_id: int
    due: str
    text: str
    done: bool
    overdue: bool


@dataclasses.dataclass
class OtherLead:
    lead_id: int
    stage: str
    status: str
    created: str


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, Decimal):
        return f"{value:f}".rstrip("0").rstrip(".") if "." in f"{value:f}" else f"{value:f}"
    return str(value)


def _parse_travel(form: dict) -> lead_service.TravelRequestUpdate:
    """Form strings → typed request; a value that is not even the right type names its field."""

    def get(name: str) -> str:
        return str(form.get(name) or "").strip()

    def as_int(name: str) -> int | None:
        raw = get(name)
        try:
            return int(raw) if raw else None
        except ValueError:
            raise ValidationFailed(f"{name} must be a whole number.", field=name) from None

    def as_date(name: str) -> dt.date | None:
        raw = get(name)
        try:
            return dt.date.fromisoformat(raw) if raw else None
        except ValueError:
            raise ValidationFailed(f"{name} must be a date.", field=name) from None

    try:
        budget = Decimal(get("budget").replace(" ", "").replace(",", ".")) if get("budget") else None
    except InvalidOperation:
        raise ValidationFailed("budget must be a number.", field="budget") from None
    try:
        ages = [int(a) for a in get("children_ages").replace(";", ",").split(",") if a.strip()]
    except ValueError:
        raise ValidationFailed("children_ages must be numbers separated by commas.", field="children_ages") from None
    return lead_service.TravelRequestUpdate(
        departure_city=get("departure_city") or None, country=get("country") or None, resort=get("resort") or None,
        date_from=as_date("date_from"), date_to=as_date("date_to"), nights_min=as_int("nights_min"),
        nights_max=as_int("nights_max"), adults=as_int("adults"), children=as_int("children"), children_ages=ages,
        budget=budget, currency=get("currency").upper() or None, hotel_stars=as_int("hotel_stars"),
        meal=get("meal").upper() or None,
    )


class LeadState(AppState):
    """One lead, opened from a card: everything a manager edits about it."""

    lead_id: int = 0
    found: bool = True
    title: str = ""
    stage_name: str = ""
    status: str = ""
    outcome: str = ""
    score: str = ""
    score_reasons: list[str] = []
    source: str = ""
    customer: dict[str, str] = {}
    other_leads: list[OtherLead] = []
    travel: dict[str, str] = {}
    timeline: list[TimelineRow] = []
    assignee_id: str = ""
    managers: list[Option] = []
    stages: list[Option] = []
    stage_id: str = ""
    tags: list[str] = []
    tag_suggestions: list[str] = []
    reminders: list[ReminderRow] = []
    customer_error: str = ""
    travel_error: str = ""
    editing_customer: bool = False
    form_key: int = 0
    _version: str = ""

    def _actor(self) -> Actor:
        return Actor(type="user", id=self.user_id, label=self.user_name)

    def _error_text(self, exc: DomainError) -> str:
        key = f"error.{exc.code}"
        text = i18n.tr(self.lang, key)
        field = i18n.tr(self.lang, f"field.{exc.field}") if exc.field else ""
        base = exc.message if text == key else text
        return f"{field}: {base}" if field and not field.startswith("field.") else base

    def _refresh(self, *, remount: bool = True) -> None:
        """Read the lead again. The forms are re-mounted (to show what was saved) when asked, or when what
        they show changed; a live refresh with the same values leaves whatever the manager is typing alone."""
        tz = get_settings().timezone
        now = dt.datetime.now(dt.UTC)
        with session_scope() as session:
            self._version = lead_service.lead_version(session=session, lead_id=self.lead_id, now=now)
            detail = lead_service.lead_detail(session=session, lead_id=self.lead_id)
            items = conversations.timeline(session=session, lead_id=self.lead_id)
            stages = pipeline.list_stages(session=session)
            people = [u for u in user_service.list_users(session=session) if u.is_active]
        lead, cust = detail.lead, detail.customer
        before = (dict(self.customer), dict(self.travel))
        en = self.lang == "en"
        self.title = cust.name or f"#{lead.id}"
        self.stage_name = detail.stage.name_en if en else detail.stage.name_ru
        self.stage_id, self.status, self.outcome = str(lead.stage_id), lead.status, lead.outcome or ""
        self.score = "" if lead.score is None else str(lead.score)
        self.score_reasons, self.source = list(lead.score_reasons or []), lead.source
        phones = cust.phones or ([cust.phone] if cust.phone else [])
        language = cust.language or "ru"
        self.customer = {
            "name": cust.name, "phones": ", ".join(phones),
            "phones_display": ", ".join(lead_service.display_phone(p) for p in phones),
            "email": cust.email or "", "telegram_username": cust.telegram_username or "",
            "whatsapp_id": cust.whatsapp_id or "", "language": language,
            "language_name": LANGUAGE_NAMES.get(language, language),
        }
        self.other_leads = [
            OtherLead(lead_id=o[0], stage=o[1], status=o[2], created=i18n.format_datetime(o[3], tz))
            for o in detail.other_leads
        ]
        self.travel = {name: _text(getattr(lead, name)) for name in TRAVEL_FIELDS}
        self.timeline = [
            TimelineRow(at=i18n.format_datetime(i.at, tz), kind=i.kind, direction=i.direction, channel=i.channel,
                        author=i.author, text=i.text_en if en else i.text)
            for i in items
        ]
        self.assignee_id = str(lead.assignee_id or "")
        self.managers = [Option(value=str(u.id), label=u.name) for u in people]
        self.stages = [Option(value=str(s.id), label=s.name_en if en else s.name_ru) for s in stages]
        self.tags = list(detail.tags)
        self.tag_suggestions = [t for t in self.tag_suggestions if t not in self.tags]
        self.reminders = [
            ReminderRow(reminder_id=r.id, due=i18n.format_datetime(r.due_at, tz), text=r.text,
                        done=r.done_at is not None, overdue=r.done_at is None and r.due_at < now)
            for r in detail.reminders
        ]
        if remount or before != (self.customer, self.travel):
            self.form_key += 1  # re-mount the forms so their default values show what was saved

    def _run(self, action, *, error_attr: str | None = None, ok_key: str | None = None):
        """Run a service call; show its refusal, or refresh and confirm."""
        try:
            with session_scope() as session:
                action(session)
        except DomainError as exc:
            if error_attr:
                setattr(self, error_attr, self._error_text(exc))
                return None
            return toast("error", self._error_text(exc), TOAST_ID)
        if error_attr:
            setattr(self, error_attr, "")
        self._refresh()
        return toast("success", i18n.tr(self.lang, ok_key), TOAST_ID) if ok_key else None

    @requires()
    def load(self):
        """Page load: the lead id comes from the URL /lead/<id>."""
        self.access = "ok"
        self.customer_error = self.travel_error = ""
        self.editing_customer = False
        self.tag_suggestions = []
        try:
            self.lead_id = int(self.router.url.path.rstrip("/").rsplit("/", 1)[-1])
            self._refresh()
            self.found = True
        except (ValueError, DomainError):
            self.found = False

    @requires()
    def poll(self, _tick: str = ""):
        """Every few seconds: show what others changed (a customer's message, a move, a note) without reload."""
        if not self.found or not self.lead_id:
            return
        with session_scope() as session:
            version = lead_service.lead_version(session=session, lead_id=self.lead_id)
        if version != self._version:
            try:
                self._refresh(remount=False)
            except DomainError:  # deleted meanwhile
                self.found = False

    @requires()
    def suggest_tags(self, value: str):
        """Typing a tag: the existing tags that start with it (most used first), not those already on the lead."""
        prefix = " ".join(str(value or "").split())[:lead_service.MAX_TAG]
        with session_scope() as session:
            found = lead_service.tag_suggestions(session=session, prefix=prefix, limit=20)
        self.tag_suggestions = [t for t in found if t not in self.tags]

    @requires()
    def save_customer(self, form: dict):
        """Save the customer block; phones are normalised to E.164, the e-mail validated."""
        phones = [p.strip() for p in str(form.get("phones") or "").replace(";", ",").split(",") if p.strip()]
        data = customers.CustomerUpdate(
            name=str(form.get("name") or "").strip(), phones=phones,
            email=str(form.get("email") or "").strip() or None,
            telegram_username=str(form.get("telegram_username") or "").strip() or None,
            whatsapp_id=str(form.get("whatsapp_id") or "").strip() or None,
            language=str(form.get("language") or "ru"),
        )
        with session_scope() as session:
            customer_id = lead_service.lead_detail(session=session, lead_id=self.lead_id).customer.id
        result = self._run(lambda s: customers.update_customer(session=s, customer_id=customer_id, data=data,
                                                               actor=self._actor()),
                           error_attr="customer_error", ok_key="lead.saved")
        if not self.customer_error:
            self.editing_customer = False
        return result

    @requires()
    def toggle_edit_customer(self):
        """Open or close the customer form."""
        self.editing_customer = not self.editing_customer
        self.customer_error = ""

    @requires()
    def save_travel(self, form: dict):
        """Save the travel request (validated; nothing is written when a field is wrong)."""
        try:
            data = _parse_travel(form)
        except DomainError as exc:
            self.travel_error = self._error_text(exc)
            return None
        return self._run(lambda s: lead_service.update_travel_request(session=s, lead_id=self.lead_id, data=data,
                                                                      actor=self._actor()),
                         error_attr="travel_error", ok_key="lead.saved")

    @requires()
    def add_note(self, form: dict):
        """Add a manager's note to the timeline."""
        text = str(form.get("note") or "").strip()
        return self._run(lambda s: conversations.add_note(session=s, lead_id=self.lead_id, text=text,
                                                          actor=self._actor()), ok_key="lead.note_added")

    @requires()
    def assign(self, value: str):
        """Assign the lead to a manager ("" = nobody)."""
        assignee = int(value) if str(value).isdigit() else None
        return self._run(lambda s: lead_service.assign_lead(session=s, lead_id=self.lead_id, assignee_id=assignee,
                                                            actor=self._actor()), ok_key="lead.assigned")

    @requires()
    def assign_to_me(self):
        """Take the lead."""
        return self._run(lambda s: lead_service.assign_lead(session=s, lead_id=self.lead_id, assignee_id=self.user_id,
                                                            actor=self._actor()), ok_key="lead.assigned")

    @requires()
    def move_to(self, stage_id: str):
        """Move the lead to another stage from the workspace."""
        return self._run(lambda s: pipeline.move_lead(session=s, lead_id=self.lead_id, stage_id=int(stage_id),
                                                      actor=self._actor()), ok_key="board.moved")

    @requires()
    def add_tag(self, form: dict):
        """Add a tag (new or existing)."""
        name = str(form.get("tag") or "").strip()
        return self._run(lambda s: lead_service.add_tag(session=s, lead_id=self.lead_id, name=name,
                                                        actor=self._actor()))

    @requires()
    def remove_tag(self, name: str):
        """Remove a tag from the lead."""
        return self._run(lambda s: lead_service.remove_tag(session=s, lead_id=self.lead_id, name=str(name),
                                                           actor=self._actor()))

    @requires()
    def set_reminder(self, form: dict):
        """Set a follow-up: local date and time (the agency's time zone) and a text."""
        raw = str(form.get("due") or "")
        try:
            local = dt.datetime.fromisoformat(raw)
        except ValueError:
            return toast("error", i18n.tr(self.lang, "lead.bad_due"), TOAST_ID)
        due = local.replace(tzinfo=ZoneInfo(get_settings().timezone)).astimezone(dt.UTC)
        text = str(form.get("text") or "").strip()
        return self._run(lambda s: reminders.set_reminder(session=s, lead_id=self.lead_id, due_at=due, text=text,
                                                          actor=self._actor()), ok_key="lead.reminder_set")

    @requires()
    def complete_reminder(self, reminder_id: int):
        """Mark a reminder done (it is logged on the timeline)."""
        return self._run(lambda s: reminders.complete_reminder(session=s, reminder_id=int(reminder_id),
                                                               actor=self._actor()))
