"""Leads: the board (columns, cards, filters, search), the lead card's details and its edits.

Stage moves, won and lost go through services.pipeline; every other change to a lead lives here,
bumps lead.updated_at (so open boards notice, see board_version) and writes an audit event.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import String, and_, case, cast, exists, false, literal, or_, true, union_all
from sqlmodel import Session, col, func, select

from crystal_bay.models import (
    AuditEvent,
    Channel,
    Customer,
    Lead,
    LeadTag,
    Message,
    Outcome,
    PipelineStage,
    Reminder,
    StatusCategory,
    Tag,
    User,
    utcnow,
)
from crystal_bay.services import audit, conversations, customers, pipeline, reminders
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import NotFound, ValidationFailed
from crystal_bay.settings import get_settings

STATUS_COLUMNS = (  # status category, ru title, en title — the board grouped by status
    (StatusCategory.new.value, "Новые", "New"),
    (StatusCategory.in_progress.value, "В работе", "In progress"),
    (StatusCategory.pending.value, "Ожидание", "Pending"),
    (StatusCategory.confirmed.value, "Подтверждено", "Confirmed"),
    (StatusCategory.closed.value, "Закрыто", "Closed"),
)
CURRENCIES = ("USD", "KZT", "RUB", "EUR")
MEALS = ("RO", "BB", "HB", "FB", "AI", "UAI")
MAX_PAGE = 200
MAX_TAG = 50
MAX_SEARCH = 100
CHANNELS = frozenset(c.value for c in Channel)


@dataclass(frozen=True)
class StageSummary:
    stage_id: int
    slug: str
    name_ru: str
    name_en: str
    category: str
    count: int
    budget_total: Decimal


def stage_summary(*, session: Session) -> list[StageSummary]:
    """Open (not lost) leads per active stage, with the sum of their budgets, in board order."""
    stages = pipeline.list_stages(session=session)
    stmt = (
        select(Lead.stage_id, func.count(), func.coalesce(func.sum(Lead.budget), 0))
        .where(col(Lead.outcome).is_(None) | (Lead.outcome != "lost"))
        .group_by(col(Lead.stage_id))
    )
    totals = {stage_id: (count, total) for stage_id, count, total in session.exec(stmt)}
    return [
        StageSummary(
            stage_id=s.id, slug=s.slug, name_ru=s.name_ru, name_en=s.name_en, category=s.category,
            count=totals.get(s.id, (0, 0))[0], budget_total=Decimal(str(totals.get(s.id, (0, 0))[1])),
        )
        for s in stages
    ]


def count_leads(*, session: Session) -> int:
    """All leads, any stage or outcome."""
    return session.exec(select(func.count()).select_from(Lead)).one()


def get_stage(*, session: Session, slug: str) -> PipelineStage | None:
    """A stage by its slug."""
    return session.exec(select(PipelineStage).where(PipelineStage.slug == slug)).first()


def create_lead(*, session: Session, customer_id: int, source: str, actor: Actor, **fields) -> Lead:
    """Open a lead for a customer in the pipeline's first stage, audited as "created"."""
    if source not in CHANNELS:
        raise ValidationFailed(f"Unknown source channel {source!r}.", field="source")
    stage = pipeline.first_stage(session=session)
    lead = Lead(customer_id=customer_id, source=source, stage_id=stage.id, status=stage.category, **fields)
    session.add(lead)
    session.flush()
    audit.record(session=session, actor=actor, entity_type="lead", entity_id=lead.id, action="created",
                 data={"source": source, "stage_id": stage.id})
    return lead


def _get_lead(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"Lead {lead_id} does not exist.", field="lead_id")
    return lead


def _touch(session: Session, lead: Lead) -> None:
    lead.updated_at = utcnow()
    session.add(lead)


# ---------- the board: filters, columns, cards ----------


@dataclass(frozen=True)
class BoardFilters:
    """What the board shows. assignee: "mine" (needs me_id), "unassigned" or a user id as a string."""

    assignee: str | None = None
    me_id: int | None = None
    channel: str | None = None
    tag: str | None = None
    status: str | None = None
    created_from: dt.date | None = None
    created_to: dt.date | None = None  # inclusive
    overdue_only: bool = False
    include_lost: bool = False
    search: str = ""


