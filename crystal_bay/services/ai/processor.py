"""The inquiry processor: what happens to a lead when the customer writes.

For each inbound message: read it (OpenAI or rules), merge what it says into the lead's travel
request without touching any field a manager set (a field is the manager's once a user's
"travel_request_updated" audit event names it), rescore the lead, flag it for a human on a
complaint or a request for a person, and propose the next stage — moved by itself (audited as the
AI) when the reading's confidence reaches AI_AUTO_MOVE_THRESHOLD, otherwise only proposed (an
"ai_stage_proposed" audit event the workspace shows). Unassigned leads can be given round-robin to
active, available managers under their open-lead cap.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from crystal_bay.integrations.openai import OpenAISettings
from crystal_bay.models import AuditEvent, Lead, Message, PipelineStage, PlatformSetting, Role, User, utcnow
from crystal_bay.services import audit, leads, pipeline
from crystal_bay.services.ai import extract, openai_config, scoring
from crystal_bay.services.ai.schema import EngineName, Extraction
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import NotFound, ValidationFailed
from crystal_bay.settings import get_settings

log = logging.getLogger(__name__)
AI_ACTOR = Actor(type="ai", label="AI")
ROUND_ROBIN_KEY = "ai.round_robin"
PROPOSED = "ai_stage_proposed"
# intent → the stage it suggests (default pipeline slugs); a complete request goes to tour selection
CONSULT, SELECT = "consultation", "tour_selection"


@dataclass(frozen=True)
class ProcessResult:
    """What the processor did to one lead."""

    lead_id: int
    extraction: Extraction
    updated: list[str] = field(default_factory=list)  # fields the AI wrote
    kept: list[str] = field(default_factory=list)  # fields the manager owns, left as they were
    score: int | None = None
    proposed_stage: str | None = None  # slug
    moved: bool = False
    assigned_to: int | None = None
    needs_human: bool = False


def local_today() -> dt.date:
    """Today in the agency's time zone (the reference date for "в марте", "через 2 недели")."""
    return dt.datetime.now(ZoneInfo(get_settings().timezone)).date()


def _lead(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"Lead {lead_id} does not exist.", field="lead_id")
    return lead


def manager_fields(*, session: Session, lead_id: int) -> set[str]:
    """Travel request fields a person set on this lead (they are never overwritten by the AI)."""
    stmt = select(AuditEvent.data).where(AuditEvent.entity_type == "lead", AuditEvent.entity_id == lead_id,
                                         AuditEvent.action == "travel_request_updated", AuditEvent.actor_type == "user")
    return {name for data in session.exec(stmt) for name in (data or {}).get("fields", [])}


def merge_extraction(*, session: Session, lead_id: int, extraction: Extraction,
                     actor: Actor = AI_ACTOR) -> tuple[list[str], list[str]]:
    """Write the extraction's known fields into the request; manager fields and refused values stay.
    Returns (updated, kept)."""
    lead = _lead(session, lead_id)
    owned = manager_fields(session=session, lead_id=lead_id)
    found = extraction.travel_fields()
    kept = [name for name in found if name in owned and getattr(lead, name) != found[name]]
    changes = {name: value for name, value in found.items() if name not in owned and getattr(lead, name) != value}
    if "children_ages" in changes and len(changes["children_ages"]) != changes.get("children", lead.children):
        changes.pop("children_ages")
    while changes:
        try:
            leads.update_travel_request(session=session, lead_id=lead_id,
                                        data=leads.TravelRequestUpdate(**changes), actor=actor)
            return list(changes), kept
        except ValidationFailed as exc:  # e.g. the AI's return date falls before the manager's departure
            if exc.field not in changes:
                log.warning("AI merge refused for lead %s: %s", lead_id, exc.message)
                return [], kept
            log.info("AI merge drops %s for lead %s: %s", exc.field, lead_id, exc.message)
            changes.pop(exc.field)
    return [], kept


def rescore(*, session: Session, lead_id: int, today: dt.date | None = None) -> scoring.Score:
    """Score the lead from its request, channel and messages; stored with its reasons in Russian."""
    lead = _lead(session, lead_id)
    inbound = session.exec(select(func.count()).select_from(Message)
                           .where(Message.lead_id == lead_id, Message.direction == "inbound")).one()
    score = scoring.score_lead(lead, channel=lead.source, inbound_messages=inbound, today=today or local_today())
    lead.score, lead.score_reasons = score.value, score.texts("ru")
    session.add(lead)
    session.flush()
    return score


def propose_stage(*, session: Session, lead: Lead, extraction: Extraction) -> PipelineStage | None:
    """The stage the message suggests, only forward from a new or in-progress stage; None otherwise."""
    current = session.get(PipelineStage, lead.stage_id)
    if lead.outcome or current is None or current.category not in ("new", "in_progress"):
        return None
    if extraction.intent in ("question", "human_request", "greeting"):
        target = CONSULT
    elif extraction.intent in ("tour_search", "booking"):
        complete = (lead.country or lead.resort) and (lead.date_from or lead.nights_min) and lead.adults
        target = SELECT if complete else CONSULT
    else:
        return None
    stage = leads.get_stage(session=session, slug=target)
    return stage if stage and stage.is_active and stage.position > current.position else None


