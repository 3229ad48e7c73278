"""The AI panel in the lead workspace: score with reasons, the AI's stage proposal, reply drafts.

A substate of LeadState (it reads the open lead's id, request, channel and timeline). The calls that
may reach OpenAI run as background events; state is written only inside `async with self`.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace

import reflex as rx

from crystal_bay import i18n
from crystal_bay.db import session_scope
from crystal_bay.models import PipelineStage
from crystal_bay.services import ai, pipeline
from crystal_bay.services.ai import processor, scoring
from crystal_bay.services.errors import DomainError
from crystal_bay.state.guard import requires
from crystal_bay.state.lead import LeadState

log = logging.getLogger(__name__)

def _request(travel: dict[str, str]) -> SimpleNamespace:
    """The workspace's travel strings back as values the scorer reads (bad values count as missing)."""

    def number(name: str, kind=int):
        try:
            return kind(travel.get(name) or "") if travel.get(name) else None
        except (ValueError, InvalidOperation):
            return None

    def date(name: str):
        try:
            return dt.date.fromisoformat(travel[name]) if travel.get(name) else None
        except ValueError:
            return None

    return SimpleNamespace(
        country=travel.get("country") or None, resort=travel.get("resort") or None, date_from=date("date_from"),
        date_to=date("date_to"), nights_min=number("nights_min"), nights_max=number("nights_max"),
        adults=number("adults"), children=number("children"), budget=number("budget", Decimal),
        currency=travel.get("currency") or None)