@dataclass(frozen=True)
class BoardColumn:
    """One board column; totals are whole budget sums per currency, e.g. {"USD": "12500"}."""

    key: str
    stage_id: int | None
    title_ru: str
    title_en: str
    count: int
    totals: dict[str, str]


@dataclass(frozen=True)
class LeadCard:
    """What a card on the board shows, already formatted."""

    id: int
    stage_id: int
    status: str
    outcome: str | None
    customer_name: str
    channel: str
    destination: str
    dates: str
    travellers: str
    budget: str
    currency: str | None
    score: int | None
    assignee_id: int | None
    assignee_initials: str
    last_customer_message_at: dt.datetime | None
    overdue: bool
    needs_human: bool
    tags: list[str]
    updated_at: dt.datetime
    due_today: bool = False  # the next follow-up is later today (agency time zone), not yet past
    score_reasons: tuple[str, ...] = ()


def _pattern(term: str, *, prefix_only: bool = False) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix_only else f"%{escaped}%"


def _like_any(column, term: str, *, postgres: bool, prefix_only: bool = False):
    """Case-insensitive LIKE. PostgreSQL: ILIKE. SQLite folds ASCII only, so the term is also tried
    lower-cased, upper-cased, Capitalised and Title Cased — enough for Cyrillic names and words typed
    in any case, but not mixed case inside a stored word ("дикаприо" will not find "ДиКаприо" on SQLite)."""
    if postgres:
        return column.ilike(_pattern(term, prefix_only=prefix_only), escape="\\")
    variants = dict.fromkeys((term, term.lower(), term.upper(), term.capitalize(), term.title()))
    return or_(*(column.like(_pattern(v, prefix_only=prefix_only), escape="\\") for v in variants))


def _search_condition(term: str, *, postgres: bool):
    """Customer name, phone (also typed as digits only, "8 701…" or "701…"), e-mail, or any message text."""
    term = term.strip()[:MAX_SEARCH]
    customer_match = [_like_any(c, term, postgres=postgres) for c in (Customer.name, Customer.phone, Customer.email)]
    digits = re.sub(r"\D", "", term)
    if len(digits) >= 3 and re.fullmatch(r"[\d\s()+\-.]+", term):
        options = {digits, "7" + digits[1:]} if digits.startswith("8") and len(digits) >= 5 else {digits}
        for d in sorted(options):
            customer_match += [col(Customer.phone).like(f"%{d}%"), cast(Customer.phones, String).like(f"%{d}%")]
    in_customer = exists().where(col(Customer.id) == col(Lead.customer_id), or_(*customer_match)).correlate(Lead)
    in_messages = exists().where(
        col(Message.lead_id) == col(Lead.id), _like_any(col(Message.body), term, postgres=postgres)
    ).correlate(Lead)
    return or_(in_customer, in_messages)


def _late_reminders(now: dt.datetime):
    """The ids of leads with an open reminder past due. Uncorrelated on purpose: a correlated EXISTS
    makes SQLite scan ix_reminders_due once per lead (seconds on 100k leads)."""
    return select(Reminder.lead_id).where(col(Reminder.done_at).is_(None), Reminder.due_at < now)


def _assignee_condition(filters: BoardFilters):
    """Unknown values (or "mine" without me_id) match nothing rather than failing the board."""
    value = filters.assignee
    if value == "mine":
        return Lead.assignee_id == filters.me_id if filters.me_id is not None else false()
    if value == "unassigned":
        return col(Lead.assignee_id).is_(None)
    return Lead.assignee_id == int(value) if value and value.isdigit() else false()


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight of a calendar day in the agency's time zone."""
    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(get_settings().timezone))


