"""The OpenAI engine against the sandbox (a real HTTP server on 127.0.0.1, reached through base_url):
request shape, parsing, timeout, 429/500 retries, and falling back to the rules engine."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest

from crystal_bay.integrations.openai import OpenAISettings
from crystal_bay.sandbox.openai import create_app
from crystal_bay.services import ai
from crystal_bay.services.ai import openai_engine, rules_engine
from crystal_bay.services.ai.openai_engine import EngineError, OpenAIEngine
from tests.servers import closed_port_url, serve

KEY = "sk-test.ai-engine-000000000000000000"
TODAY = dt.date(2026, 1, 15)
TEXT = "Здравствуйте! Хотим в Нячанг с 10 по 20 июня, 2 взрослых и ребёнок 5 лет, бюджет 2500$"


@pytest.fixture(scope="module")
def sandbox():
    app = create_app()
    with serve(app) as url:
        yield app, url + "/v1"


def _config(url: str, model: str = "gpt-4o-mini") -> OpenAISettings:
    return OpenAISettings(api_key=KEY, base_url=url, model=model, timeout_s=20)


def _run(engine: OpenAIEngine, coro_fn):
    async def go():
        try:
            return await coro_fn(engine)
        finally:
            await engine.aclose()

    return asyncio.run(go())


def _chat_requests(app) -> list[dict]:
    return [r for r in app.state.requests if r["path"] == "/v1/chat/completions"]


def test_extraction_request_shape_and_parsing(sandbox):
    app, url = sandbox
    calls = []
    engine = OpenAIEngine(_config(url), usage_sink=calls.append)
    result = _run(engine, lambda e: e.extract(TEXT, today=TODAY))

    body = _chat_requests(app)[-1]["body"]
    assert body["model"] == "gpt-4o-mini" and body["temperature"] == 0
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][1]["content"] == TEXT
    assert "2026-01-15" in body["messages"][0]["content"] and "Нячанг" in body["messages"][0]["content"]
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "InquiryExtraction"
    assert fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["additionalProperties"] is False and "engine" not in schema["properties"]
    assert set(schema["required"]) == set(schema["properties"])

    assert result.engine == "openai"
    assert (result.country, result.resort, result.adults, result.children, result.children_ages) == \
        ("Вьетнам", "Нячанг", 2, 1, [5])
    assert (result.date_from, result.date_to, result.budget, result.currency) == \
        (dt.date(2026, 6, 10), dt.date(2026, 6, 20), 2500, "USD")
    assert len(calls) == 1 and calls[0].ok and calls[0].operation == "extract" and calls[0].prompt_tokens > 0


def test_english_messages_get_the_english_system_prompt(sandbox):
    app, url = sandbox
    engine = OpenAIEngine(_config(url), usage_sink=lambda call: None)
    _run(engine, lambda e: e.extract("Phu Quoc in March for 2 adults", today=TODAY))
    assert _chat_requests(app)[-1]["body"]["messages"][0]["content"].startswith("You are the assistant")


def test_a_429_is_retried_then_answered(sandbox):
    app, url = sandbox
    before = len(_chat_requests(app))
    engine = OpenAIEngine(_config(url), usage_sink=lambda call: None,
                          default_headers={"x-sandbox-fault": "rate_limit", "x-sandbox-fault-times": "1"})
    result = _run(engine, lambda e: e.extract(TEXT, today=TODAY))
    assert result.engine == "openai" and result.resort == "Нячанг"
    assert len(_chat_requests(app)) - before == 2  # one 429, one retry that succeeded


def test_a_500_is_retried_twice_then_fails(sandbox):
    app, url = sandbox
    before = len(_chat_requests(app))
    calls = []
    engine = OpenAIEngine(_config(url, "gpt-4o-mini:server_error"), usage_sink=calls.append)
    with pytest.raises(EngineError) as info:
        _run(engine, lambda e: e.extract(TEXT, today=TODAY))
    assert "500" in info.value.message and info.value.temporary
    assert len(_chat_requests(app)) - before == 3  # the call and max_retries=2
    assert [c.ok for c in calls] == [False]


def test_a_slow_answer_times_out(sandbox):
    _app, url = sandbox
    engine = OpenAIEngine(_config(url, "gpt-4o-mini:slow-1.5"), timeout_s=0.3, max_retries=0,
                          usage_sink=lambda call: None)
    started = time.monotonic()
    with pytest.raises(EngineError) as info:
        _run(engine, lambda e: e.extract(TEXT, today=TODAY))
    assert "in time" in info.value.message and time.monotonic() - started < 1.4


@pytest.mark.parametrize("fault", ["invalid_json", "refusal", "length"])
def test_broken_answers_are_engine_errors(sandbox, fault):
    _app, url = sandbox
    calls = []
    engine = OpenAIEngine(_config(url, f"gpt-4o-mini:{fault}"), max_retries=0, usage_sink=calls.append)
    with pytest.raises(EngineError):
        _run(engine, lambda e: e.extract(TEXT, today=TODAY))
    assert calls and not calls[-1].ok


def test_the_interface_falls_back_to_rules_when_openai_is_down():
    config = OpenAISettings(api_key=KEY, base_url=closed_port_url() + "/v1", model="gpt-4o-mini", timeout_s=2)

    async def go():
        try:
            return await ai.extract(TEXT, today=TODAY, config=config)
        finally:
            await openai_engine.close_engines()

    result = asyncio.run(go())
    assert result.engine == "rules"
    assert result == rules_engine.extract(TEXT, today=TODAY)


def test_the_interface_uses_openai_when_configured_and_rules_when_told(sandbox):
    _app, url = sandbox

    async def go():
        try:
            return (await ai.extract(TEXT, today=TODAY, config=_config(url)),
                    await ai.extract(TEXT, today=TODAY, engine="rules", config=_config(url)))
        finally:
            await openai_engine.close_engines()

    by_openai, by_rules = asyncio.run(go())
    assert (by_openai.engine, by_rules.engine) == ("openai", "rules")
    assert by_openai.model_dump(exclude={"engine"}) == by_rules.model_dump(exclude={"engine"})


def test_openai_forced_without_configuration_is_refused(settings_env):
    settings_env(OPENAI_API_KEY=None)
    with pytest.raises(ai.AIUnavailable):
        asyncio.run(ai.extract("Нячанг", today=TODAY, engine="openai", config=None))


def test_the_model_answer_is_normalised():
    found = ai.InquiryExtraction(intent="tour_search", country="vietnam", resort="Nha Trang", phone="8 701 123 45 67",
                                 adults=2, children=1, children_ages=[5, 7], nights_min=12, nights_max=9,
                                 hotel_stars=7, language="xx", confidence=0.9)
    result = openai_engine._normalise(found, "Hello")
    assert (result.country, result.resort, result.phone) == ("Вьетнам", "Нячанг", "+77011234567")
    assert result.children_ages == [] and (result.nights_min, result.nights_max) == (12, 12)
    assert result.hotel_stars is None and result.language == "en" and result.engine == "openai"


def test_reply_translate_improve_shorten_through_the_sandbox(sandbox):
    app, url = sandbox
    config = _config(url)
    context = ai.ReplyContext(language="ru", customer_name="Айгерим", request={"country": "Вьетнам"},
                              history=[("user", "Хотим во Вьетнам")])

    async def go():
        try:
            return [await ai.suggest_reply(context, config=config), await ai.translate("Добрый день", config=config),
                    await ai.improve("добрый день , ждём вас", config=config),
                    await ai.shorten("Добрый день. Ждём вас.", config=config)]
        finally:
            await openai_engine.close_engines()

    texts = asyncio.run(go())
    assert all(t.engine == "openai" and t.text for t in texts)
    assert texts[1].language == "en"
    bodies = [r["body"] for r in _chat_requests(app)[-4:]]
    assert "Crystal Bay" in bodies[0]["messages"][0]["content"] and bodies[0]["messages"][-1]["role"] == "user"
    assert "английский" in bodies[1]["messages"][0]["content"]
    assert "response_format" not in bodies[1]


def test_without_openai_replies_come_from_the_template_and_translation_is_refused(settings_env):
    settings_env(OPENAI_API_KEY=None)
    context = ai.ReplyContext(language="en", customer_name="John Smith",
                              request={"country": "Вьетнам", "adults": 2}, history=[("user", "Vietnam for 2")])
    reply = asyncio.run(ai.suggest_reply(context, use_openai=False))
    assert reply.engine == "rules" and reply.text.startswith("Hello, John!") and "travel dates" in reply.text
    with pytest.raises(ai.AIUnavailable):
        asyncio.run(ai.translate("Привет", config=None))
    polished = asyncio.run(ai.improve("здравствуйте ,  ваш тур готов.ждем оплату", use_openai=False))
    assert polished.text == "Здравствуйте, ваш тур готов. Ждем оплату." and polished.engine == "rules"
    short = asyncio.run(ai.shorten("Здравствуйте! Спасибо за обращение. На самом деле тур готов. Тур готов.",
                                   use_openai=False))
    assert short.text == "Здравствуйте! Тур готов."


def test_the_sandbox_answers_any_json_schema_with_a_minimal_instance(sandbox):
    import json

    import httpx

    _app, url = sandbox
    schema = {"type": "object", "additionalProperties": False, "required": ["kind", "note", "tags", "size"],
              "properties": {"kind": {"type": "string", "enum": ["a", "b"]},
                             "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                             "tags": {"type": "array", "items": {"type": "string"}}, "size": {"type": "integer"}}}
    response = httpx.post(f"{url}/chat/completions", headers={"Authorization": f"Bearer {KEY}"}, json={
        "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "Other", "schema": schema, "strict": True}}})
    assert response.status_code == 200
    assert json.loads(response.json()["choices"][0]["message"]["content"]) == \
        {"kind": "a", "note": None, "tags": [], "size": 0}
    limited = httpx.post(f"{url}/chat/completions", headers={"Authorization": f"Bearer {KEY}",
                                                             "x-sandbox-fault": "rate_limit"},
                         json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]})
    assert limited.status_code == 429 and limited.headers["retry-after-ms"] == "10"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