class AIState(LeadState):
    """Drafts and AI actions for the open lead."""

    draft: str = ""
    draft_key: int = 0
    draft_engine: str = ""  # openai | rules | ""
    ai_busy: bool = False
    ai_error: str = ""
    ai_mode: str = "rules"  # the engine that answers now: openai (configured) | rules
    proposal_stage_id: str = ""
    proposal_stage: str = ""
    proposal_confidence: str = ""

    def _live_score(self) -> scoring.Score:
        inbound = sum(1 for row in self.timeline if row.kind == "message" and row.direction == "inbound")
        return scoring.score_lead(_request(self.travel), channel=self.source or "api", inbound_messages=inbound,
                                  today=processor.local_today())

    @rx.var
    def translate_available(self) -> bool:
        """Translation needs OpenAI: without it the button is disabled with a hint."""
        return self.ai_mode == "openai"

    @rx.var
    def live_score(self) -> int:
        """The score of the request as it is now on the page."""
        return self._live_score().value

    @rx.var
    def live_reasons(self) -> list[str]:
        """Why, in the interface language."""
        return self._live_score().texts(self.lang)

    def _message(self, exc: Exception) -> str:
        """An AI or domain error in the manager's language; anything unexpected as one plain sentence."""
        if not isinstance(exc, DomainError | ai.AIUnavailable):
            return i18n.tr(self.lang, "ai.err.unexpected")
        code = getattr(exc, "code", "")
        text = i18n.tr(self.lang, f"ai.err.{code}")
        return getattr(exc, "message", str(exc)) if text == f"ai.err.{code}" else text

    def _load_proposal(self) -> None:
        with session_scope() as session:
            event = processor.pending_proposal(session=session, lead_id=self.lead_id)
            stage = session.get(PipelineStage, event.data.get("to_stage_id")) if event else None
            self.ai_mode = "openai" if ai.openai_config(session) else "rules"
        if event is None or stage is None:
            self.proposal_stage_id = self.proposal_stage = self.proposal_confidence = ""
            return
        self.proposal_stage_id = str(stage.id)
        self.proposal_stage = stage.name_en if self.lang == "en" else stage.name_ru
        self.proposal_confidence = f"{round(float(event.data.get('confidence', 0)) * 100)}%"

    @requires()
    def load_ai(self):
        """The panel mounted: the lead's pending proposal and which engine answers; a new lead starts clean."""
        try:
            lead_id = int(self.router.url.path.rstrip("/").rsplit("/", 1)[-1])
        except ValueError:
            return
        if lead_id != self.lead_id:
            self.lead_id = lead_id
        self.draft, self.draft_engine, self.ai_error = "", "", ""
        self.draft_key += 1
        try:
            self._load_proposal()
        except DomainError:
            self.proposal_stage_id = ""

    @requires()
    def set_draft(self, value: str):
        """The manager edited the draft (sent when the text area loses focus)."""
        self.draft = str(value or "")[:5000]

    @requires()
    def apply_proposal(self):
        """Move the lead to the stage the AI proposed, as the manager."""
        if not self.proposal_stage_id:
            return None
        stage_id = int(self.proposal_stage_id)
        result = self._run(lambda s: pipeline.move_lead(session=s, lead_id=self.lead_id, stage_id=stage_id,
                                                        actor=self._actor()), ok_key="board.moved")
        self._load_proposal()
        return result

    @requires()
    def save_score(self):
        """Store the score shown in the panel on the lead (the card shows the stored one)."""
        result = self._run(lambda s: processor.rescore(session=s, lead_id=self.lead_id), ok_key="ai.score_saved")
        return result

    async def _start(self) -> tuple[int, str, str] | None:
        async with self:
            if self.ai_busy:
                return None
            self.ai_busy, self.ai_error = True, ""
            return self.lead_id, self.draft, self.lang

    async def _finish(self, result: ai.AIText | None = None, error: Exception | None = None):
        async with self:
            self.ai_busy = False
            if error is not None:
                self.ai_error = self._message(error)
                return rx.toast.error(self.ai_error)
            if result is not None:
                self.draft, self.draft_engine = result.text, result.engine
                self.draft_key += 1
            return None

    @rx.event(background=True)
    @requires()
    async def suggest(self):
        """Draft a reply in the customer's language from the lead's history and offers."""
        started = await self._start()
        if started is None:
            return None
        lead_id, _draft, _lang = started
        try:
            with session_scope() as session:
                context = ai.reply_context(session=session, lead_id=lead_id)
                config = ai.openai_config(session)
            result = await ai.suggest_reply(context, config=config, use_openai=config is not None)
        except (DomainError, ai.AIUnavailable) as exc:
            return await self._finish(error=exc)
        except Exception as exc:  # a failure nobody planned for: a readable message, not a broken panel
            log.exception("AI reply suggestion failed")
            return await self._finish(error=exc)
        return await self._finish(result)

    async def _rewrite(self, operation: str):
        started = await self._start()
        if started is None:
            return None
        _lead_id, draft, _lang = started
        try:
            with session_scope() as session:
                config = ai.openai_config(session)
            if operation == "translate":
                result = await ai.translate(draft, config=config)
            elif operation == "improve":
                result = await ai.improve(draft, config=config, use_openai=config is not None)
            else:
                result = await ai.shorten(draft, config=config, use_openai=config is not None)
        except (DomainError, ai.AIUnavailable) as exc:
            return await self._finish(error=exc)
        except Exception as exc:  # a failure nobody planned for: a readable message, not a broken panel
            log.exception("AI %s failed", operation)
            return await self._finish(error=exc)
        return await self._finish(result)

    @rx.event(background=True)
    @requires()
    async def translate_draft(self):
        """Translate the draft Russian ↔ English (needs OpenAI)."""
        return await self._rewrite("translate")

    @rx.event(background=True)
    @requires()
    async def improve_draft(self):
        """Polish the manager's draft."""
        return await self._rewrite("improve")

    @rx.event(background=True)
    @requires()
    async def shorten_draft(self):
        """Make the draft shorter."""
        return await self._rewrite("shorten")

    @rx.event(background=True)
    @requires()
    async def analyse_last(self):
        """Run the inquiry processor on the customer's last message (merge, score, propose a stage)."""
        started = await self._start()
        if started is None:
            return None
        lead_id = started[0]
        try:
            with session_scope() as session:
                context = ai.reply_context(session=session, lead_id=lead_id, history_limit=50)
                config = ai.openai_config(session)
            last = next((text for role, text in reversed(context.history) if role == "user"), "")
            if not last:
                raise ai.AIUnavailable("The customer has not written yet.", code="ai_no_message")
            today = processor.local_today()
            extraction = await ai.extract(last, today=today, config=config)
            with session_scope() as session:
                processor.apply_extraction(session=session, lead_id=lead_id, extraction=extraction, today=today)
        except (DomainError, ai.AIUnavailable) as exc:
            return await self._finish(error=exc)
        except Exception as exc:  # a failure nobody planned for: a readable message, not a broken panel
            log.exception("AI reading of the last message failed")
            return await self._finish(error=exc)
        async with self:
            self.ai_busy = False
            self._refresh()
            self._load_proposal()
            return rx.toast.success(i18n.tr(self.lang, "ai.analysed"))