def _conditions(session: Session, filters: BoardFilters, now: dt.datetime, *, outcome: bool = True) -> list:
    """The filters as WHERE clauses; outcome=False leaves out "lost hidden" (the caller splits by outcome)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    conds: list = []
    if outcome and not filters.include_lost:
        conds.append(or_(col(Lead.outcome).is_(None), Lead.outcome != Outcome.lost.value))
    if filters.assignee:
        conds.append(_assignee_condition(filters))
    if filters.channel:
        conds.append(Lead.source == filters.channel)
    if filters.tag:
        conds.append(exists().where(col(LeadTag.lead_id) == col(Lead.id), col(LeadTag.tag_id) == col(Tag.id),
                                    Tag.name == filters.tag).correlate(Lead))
    if filters.status:
        conds.append(Lead.status == filters.status)
    if filters.created_from:
        conds.append(Lead.created_at >= _day_start(filters.created_from))
    if filters.created_to:
        conds.append(Lead.created_at < _day_start(filters.created_to + dt.timedelta(days=1)))
    if filters.overdue_only:
        conds.append(or_(col(Lead.next_follow_up_at) < now, col(Lead.id).in_(_late_reminders(now))))
    if filters.search.strip():
        conds.append(_search_condition(filters.search, postgres=postgres))
    return conds


def _whole(amount) -> str:
    return str(Decimal(str(amount)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def board_columns(*, session: Session, filters: BoardFilters, group_by: str = "stage") -> list[BoardColumn]:
    """The board's columns (active stages, or the five status categories) with counts and budget sums
    per currency, from one GROUP BY with the filters applied. Budgets without a currency are not summed."""
    if group_by not in ("stage", "status"):
        raise ValidationFailed("Group the board by stage or by status.", field="group_by")
    key = col(Lead.stage_id) if group_by == "stage" else col(Lead.status)
    stmt = (select(key, Lead.currency, func.count(), func.sum(Lead.budget))
            .where(*_conditions(session, filters, utcnow())).group_by(key, col(Lead.currency)))
    counts: dict[Any, int] = defaultdict(int)
    totals: dict[Any, dict[str, str]] = defaultdict(dict)
    for value, currency, n, total in session.exec(stmt):
        counts[value] += n
        if currency and total is not None:
            totals[value][currency] = _whole(total)
    if group_by == "status":
        return [BoardColumn(key=c, stage_id=None, title_ru=ru, title_en=en, count=counts[c], totals=totals[c])
                for c, ru, en in STATUS_COLUMNS]
    return [BoardColumn(key=s.slug, stage_id=s.id, title_ru=s.name_ru, title_en=s.name_en, count=counts[s.id],
                        totals=totals[s.id]) for s in pipeline.list_stages(session=session)]


def _dates(start: dt.date | None, end: dt.date | None) -> str:
    if start and end:
        return f"{start:%d.%m}–{end:%d.%m.%Y}" if start.year == end.year else f"{start:%d.%m.%Y}–{end:%d.%m.%Y}"
    if start:
        return f"{start:%d.%m.%Y}"
    return f"–{end:%d.%m.%Y}" if end else ""


def _travellers(adults: int | None, children: int | None) -> str:
    if adults is None:
        return ""
    return f"{adults}+{children}" if children else str(adults)


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else f"{int(_whole(amount)):,}".replace(",", " ")


CURRENCY_SIGNS = {"KZT": "₸", "USD": "$", "RUB": "₽", "EUR": "€"}


def format_money(amount: Decimal | str | int | None, currency: str | None) -> str:
    """An amount for people, whole, in groups of three, with the currency's sign: "3 400 000 ₸", "2 500 $"."""
    if amount is None or amount == "":
        return ""
    digits = _money(Decimal(str(amount).replace(" ", "").replace("\u00a0", "")))
    sign = CURRENCY_SIGNS.get((currency or "").upper(), currency or "")
    return f"{digits} {sign}".strip()


def format_totals(totals: dict[str, str]) -> str:
    """A column's sums per currency on one line: "2 500 $ · 3 400 000 ₸" (zero sums left out)."""
    return " · ".join(format_money(v, k) for k, v in sorted(totals.items()) if v and Decimal(v))


def display_phone(phone: str | None) -> str:
    """An E.164 number grouped for reading: "+7 701 123 45 67" for Kazakhstan and Russia, else phonenumbers'
    international format; what cannot be parsed is shown as stored."""
    if not phone:
        return ""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return phone
    national = str(number.national_number)
    if number.country_code == 7 and len(national) == 10:
        return f"+7 {national[:3]} {national[3:6]} {national[6:8]} {national[8:]}"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _initials(name: str | None) -> str:
    return "".join(word[0] for word in (name or "").split()[:2]).upper()


