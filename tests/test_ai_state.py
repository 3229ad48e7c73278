"""The AI panel's state, driven like the browser would: suggest, rewrite, read the last message, apply the
proposal — offline (the rules engine answers; OpenAI is not configured in tests)."""

from __future__ import annotations

import uuid

import pytest

import crystal_bay.crystal_bay  # noqa: F401  (registers every page and state)
from crystal_bay.db import session_scope
from crystal_bay.models import Lead, Message, PipelineStage
from crystal_bay.services import users
from crystal_bay.state.ai import AIState
from tests.factories import SYSTEM, make_customer
from tests.factories import make_lead as _make_lead
from tests.state_support import call_handler, state_instance

_instance, _call = state_instance, call_handler



@pytest.fixture()
def panel(app_db, settings_env):
    settings_env(OPENAI_API_KEY=None)
    with session_scope() as session:
        user = users.create_user(session=session, email=f"ai-panel-{uuid.uuid4().hex[:12]}@crystalbay.kz", name="Алия",
                                 role="manager", password="panel-password", actor=SYSTEM)
        token = users.authenticate(session=session, email=user.email, password="panel-password", client_ip="t").token
        lead = _make_lead(session, customer=make_customer(session, name="Айгерим Садыкова", phone=None))
        session.add(Message(lead_id=lead.id, customer_id=lead.customer_id, channel="telegram", direction="inbound",
                            author_type="customer", body="Здравствуйте! Хотим в Нячанг в марте вдвоём, бюджет 2000$"))
        lead_id = lead.id
    state = _instance(AIState)
    state.auth_token = token
    state.lead_id = lead_id
    state._refresh()
    return state


def test_suggest_drafts_a_reply_offline(panel):
    _call(panel, "suggest")
    assert panel.draft.startswith("Здравствуйте, Айгерим!") and panel.draft_engine == "rules" and not panel.ai_busy


def test_improve_and_shorten_work_offline_translate_says_it_needs_openai(panel):
    _call(panel, "set_draft", "добрый день ,  тур готов.ждем оплату")
    _call(panel, "improve_draft")
    assert panel.draft == "Добрый день, тур готов. Ждем оплату." and panel.draft_engine == "rules"
    _call(panel, "shorten_draft")
    assert panel.draft == "Добрый день, тур готов. Ждем оплату."
    _call(panel, "translate_draft")
    assert "OpenAI" in panel.ai_error and panel.draft == "Добрый день, тур готов. Ждем оплату."


def test_reading_the_last_message_fills_the_request_and_proposes_a_stage(panel, settings_env):
    settings_env(OPENAI_API_KEY=None, AI_AUTO_MOVE_THRESHOLD="1.0", AI_AUTO_ASSIGN="false")
    assert panel.live_score < 40
    _call(panel, "analyse_last")
    assert panel.travel["resort"] == "Нячанг" and panel.travel["adults"] == "2" and panel.travel["budget"] == "2000"
    assert panel.proposal_stage == "Подбор тура" and panel.proposal_confidence.endswith("%")
    assert panel.live_score > 40 and any(r.startswith("Не хватает: ночи") for r in panel.live_reasons)
    _call(panel, "apply_proposal")
    with session_scope() as session:
        lead = session.get(Lead, panel.lead_id)
        assert session.get(PipelineStage, lead.stage_id).slug == "tour_selection"
        assert lead.assignee_id is None
    assert panel.proposal_stage_id == ""
    _call(panel, "save_score")
    with session_scope() as session:
        assert session.get(Lead, panel.lead_id).score == panel.live_score


def _open(panel):
    """The panel mounts on the lead's page (load_ai reads the lead from the address)."""
    from reflex.istate.data import ReflexURL, RouterData

    panel.router = RouterData(url=ReflexURL(f"http://localhost:3000/lead/{panel.lead_id}"))
    _call(panel, "load_ai")


def test_translate_is_disabled_with_a_hint_until_openai_is_configured(panel, settings_env):
    from crystal_bay.sandbox.openai import create_app as openai_sandbox
    from tests.servers import serve

    _open(panel)
    assert panel.ai_mode == "rules" and panel.translate_available is False
    with serve(openai_sandbox()) as url:
        settings_env(OPENAI_API_KEY="sk-test.ai-panel-0000000000", OPENAI_BASE_URL=url + "/v1")
        _open(panel)
        assert panel.ai_mode == "openai" and panel.translate_available is True
        _call(panel, "set_draft", "Добрый день, тур готов.")
        _call(panel, "translate_draft")
    assert panel.ai_error == "" and panel.draft_engine == "openai" and panel.draft != "Добрый день, тур готов."


def test_an_unexpected_failure_is_a_readable_message_not_a_crash(panel, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from crystal_bay.services import ai

    def database_gone(*_args, **_kwargs):
        raise OperationalError("SELECT integration_settings", {}, Exception("server closed the connection"))

    monkeypatch.setattr(ai, "openai_config", database_gone)
    _call(panel, "set_draft", "добрый день ,  тур готов")
    for handler in ("improve_draft", "suggest", "analyse_last"):
        panel.ai_error = ""
        _call(panel, handler)
        assert panel.ai_error.startswith("ИИ-помощник не смог это сделать") and not panel.ai_busy, handler
        assert "SELECT" not in panel.ai_error and panel.draft == "добрый день ,  тур готов"
