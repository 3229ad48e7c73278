"""The AI engine: one interface, two engines.

OpenAI answers when it is configured (settings panel or OPENAI_API_KEY); the offline rules engine
answers otherwise, and whenever OpenAI fails (timeout, 429, 5xx, a broken answer). Callers only learn
which engine answered from the result's `engine` field.

- `extract(text, today=...)` → `Extraction` (intent, destination, dates, nights, travellers, budget...)
- `score_lead(request, ...)` → `Score` (0..100 with reasons)
- `suggest_reply(context)`, `translate(text, target)`, `improve(text)`, `shorten(text)` → `AIText`
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from crystal_bay.integrations.openai import OpenAISettings
from crystal_bay.services.ai import prompts, rules_engine
from crystal_bay.services.ai.openai_engine import EngineError, get_engine
from crystal_bay.services.ai.schema import INTENTS, AIText, EngineName, Extraction, InquiryExtraction
from crystal_bay.services.ai.scoring import Reason, Score, score_lead

__all__ = [
    "INTENTS", "AIText", "AIUnavailable", "EngineName", "Extraction", "InquiryExtraction", "Reason", "ReplyContext",
    "Score", "extract", "improve", "openai_config", "reply_context", "score_lead", "shorten", "suggest_reply",
    "translate",
]
log = logging.getLogger(__name__)


class AIUnavailable(Exception):
    """The operation needs OpenAI and it is not configured or did not answer."""

    def __init__(self, message: str, *, code: str = "ai_unavailable"):
        super().__init__(message)
        self.message = message
        self.code = code


def openai_config(session: Session | None = None) -> OpenAISettings | None:
    """The OpenAI configuration in force (panel or environment), or None when there is no key."""
    from crystal_bay.services import integrations

    try:
        if session is not None:
            return integrations.load_config(session=session, slug="openai")  # type: ignore[return-value]
        from crystal_bay.db import session_scope

        with session_scope() as own:
            return integrations.load_config(session=own, slug="openai")  # type: ignore[return-value]
    except integrations.SettingsInvalid:
        return None
    except SQLAlchemyError:  # no database yet (e.g. the CLI before `migrate`): the environment alone
        from crystal_bay.settings import get_settings

        settings = get_settings()
        if not settings.openai_api_key:
            return None
        try:
            return OpenAISettings(api_key=settings.openai_api_key, base_url=settings.openai_base_url,
                                  model=settings.openai_model)
        except ValidationError:
            return None


async def extract(text: str, *, today: dt.date, engine: EngineName | None = None,
                  config: OpenAISettings | None = None) -> Extraction:
    """Read an inquiry. engine=None: OpenAI when configured, else (or when it fails) the rules engine."""
    if engine == "rules":
        return rules_engine.extract(text, today=today)
    config = config or openai_config()
    if config is None:
        if engine == "openai":
            raise AIUnavailable("OpenAI is not configured: set the API key in Settings or OPENAI_API_KEY.",
                                code="ai_not_configured")
        return rules_engine.extract(text, today=today)
    try:
        return await get_engine(config).extract(text, today=today)
    except EngineError as exc:
        log.warning("OpenAI extraction failed (%s); the rules engine answers.", exc.message)
        return rules_engine.extract(text, today=today)


# ---------- reply suggestions ----------


@dataclass(frozen=True)
class ReplyContext:
    """What a reply draft is written from: the customer, the request, the history and the offers."""

    language: str
    customer_name: str
    request: dict
    history: list[tuple[str, str]]  # (role "user" = customer | "assistant" = agency, text), oldest first
    offers: list[str] = field(default_factory=list)


def reply_context(*, session: Session, lead_id: int, history_limit: int = 20) -> ReplyContext:
    """The lead's last messages (notes left out), its travel request and its current tour offers."""
    from crystal_bay.models import Customer, Lead, Message, TourOffer
    from crystal_bay.services.errors import NotFound

    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"Lead {lead_id} does not exist.", field="lead_id")
    customer = session.get(Customer, lead.customer_id)
    rows = list(session.exec(select(Message).where(Message.lead_id == lead_id, Message.direction != "internal")
                             .order_by(col(Message.created_at).desc(), col(Message.id).desc()).limit(history_limit)))
    history = [("user" if m.direction == "inbound" else "assistant", m.body) for m in reversed(rows) if m.body]
    offers = [f"{o.hotel} {o.stars or ''}* · {o.resort or o.country or ''} · {o.date_from:%d.%m.%Y} · {o.nights} "
              f"ночей · {o.meal or ''} · {o.price:.0f} {o.currency}"
              for o in session.exec(select(TourOffer).where(TourOffer.lead_id == lead_id, col(TourOffer.available))
                                    .order_by(col(TourOffer.price)).limit(5))]
    inbound = [text for role, text in history if role == "user"]
    language = (customer.language if customer and customer.language in ("ru", "en") else "ru")
    if inbound and (detected := rules_engine._language(inbound[-1])):
        language = detected
    request = {k: getattr(lead, k) for k in ("country", "resort", "date_from", "date_to", "nights_min", "nights_max",
                                             "adults", "children", "children_ages", "budget", "currency",
                                             "hotel_stars", "meal")}
    return ReplyContext(language=language, customer_name=(customer.name if customer else "") or "",
                        request={k: v for k, v in request.items() if v not in (None, [], "")}, history=history,
                        offers=offers)