def _tags_by_lead(session: Session, lead_ids: list[int]) -> dict[int, list[str]]:
    if not lead_ids:
        return {}
    stmt = (select(LeadTag.lead_id, Tag.name).join(Tag, col(Tag.id) == col(LeadTag.tag_id))
            .where(col(LeadTag.lead_id).in_(lead_ids)))
    found: dict[int, list[str]] = defaultdict(list)
    for lead_id, name in session.exec(stmt):
        found[lead_id].append(name)
    return {lead_id: sorted(names, key=str.casefold) for lead_id, names in found.items()}


_CARD_FIELDS = (
    Lead.id, Lead.stage_id, Lead.status, Lead.outcome, Lead.source, Lead.resort, Lead.country, Lead.date_from,
    Lead.date_to, Lead.adults, Lead.children, Lead.budget, Lead.currency, Lead.score, Lead.score_reasons,
    Lead.assignee_id, Lead.last_customer_message_at, Lead.next_follow_up_at, Lead.needs_human, Lead.updated_at,
    col(Customer.name).label("customer_name"), col(User.name).label("assignee_name"),
)


def _card(row: Any, late: bool, tags: list[str], now: dt.datetime, day_end: dt.datetime) -> LeadCard:
    follow_up = row.next_follow_up_at
    overdue = bool(late) or (follow_up is not None and follow_up < now)
    return LeadCard(
        id=row.id, stage_id=row.stage_id, status=row.status, outcome=row.outcome,
        customer_name=row.customer_name or "", channel=row.source,
        destination=", ".join(p for p in (row.resort, row.country) if p),
        dates=_dates(row.date_from, row.date_to), travellers=_travellers(row.adults, row.children),
        budget=_money(row.budget), currency=row.currency, score=row.score, assignee_id=row.assignee_id,
        assignee_initials=_initials(row.assignee_name), last_customer_message_at=row.last_customer_message_at,
        overdue=overdue, needs_human=bool(row.needs_human), tags=tags, updated_at=row.updated_at,
        due_today=not overdue and follow_up is not None and follow_up < day_end,
        score_reasons=tuple(row.score_reasons or ()),
    )


def _ranges(session: Session, filters: BoardFilters, now: dt.datetime, columns: dict[Any, tuple],
            sizes: dict[Any, int]):
    """One UNION ALL of ordered ranges of (id, updated_at, column): per column and per outcome (open, won, and
    lost when shown), the first `size` leads. Split by outcome, and ordered by the index's own columns (constant
    within a range, so the order is by updated_at), so that ix_leads_board (outcome, stage_id, updated_at) or
    ix_leads_status (status, updated_at) hands the ids over in order and each range stops after `size` of them.
    `outcome IS NULL OR outcome != 'lost'`, or an `id` tie-break the index lacks, made PostgreSQL read and sort
    the whole column instead (EXPLAIN: 0.3 ms instead of 12 ms a column at 10k open leads)."""
    conds = _conditions(session, filters, now, outcome=False)
    shown = [Outcome.won.value, *([Outcome.lost.value] if filters.include_lost else [])]
    outcomes = [col(Lead.outcome).is_(None), *(Lead.outcome == value for value in shown)]
    parts = []
    for index, (key, (column_cond, order)) in enumerate(columns.items()):
        for outcome in outcomes:
            part = (select(Lead.id, Lead.updated_at, literal(index).label("column")).where(outcome, column_cond, *conds)
                    .order_by(*order).limit(sizes[key]).subquery())
            parts.append(select(part.c.id, part.c.updated_at, part.c.column))
    return union_all(*parts)


_BY_STAGE = (col(Lead.outcome).desc(), col(Lead.stage_id).desc(), col(Lead.updated_at).desc())  # ix_leads_board
_BY_STATUS = (col(Lead.status).desc(), col(Lead.updated_at).desc())  # ix_leads_status
_BY_ACTIVITY = (col(Lead.updated_at).desc(), col(Lead.id).desc())