def _stage_step(session: Session, lead: Lead, extraction: Extraction, threshold: float) -> tuple[str | None, bool]:
    stage = propose_stage(session=session, lead=lead, extraction=extraction)
    if stage is None:
        return None, False
    auto = extraction.confidence >= threshold
    audit.record(session=session, actor=AI_ACTOR, entity_type="lead", entity_id=lead.id, action=PROPOSED,
                 data={"from_stage_id": lead.stage_id, "to_stage_id": stage.id, "to_stage": stage.slug,
                       "confidence": extraction.confidence, "intent": extraction.intent, "engine": extraction.engine,
                       "auto_moved": auto, "threshold": threshold})
    if auto:
        pipeline.move_lead(session=session, lead_id=lead.id, stage_id=stage.id, actor=AI_ACTOR)
    return stage.slug, auto


def pending_proposal(*, session: Session, lead_id: int) -> AuditEvent | None:
    """The latest stage proposal not applied yet, while the lead is still in the stage it was made in."""
    lead = _lead(session, lead_id)
    event = session.exec(select(AuditEvent).where(AuditEvent.entity_type == "lead", AuditEvent.entity_id == lead_id,
                                                  AuditEvent.action == PROPOSED)
                         .order_by(col(AuditEvent.id).desc())).first()
    if event is None or event.data.get("auto_moved") or event.data.get("from_stage_id") != lead.stage_id:
        return None
    return event if lead.outcome is None else None


def _flag_human(session: Session, lead: Lead, extraction: Extraction) -> bool:
    if extraction.intent not in ("complaint", "human_request"):
        return lead.needs_human
    if not lead.needs_human:
        lead.needs_human = True
        lead.updated_at = utcnow()
        session.add(lead)
        audit.record(session=session, actor=AI_ACTOR, entity_type="lead", entity_id=lead.id, action="needs_human",
                     data={"reason": extraction.intent})
    return True


def auto_assign(*, session: Session, lead_id: int, actor: Actor = AI_ACTOR) -> User | None:
    """Give an unassigned lead to the next active, available manager under their cap (round-robin)."""
    lead = _lead(session, lead_id)
    if lead.assignee_id is not None:
        return None
    managers = list(session.exec(select(User).where(User.role == Role.manager.value, col(User.is_active),
                                                    col(User.available_for_assignment)).order_by(col(User.id))))
    counts = dict(session.exec(select(Lead.assignee_id, func.count()).where(
        col(Lead.assignee_id).in_([u.id for u in managers]), col(Lead.outcome).is_(None)).group_by(
        col(Lead.assignee_id))).all()) if managers else {}
    eligible = [u for u in managers if u.max_open_leads is None or counts.get(u.id, 0) < u.max_open_leads]
    if not eligible:
        return None
    pointer = _round_robin_pointer(session)
    last = pointer.value.get("last_user_id") or 0
    chosen = next((u for u in eligible if u.id > last), eligible[0])
    leads.assign_lead(session=session, lead_id=lead_id, assignee_id=chosen.id, actor=actor)
    pointer.value = {"last_user_id": chosen.id}
    pointer.updated_at = utcnow()
    session.add(pointer)
    session.flush()
    return chosen


def _round_robin_pointer(session: Session) -> PlatformSetting:
    """The row remembering who got the last lead (locked on PostgreSQL while we choose)."""
    row = session.get(PlatformSetting, ROUND_ROBIN_KEY, with_for_update=True)
    if row is not None:
        return row
    row = PlatformSetting(key=ROUND_ROBIN_KEY, value={})
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        row = session.get(PlatformSetting, ROUND_ROBIN_KEY, with_for_update=True)
    return row


def apply_extraction(*, session: Session, lead_id: int, extraction: Extraction, today: dt.date | None = None,
                     threshold: float | None = None, assign: bool | None = None) -> ProcessResult:
    """Merge, rescore, flag, propose or move, assign — everything after the message was read."""
    settings = get_settings()
    threshold = settings.ai_auto_move_threshold if threshold is None else threshold
    assign = settings.ai_auto_assign if assign is None else assign
    updated, kept = merge_extraction(session=session, lead_id=lead_id, extraction=extraction)
    lead = _lead(session, lead_id)
    needs_human = _flag_human(session, lead, extraction)
    proposed, moved = _stage_step(session, lead, extraction, threshold)
    score = rescore(session=session, lead_id=lead_id, today=today)
    assignee = auto_assign(session=session, lead_id=lead_id) if assign else None
    return ProcessResult(lead_id=lead_id, extraction=extraction, updated=updated, kept=kept, score=score.value,
                         proposed_stage=proposed, moved=moved, assigned_to=assignee.id if assignee else None,
                         needs_human=needs_human)


async def process_inbound(*, session: Session, lead_id: int, text: str, today: dt.date | None = None,
                          engine: EngineName | None = None, config: OpenAISettings | None = None,
                          threshold: float | None = None, assign: bool | None = None) -> ProcessResult:
    """Process one inbound customer message on a lead (call it after the message is stored)."""
    today = today or local_today()
    if engine != "rules" and config is None:
        config = openai_config(session)
    extraction = await extract(text, today=today, engine=engine, config=config)
    return apply_extraction(session=session, lead_id=lead_id, extraction=extraction, today=today,
                            threshold=threshold, assign=assign)