async def suggest_reply(context: ReplyContext, *, config: OpenAISettings | None = None,
                        use_openai: bool = True) -> AIText:
    """A draft answer in the customer's language; a template from the rules engine when OpenAI is off or fails."""
    config = config or (openai_config() if use_openai else None)
    if config is not None:
        request = ", ".join(f"{k}={v}" for k, v in context.request.items()) or "—"
        system = prompts.load("reply", context.language, language=context.language, request=request,
                              offers="; ".join(context.offers) or "—")
        messages = [{"role": role, "content": text[:2000]} for role, text in context.history[-20:]]
        if not messages or messages[-1]["role"] != "user":
            messages.append({"role": "user", "content": "(Напиши следующее сообщение клиенту.)"})
        try:
            return await get_engine(config).write("reply", system=system, messages=messages,
                                                   language=context.language)
        except EngineError as exc:
            log.warning("OpenAI reply failed (%s); the template answers.", exc.message)
    return AIText(text=_template_reply(context), engine="rules", language=context.language)


_ASK = {"destination": ("куда хотите поехать", "where you would like to go"),
        "dates": ("примерные даты вылета", "your approximate travel dates"),
        "nights": ("на сколько ночей", "how many nights"),
        "travellers": ("сколько взрослых и детей (и возраст детей)", "how many adults and children (and their ages)"),
        "budget": ("ориентировочный бюджет", "your approximate budget")}


def _template_reply(context: ReplyContext) -> str:
    en = context.language == "en"
    r = context.request
    first = (context.customer_name or "").split()[0] if context.customer_name else ""
    lines = [f"Hello{', ' + first if first else ''}! Thank you for contacting Crystal Bay Travel." if en else
             f"Здравствуйте{', ' + first if first else ''}! Спасибо, что обратились в Crystal Bay Travel."]
    parts = [p for p in (r.get("resort"), r.get("country")) if p]
    if r.get("date_from"):
        parts.append(f"{r['date_from']:%d.%m}" + (f"–{r['date_to']:%d.%m.%Y}" if r.get("date_to") else ""))
    if r.get("nights_min"):
        nights = r["nights_min"] if r["nights_min"] == r.get("nights_max") else \
            f"{r['nights_min']}–{r.get('nights_max') or r['nights_min']}"
        parts.append(f"{nights} nights" if en else f"{nights} ноч.")
    if r.get("adults"):
        kids = f" + {r['children']} {'children' if en else 'дет.'}" if r.get("children") else ""
        parts.append(f"{r['adults']} {'adults' if en else 'взр.'}{kids}")
    if r.get("budget"):
        parts.append(f"{'budget' if en else 'бюджет'} {int(r['budget']):,} {r.get('currency') or ''}".replace(",", " ")
                     .strip())
    if parts:
        lines.append(("Your request: " if en else "Ваш запрос: ") + ", ".join(parts) + ".")
    if context.offers:
        lines.append("Here are the options we found:" if en else "Мы подобрали для вас варианты:")
        lines += [f"{i}. {offer}" for i, offer in enumerate(context.offers[:3], start=1)]
        lines.append("Which one do you like? We will check availability and book it." if en else
                     "Какой вариант вам нравится? Проверим наличие мест и забронируем.")
    else:
        present = {"destination": r.get("country") or r.get("resort"), "dates": r.get("date_from"),
                   "nights": r.get("nights_min"), "travellers": r.get("adults"), "budget": r.get("budget")}
        missing = [_ASK[k][1 if en else 0] for k, v in present.items() if not v][:3]
        if missing:
            lines.append(("To find the best options, please tell us " if en else
                          "Чтобы подобрать лучшие варианты, подскажите, пожалуйста: ") + ", ".join(missing) + ".")
        else:
            lines.append("We are selecting the best options and will send them to you shortly." if en else
                         "Подбираем для вас лучшие варианты и скоро пришлём подборку.")
    lines.append("Best regards, Crystal Bay Travel" if en else "С уважением, Crystal Bay Travel")
    return "\n".join(lines)