def _cards_by_column(session: Session, filters: BoardFilters, column_conds: dict[Any, tuple],
                     offsets: dict[Any, int], limits: dict[Any, int]) -> dict[Any, list[LeadCard]]:
    """Four statements for any number of columns: the pages' ids, the card rows, their tags, late reminders."""
    now = utcnow()
    keys = list(column_conds)
    found: dict[Any, list[tuple]] = {key: [] for key in keys}
    if keys:
        sizes = {key: offsets[key] + limits[key] for key in keys}
        for lead_id, updated_at, index in session.exec(_ranges(session, filters, now, column_conds, sizes)):
            found[keys[index]].append((updated_at, lead_id))
    pages = {key: [lead_id for _, lead_id in sorted(rows, reverse=True)[offsets[key]:offsets[key] + limits[key]]]
             for key, rows in found.items()}
    ids = [lead_id for page in pages.values() for lead_id in page]
    if not ids:
        return {key: [] for key in keys}
    rows = {row.id: row for row in session.exec(
        select(*_CARD_FIELDS).join(Customer, col(Customer.id) == col(Lead.customer_id))
        .outerjoin(User, col(User.id) == col(Lead.assignee_id)).where(col(Lead.id).in_(ids)))}
    tags = _tags_by_lead(session, ids)
    late = set(session.exec(_late_reminders(now).where(col(Reminder.lead_id).in_(ids))))
    day_end = reminders.end_of_today(now=now)
    return {key: [_card(rows[i], i in late, tags.get(i, []), now, day_end) for i in page if i in rows]
            for key, page in pages.items()}


def _size(limit: int) -> int:
    return min(max(limit, 1), MAX_PAGE)


def board_cards(
    *, session: Session, filters: BoardFilters, stage_id: int | None = None, status: str | None = None,
    offset: int = 0, limit: int = 50,
) -> list[LeadCard]:
    """One column's cards (by stage or status category), newest activity first, paged (limit 1..200).
    Four statements: the page's ids, the leads with their customer and assignee, tags, late reminders."""
    cond = and_(true(), *([Lead.stage_id == stage_id] if stage_id is not None else []),
                *([Lead.status == status] if status is not None else []))
    order = _BY_STAGE if stage_id is not None else _BY_STATUS if status is not None else _BY_ACTIVITY
    cards = _cards_by_column(session, filters, {"column": (cond, order)}, {"column": max(0, offset)},
                             {"column": _size(limit)})
    return cards["column"]


def board_page(*, session: Session, filters: BoardFilters, columns: list[BoardColumn], group_by: str = "stage",
               limits: dict[str, int] | None = None, page_size: int = 20) -> dict[str, list[LeadCard]]:
    """The first cards of every column at once (column key -> cards; `limits` per key, else page_size),
    in four statements whatever the number of columns; columns without leads are not queried."""
    limits = {c.key: _size((limits or {}).get(c.key, page_size)) for c in columns}
    if group_by == "stage":
        conds = {c.stage_id: (Lead.stage_id == c.stage_id, _BY_STAGE) for c in columns if c.count}
        keys = {c.stage_id: c.key for c in columns}
        cards = _cards_by_column(session, filters, conds, dict.fromkeys(conds, 0),
                                 {sid: limits[keys[sid]] for sid in conds})
        return {c.key: cards.get(c.stage_id, []) for c in columns}
    conds = {c.key: (Lead.status == c.key, _BY_STATUS) for c in columns if c.count}
    cards = _cards_by_column(session, filters, conds, dict.fromkeys(conds, 0), {key: limits[key] for key in conds})
    return {c.key: cards.get(c.key, []) for c in columns}


def board_version(*, session: Session, now: dt.datetime | None = None) -> str:
    """A cheap marker that changes when any lead (or a customer shown on a card) is created or changed, when
    a reminder comes due (a card turns overdue) and when the agency's day turns (what is due "today")."""
    now = now or utcnow()
    last_event = (select(func.max(AuditEvent.id))
                  .where(col(AuditEvent.entity_type).in_(("lead", "customer"))).scalar_subquery())
    n, updated, top, event = session.exec(
        select(func.count(col(Lead.id)), func.max(Lead.updated_at), func.max(Lead.id), last_event)
    ).one()
    due = reminders.next_due_at(session=session, now=now)
    day = reminders.end_of_today(now=now)
    return (f"{n}:{updated.isoformat() if updated else '-'}:{top or 0}:{event or 0}:"
            f"{due.isoformat() if due else '-'}:{day:%Y%m%d}")


