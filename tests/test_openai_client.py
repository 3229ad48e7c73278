"""The OpenAI client wrapper and the sandbox speak the same protocol (the SDK talks to it via base_url)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from crystal_bay.integrations import openai as oa
from crystal_bay.sandbox.openai import create_app
from tests.servers import serve

KEY = "sk-test.0000000000000000000000004321"


@pytest.fixture(scope="module")
def sandbox():
    app = create_app()
    with serve(app) as url:
        yield app, url + "/v1"


def _config(base_url: str, key: str = KEY) -> oa.OpenAISettings:
    return oa.OpenAISettings(api_key=key, base_url=base_url, timeout_s=5)


def test_the_client_is_created_once_per_configuration(sandbox):
    _app, url = sandbox
    first, again = oa.get_client(_config(url)), oa.get_client(_config(url))
    assert first is again
    assert oa.get_client(_config(url, "sk-test.other-00000000000000")) is not first
    asyncio.run(oa.close_clients())


def test_chat_completion_through_the_sdk_against_the_sandbox(sandbox):
    app, url = sandbox

    async def run():
        client = oa.OpenAIClient(_config(url))
        try:
            return await client.complete([{"role": "user", "content": "Хочу во Вьетнам в июне"}])
        finally:
            await client.aclose()

    text = asyncio.run(run())
    assert "Хочу во Вьетнам в июне" in text
    body = next(r for r in reversed(app.state.requests) if r["path"] == "/v1/chat/completions")["body"]
    assert body["model"] == "gpt-4o-mini" and body["messages"][0]["role"] == "user"


def test_a_refused_key_becomes_a_plain_openai_error(sandbox):
    _app, url = sandbox

    async def run():
        client = oa.OpenAIClient(_config(url, "bad-key-0000000000"))
        try:
            await client.complete([{"role": "user", "content": "hi"}])
        finally:
            await client.aclose()

    with pytest.raises(oa.OpenAIError) as info:
        asyncio.run(run())
    assert info.value.message == "The API key was refused by OpenAI." and not info.value.temporary
    assert "invalid_api_key" in info.value.detail


def test_sandbox_protocol_shapes(sandbox):
    _app, url = sandbox
    ok = httpx.get(f"{url}/models", headers={"Authorization": f"Bearer {KEY}"})
    assert ok.status_code == 200 and ok.headers["x-request-id"].startswith("req_")
    assert {"id": "gpt-4o-mini", "object": "model", "created": 1_735_689_600, "owned_by": "system"} in ok.json()["data"]
    refused = httpx.get(f"{url}/models", headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key" and refused.json()["error"]["param"] is None
    missing = httpx.post(f"{url}/chat/completions", headers={"Authorization": f"Bearer {KEY}"}, json={"messages": []})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "model"
    unknown = httpx.post(f"{url}/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                         json={"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"


def test_the_sandbox_is_mounted_on_the_backend_in_demo_mode_only(app_db, settings_env):
    from fastapi.testclient import TestClient

    from crystal_bay.api.app import create_api

    headers = {"Authorization": f"Bearer {KEY}"}
    with TestClient(create_api()) as client:
        assert client.get("/sandbox/openai/v1/models", headers=headers).status_code == 200
    settings_env(CRYSTAL_BAY_DEMO="0", SECRET_KEY="a-real-secret-key-for-tests-0123456789")
    with TestClient(create_api()) as client:
        assert client.get("/sandbox/openai/v1/models", headers=headers).status_code == 404