# ---------- translate, improve, shorten ----------


def _text_language(text: str) -> str:
    return rules_engine._language(text) or "ru"


async def _write(operation: str, text: str, *, params: dict, config: OpenAISettings | None, language: str) -> AIText:
    config = config or openai_config()
    if config is None:
        raise AIUnavailable("OpenAI is not configured.", code="ai_not_configured")
    system = prompts.load(operation, _text_language(text), **params)
    try:
        return await get_engine(config).write(operation, system=system, messages=[{"role": "user", "content": text}],
                                              language=language, temperature=0.2)
    except EngineError as exc:
        raise AIUnavailable(exc.message, code="ai_failed") from exc


def _clean(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise AIUnavailable("There is no text.", code="ai_empty")
    return text[:5000]


async def translate(text: str, target: str | None = None, *, config: OpenAISettings | None = None) -> AIText:
    """Russian ↔ English (target: "ru" | "en"; by default the other one). Needs OpenAI."""
    text = _clean(text)
    target = target or ("en" if _text_language(text) == "ru" else "ru")
    name = ("английский" if target == "en" else "русский") if _text_language(text) == "ru" else \
        ("English" if target == "en" else "Russian")
    return await _write("translate", text, params={"target": name}, config=config, language=target)


async def improve(text: str, *, config: OpenAISettings | None = None, use_openai: bool = True) -> AIText:
    """Polish a manager's draft; offline: spacing, punctuation and capital letters only."""
    text = _clean(text)
    if use_openai and (config or openai_config()):
        try:
            return await _write("improve", text, params={}, config=config, language=_text_language(text))
        except AIUnavailable as exc:
            log.warning("OpenAI improve failed (%s); the offline polish answers.", exc.message)
    return AIText(text=_polish(text), engine="rules", language=_text_language(text))


async def shorten(text: str, *, config: OpenAISettings | None = None, use_openai: bool = True) -> AIText:
    """Shorten a draft; offline: filler phrases, pleasantries and repeated sentences go."""
    text = _clean(text)
    if use_openai and (config or openai_config()):
        try:
            return await _write("shorten", text, params={}, config=config, language=_text_language(text))
        except AIUnavailable as exc:
            log.warning("OpenAI shorten failed (%s); the offline shortening answers.", exc.message)
    return AIText(text=_shorten(text), engine="rules", language=_text_language(text))


_SENTENCE = re.compile(r"(?<=[.!?…])\s+")


def _polish(text: str) -> str:
    lines = []
    for line in text.splitlines():
        line = re.sub(r"[ \t]+", " ", line).strip()
        line = re.sub(r"\s+([,.!?:;])", r"\1", line)
        line = re.sub(r"([,.!?:;])(?=[^\s\d.,!?)\"»])", r"\1 ", line)
        line = re.sub(r"([!?.]){2,}", r"\1", line)
        sentences = [s[:1].upper() + s[1:] for s in _SENTENCE.split(line) if s]
        lines.append(" ".join(sentences))
    out = "\n".join(lines).strip()
    if out and out[-1] not in ".!?…)":
        out += "."
    return out


_FILLER = re.compile(r"\b(?:как бы|в принципе|на самом деле|дело в том, что|хотелось бы отметить, что|"
                     r"собственно говоря|по большому счету|в общем-то|so to speak|basically|actually|"
                     r"i would like to note that|as a matter of fact)\b,?\s*", re.IGNORECASE)
_PLEASANTRY = re.compile(r"спасибо за (?:обращение|ваш[еу]? (?:обращение|вопрос|сообщение))|будем рады|рады помочь|"
                         r"thank you for (?:your|contacting)|happy to help|we would be glad", re.IGNORECASE)


def _shorten(text: str) -> str:
    sentences = [s.strip() for s in _SENTENCE.split(" ".join(_polish(text).split())) if s.strip()]
    kept, seen = [], set()
    for i, sentence in enumerate(sentences):
        sentence = _FILLER.sub("", sentence).strip()
        key = sentence.lower()
        if not sentence or key in seen or (i > 0 and _PLEASANTRY.search(sentence) and not re.search(r"\d|\?", sentence)):
            continue
        seen.add(key)
        kept.append(sentence[:1].upper() + sentence[1:])
    return " ".join(kept)