def lead_version(*, session: Session, lead_id: int, now: dt.datetime | None = None) -> str:
    """The same for one lead's page: its row, its messages (the bot's too), events on the lead and its
    customer, and the next of its reminders to come due."""
    now = now or utcnow()
    row = session.exec(select(Lead.updated_at, Lead.customer_id).where(Lead.id == lead_id)).first()
    if row is None:
        return "missing"
    updated, customer_id = row
    last_message, n_messages = session.exec(
        select(func.max(Message.id), func.count()).where(Message.lead_id == lead_id)).one()
    event = session.exec(select(func.max(AuditEvent.id)).where(or_(
        (col(AuditEvent.entity_type) == "lead") & (col(AuditEvent.entity_id) == lead_id),
        (col(AuditEvent.entity_type) == "customer") & (col(AuditEvent.entity_id) == customer_id)))).one()
    due = reminders.next_due_at(session=session, now=now, lead_id=lead_id)
    return (f"{updated.isoformat()}:{last_message or 0}:{n_messages}:{event or 0}:"
            f"{due.isoformat() if due else '-'}")


# ---------- one lead ----------


class OtherLead(NamedTuple):
    """Another lead of the same customer: (id, stage name_ru, status, created_at)."""

    id: int
    stage_name_ru: str
    status: str
    created_at: dt.datetime


@dataclass(frozen=True)
class LeadDetail:
    """Everything the lead drawer shows."""

    lead: Lead
    customer: Customer
    stage: PipelineStage
    assignee: User | None
    tags: list[str]
    other_leads: list[OtherLead]
    reminders: list[Reminder]  # open ones first by due time, then done ones


def lead_detail(*, session: Session, lead_id: int) -> LeadDetail:
    """A lead with its customer, stage, assignee, tags, the customer's other leads and the reminders."""
    lead = _get_lead(session, lead_id)
    others = [OtherLead(*row) for row in session.exec(
        select(Lead.id, PipelineStage.name_ru, Lead.status, Lead.created_at)
        .join(PipelineStage, col(PipelineStage.id) == col(Lead.stage_id))
        .where(Lead.customer_id == lead.customer_id, Lead.id != lead.id).order_by(col(Lead.created_at).desc())
    )]
    open_first = case((col(Reminder.done_at).is_(None), 0), else_=1)
    reminders = list(session.exec(
        select(Reminder).where(Reminder.lead_id == lead.id).order_by(open_first, col(Reminder.due_at), Reminder.id)
    ))
    return LeadDetail(
        lead=lead, customer=session.get(Customer, lead.customer_id), stage=session.get(PipelineStage, lead.stage_id),
        assignee=session.get(User, lead.assignee_id) if lead.assignee_id else None,
        tags=_tags_by_lead(session, [lead.id]).get(lead.id, []),
        other_leads=others, reminders=reminders,
    )


# ---------- the travel request ----------


class _Unset:
    """A TravelRequestUpdate field the caller did not give: it stays as it is."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class TravelRequestUpdate:
    """New travel request values: a field left out (UNSET) stays as it is, None clears it."""

    departure_city: str | None = UNSET
    country: str | None = UNSET
    resort: str | None = UNSET
    date_from: dt.date | None = UNSET
    date_to: dt.date | None = UNSET
    nights_min: int | None = UNSET
    nights_max: int | None = UNSET
    adults: int | None = UNSET
    children: int | None = UNSET
    children_ages: list[int] | None = UNSET
    budget: Decimal | None = UNSET
    currency: str | None = UNSET
    hotel_stars: int | None = UNSET
    meal: str | None = UNSET


REQUEST_FIELDS = tuple(f.name for f in dataclasses.fields(TravelRequestUpdate))
TEXT_FIELDS = ("departure_city", "country", "resort")
INT_RANGES = {"nights_min": (1, 60), "nights_max": (1, 60), "adults": (0, 20), "children": (0, 10),
              "hotel_stars": (1, 5), "children_ages": (0, 17)}
CODES = {"currency": CURRENCIES, "meal": MEALS}


def _int_in(name: str, value: Any) -> int:
    low, high = INT_RANGES[name]
    number = int(str(value).strip())
    if not low <= number <= high:
        raise ValidationFailed(f"{name} must be between {low} and {high}.", field=name)
    return number


def _budget(value: Any) -> Decimal:
    amount = Decimal(str(value).strip().replace(" ", "").replace(",", "."))
    if not amount.is_finite() or amount < 0 or amount >= 10**12:
        raise ValidationFailed("The budget must be a positive amount.", field="budget")
    return amount.quantize(Decimal("0.01"))


def _clean_field(name: str, value: Any) -> Any:
    """One given value, normalised, or ValidationFailed(field=name)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return [] if name == "children_ages" else None
    try:
        if name in TEXT_FIELDS:
            if len(text := str(value).strip()) > 100:
                raise ValidationFailed(f"{name} is longer than 100 characters.", field=name)
            return text
        if name in ("date_from", "date_to"):
            return value.date() if isinstance(value, dt.datetime) else (
                value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)))
        if name == "children_ages":
            return [_int_in(name, age) for age in value]
        if name in INT_RANGES:
            return _int_in(name, value)
        if name == "budget":
            return _budget(value)
        if (code := str(value).strip().upper()) not in CODES[name]:
            raise ValidationFailed(f"{name} must be one of {', '.join(CODES[name])}.", field=name)
        return code
    except (TypeError, ValueError, InvalidOperation) as exc:
        raise ValidationFailed(f"Invalid value for {name}.", field=name) from exc


def _check_request(r: dict[str, Any]) -> None:
    """The rules between fields, on the values the lead would have."""
    if r["date_from"] and r["date_to"] and r["date_to"] < r["date_from"]:
        raise ValidationFailed("The return date is before the departure date.", field="date_to")
    if r["nights_min"] is not None and r["nights_max"] is not None and r["nights_min"] > r["nights_max"]:
        raise ValidationFailed("Minimum nights exceed maximum nights.", field="nights_max")
    if r["children_ages"] and len(r["children_ages"]) != (r["children"] or 0):
        raise ValidationFailed("Give one age per child.", field="children_ages")


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else str(value) if isinstance(value, Decimal) else value


def update_travel_request(*, session: Session, lead_id: int, data: TravelRequestUpdate, actor: Actor) -> Lead:
    """Validate and save what the customer wants; nothing is written on any error."""
    lead = _get_lead(session, lead_id)
    given = {name: _clean_field(name, getattr(data, name)) for name in REQUEST_FIELDS
             if getattr(data, name) is not UNSET}
    _check_request({name: given.get(name, getattr(lead, name)) for name in REQUEST_FIELDS})
    changed = {name: value for name, value in given.items() if getattr(lead, name) != value}
    if not changed:
        return lead
    for name, value in changed.items():
        setattr(lead, name, value)
    _touch(session, lead)
    audit.record(session=session, actor=actor, entity_type="lead", entity_id=lead.id, action="travel_request_updated",
                 data={"fields": list(changed), "values": {k: _jsonable(v) for k, v in changed.items()}})
    return lead


# ---------- assignment and tags ----------


def _active_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.", field="assignee_id")
    if not user.is_active:
        raise ValidationFailed(f"{user.name} is deactivated.", code="user_inactive", field="assignee_id")
    return user


def assign_lead(*, session: Session, lead_id: int, assignee_id: int | None, actor: Actor) -> Lead:
    """Give the lead to an active user (None takes it off everyone)."""
    lead = _get_lead(session, lead_id)
    user = _active_user(session, assignee_id) if assignee_id is not None else None
    if lead.assignee_id == assignee_id:
        return lead
    old, lead.assignee_id = lead.assignee_id, assignee_id
    _touch(session, lead)
    audit.record(session=session, actor=actor, entity_type="lead", entity_id=lead.id, action="assigned",
                 data={"from": old, "to": assignee_id, "to_name": user.name if user else None})
    return lead


def _clean_tag(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not 1 <= len(name) <= MAX_TAG:
        raise ValidationFailed(f"A tag has 1–{MAX_TAG} characters.", code="invalid_tag", field="tag")
    return name


def _find_tag(session: Session, name: str) -> Tag | None:
    """The tag by exact name, else case-insensitively (SQLite: ASCII letters only)."""
    tag = session.exec(select(Tag).where(Tag.name == name)).first()
    return tag or session.exec(select(Tag).where(func.lower(Tag.name) == name.lower())).first()


def _lead_tags(session: Session, lead_id: int) -> list[str]:
    return _tags_by_lead(session, [lead_id]).get(lead_id, [])


def add_tag(*, session: Session, lead_id: int, name: str, actor: Actor) -> list[str]:
    """Tag a lead (the tag is created when new; tagging twice changes nothing); returns its tags."""
    lead, name = _get_lead(session, lead_id), _clean_tag(name)
    tag = _find_tag(session, name)
    if tag is None:
        tag = Tag(name=name)
        session.add(tag)
        session.flush()
    if session.get(LeadTag, (lead.id, tag.id)) is None:
        session.add(LeadTag(lead_id=lead.id, tag_id=tag.id))
        _touch(session, lead)
        audit.record(session=session, actor=actor, entity_type="lead", entity_id=lead.id, action="tag_added",
                     data={"tag": tag.name})
    return _lead_tags(session, lead.id)


def remove_tag(*, session: Session, lead_id: int, name: str, actor: Actor) -> list[str]:
    """Take a tag off a lead (a no-op when it is not there); returns its tags."""
    lead, name = _get_lead(session, lead_id), _clean_tag(name)
    tag = _find_tag(session, name)
    link = session.get(LeadTag, (lead.id, tag.id)) if tag else None
    if link is not None:
        session.delete(link)
        _touch(session, lead)
        audit.record(session=session, actor=actor, entity_type="lead", entity_id=lead.id, action="tag_removed",
                     data={"tag": tag.name})
        session.flush()
    return _lead_tags(session, lead.id)


def tag_suggestions(*, session: Session, prefix: str, limit: int = 10) -> list[str]:
    """Existing tags starting with the prefix (any case), the most used first."""
    usage = func.count(col(LeadTag.lead_id))
    stmt = (select(Tag.name).outerjoin(LeadTag, col(LeadTag.tag_id) == col(Tag.id))
            .group_by(col(Tag.id), col(Tag.name)).order_by(usage.desc(), col(Tag.name))
            .limit(min(max(limit, 1), MAX_PAGE)))
    prefix = " ".join((prefix or "").split())[:MAX_TAG]
    if prefix:
        postgres = session.get_bind().dialect.name == "postgresql"
        stmt = stmt.where(_like_any(col(Tag.name), prefix, postgres=postgres, prefix_only=True))
    return list(session.exec(stmt))


# ---------- leads created by hand ----------


def create_manual_lead(
    *, session: Session, name: str, phone: str | None, email: str | None, source: str, message: str | None,
    assignee_id: int | None, actor: Actor,
) -> Lead:
    """A lead from a call or a visit: finds or creates the customer by phone/e-mail; the message becomes a note."""
    if not (phone or "").strip() and not (email or "").strip():
        raise ValidationFailed("Give a phone or an e-mail.", code="contact_required", field="phone")
    if source not in CHANNELS:
        raise ValidationFailed(f"Unknown source channel {source!r}.", field="source")
    note = (message or "").strip()
    if len(note) > conversations.MAX_NOTE:
        raise ValidationFailed(f"The message is longer than {conversations.MAX_NOTE} characters.", field="message")
    if assignee_id is not None:
        _active_user(session, assignee_id)
    customer, _ = customers.find_or_create_customer(
        session=session, name=name, phone=phone, email=email, source_channel=source, actor=actor)
    lead = create_lead(session=session, customer_id=customer.id, source=source, actor=actor)
    if assignee_id is not None:
        assign_lead(session=session, lead_id=lead.id, assignee_id=assignee_id, actor=actor)
    if note:
        conversations.add_note(session=session, lead_id=lead.id, text=note, actor=actor)
    return lead
