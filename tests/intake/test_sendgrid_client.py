"""The SendGrid integration: the settings card, the typed client (one contract run against the sandbox and
against respx with SendGrid's documented answers), test_connection(), and the panel's live test."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import respx

from crystal_bay.integrations import registry
from crystal_bay.integrations import sendgrid as sendgrid_integration
from crystal_bay.integrations.sendgrid import OutgoingMail, SendGridClient, SendGridError, SendGridSettings
from crystal_bay.sandbox import sendgrid as sandbox
from crystal_bay.services import integrations as svc
from tests.factories import SYSTEM
from tests.servers import serve

KEY = "SG.test-key.0123456789abcdef"
BASE = "https://api.sendgrid.com"


def settings(**overrides) -> SendGridSettings:
    values = {"inbound_secret": "inbound-secret-1234", "api_key": KEY, "from_email": "tours@crystalbay.kz",
              "from_name": "Crystal Bay Travel", **overrides}
    return SendGridSettings.model_validate(values)


MAIL = OutgoingMail(to_email="client@example.com", to_name="Айгерим", subject="Ваш тур",
                    text="Добрый день!", html="<p>Добрый день!</p>")


class Backend:
    """One side of the contract: the sandbox (ASGI), or respx answering as the protocol notes say."""

    def __init__(self, kind: str):
        self.kind = kind
        self.app = sandbox.create_app()
        self.router = respx.Router(base_url=f"{BASE}/v3", assert_all_called=False)
        self.fault = ""
        self.scopes = list(sandbox.DEFAULT_SCOPES)
        self.router.get("/scopes").mock(side_effect=self._respx_scopes)
        self.router.post("/mail/send").mock(side_effect=self._respx_send)

    def transport(self) -> httpx.AsyncBaseTransport:
        if self.kind == "sandbox":
            self.app.state.fault, self.app.state.scopes = self.fault, self.scopes
            return httpx.ASGITransport(app=self.app)
        return httpx.MockTransport(self.router.handler)

    def _refusal(self, request: httpx.Request) -> httpx.Response | None:
        """SendGrid's 401, 429 and 500 answers (shape from the notes §2, §6 and the OpenAPI's 401)."""
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return httpx.Response(401, json={"errors": [{"message": "The provided authorization grant is invalid, "
                                                         "expired, or revoked", "field": None, "help": None}]})
        if self.fault == "rate_limit":
            return httpx.Response(429, headers={"Retry-After": "1", "X-RateLimit-Remaining": "0"},
                                  json={"errors": [{"message": "too many requests", "field": None, "help": None}]})
        if self.fault == "server_error":
            return httpx.Response(500, json={"errors": [{"message": "internal server error", "field": None}]})
        return None

    def _respx_scopes(self, request: httpx.Request) -> httpx.Response:
        return self._refusal(request) or httpx.Response(200, json={"scopes": self.scopes})

    def _respx_send(self, request: httpx.Request) -> httpx.Response:
        refused = self._refusal(request)
        if refused:
            return refused
        body = json.loads(request.content)
        if not body.get("content"):
            return httpx.Response(400, json={"errors": [{"message": "Unless a valid template_id is provided, the "
                                                         "content parameter is required.", "field": "content",
                                                         "help": None}]})
        return httpx.Response(202, headers={"X-Message-Id": "respx-message-id"})


@pytest.fixture(params=["sandbox", "respx"])
def backend(request) -> Backend:
    return Backend(request.param)


def run(coro):
    return asyncio.run(coro)


async def _with_client(backend: Backend, config: SendGridSettings, action):
    async with SendGridClient(config, transport=backend.transport()) as client:
        return await action(client)


def test_contract_scopes_and_a_sent_mail(backend):
    scopes = run(_with_client(backend, settings(), lambda c: c.scopes()))
    assert "mail.send" in scopes
    sent = run(_with_client(backend, settings(), lambda c: c.send(MAIL)))
    assert sent.status == 202 and len(sent.message_id) >= 8
    if backend.kind == "sandbox":  # what SendGrid was asked to send
        body = backend.app.state.messages[-1]["body"]
        assert body["from"] == {"email": "tours@crystalbay.kz", "name": "Crystal Bay Travel"}
        assert body["personalizations"] == [{"to": [{"email": "client@example.com", "name": "Айгерим"}]}]
        assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]


def test_contract_a_wrong_key_is_a_permanent_auth_error(backend):
    with pytest.raises(SendGridError) as info:
        run(_with_client(backend, settings(api_key="wrong-key-0000"), lambda c: c.send(MAIL)))
    assert (info.value.kind, info.value.status, info.value.temporary) == ("auth", 401, False)
    assert "refused the API key" in info.value.message and "invalid, expired, or revoked" in info.value.message


def test_contract_a_refused_mail_names_the_field(backend):
    empty = OutgoingMail(to_email="client@example.com", subject="Пусто")
    with pytest.raises(SendGridError) as info:
        run(_with_client(backend, settings(), lambda c: c.send(empty)))
    assert (info.value.kind, info.value.status, info.value.fields) == ("invalid", 400, ["content"])
    assert not info.value.temporary


@pytest.mark.parametrize(("fault", "kind", "status"), [("rate_limit", "rate_limited", 429),
                                                       ("server_error", "server", 500)])
def test_contract_rate_limits_and_outages_are_temporary(backend, fault, kind, status):
    backend.fault = fault
    with pytest.raises(SendGridError) as info:
        run(_with_client(backend, settings(), lambda c: c.send(MAIL)))
    assert (info.value.kind, info.value.status, info.value.temporary) == (kind, status, True)
    if fault == "rate_limit":
        assert info.value.retry_after is not None and 0 <= info.value.retry_after <= 60


def test_the_sandbox_validates_like_sendgrid():
    assert sandbox.validate_mail(MAIL.body(settings())) == []
    twice = {"personalizations": [{"to": [{"email": "a@b.kz"}], "cc": [{"email": "A@b.kz"}]}],
             "from": {"email": "nope"}, "subject": "x", "content": [{"type": "text/plain", "value": ""}]}
    assert {f for _, f in sandbox.validate_mail(twice)} == {"personalizations.0", "from.email", "content.0.value"}
    assert [f for _, f in sandbox.validate_mail({"from": {"email": "a@b.kz"}, "template_id": "d-1"})] == [
        "personalizations"]


def test_sandbox_mode_validates_only():
    app = sandbox.create_app()

    async def go():
        async with SendGridClient(settings(), transport=httpx.ASGITransport(app=app)) as client:
            return await client.send(MAIL, sandbox_mode=True)

    sent = run(go())
    assert (sent.status, sent.message_id, app.state.messages) == (200, "", [])


def test_sending_needs_a_key_and_a_from_address():
    with pytest.raises(SendGridError) as no_key:
        SendGridClient(settings(api_key=None))
    assert no_key.value.kind == "not_configured"
    with pytest.raises(SendGridError) as no_from:
        MAIL.body(settings(from_email=None))
    assert no_from.value.kind == "not_configured"


# ---------- test_connection ----------


def _test(config: SendGridSettings, app=None):
    return run(sendgrid_integration.test_connection(config, transport=httpx.ASGITransport(
        app=app or sandbox.create_app())))


def test_connection_results():
    ok = _test(settings())
    assert (ok.ok, ok.code, ok.params["sender"]) == (True, "sendgrid_ok", "tours@crystalbay.kz")
    assert "mail.send" in ok.detail and ok.latency_ms is not None
    assert (_test(settings(from_email=None)).code, _test(settings(from_email=None)).ok) == ("sendgrid_ok_no_from", True)
    refused = _test(settings(api_key="wrong-key-123"))
    assert (refused.ok, refused.code) == (False, "sendgrid_key_refused") and "wrong-key-123" not in refused.detail
    narrow = sandbox.create_app()
    narrow.state.scopes = ["stats.read"]
    assert (_test(settings(), narrow).ok, _test(settings(), narrow).code) == (False, "sendgrid_no_mail_send")
    inbound_only = _test(settings(api_key=None))
    assert (inbound_only.ok, inbound_only.code) == (True, "sendgrid_inbound_only")
    down = sandbox.create_app()
    down.state.fault = "unavailable"
    assert (_test(settings(), down).ok, _test(settings(), down).code) == (False, "server_error")


def test_connection_when_nothing_listens():
    result = run(sendgrid_integration.test_connection(settings(api_base_url="http://127.0.0.1:9", timeout_s=2)))
    assert (result.ok, result.code) == (False, "connect_failed")


# ---------- the settings panel ----------


def test_the_card_is_no_longer_coming_soon_and_renders_from_the_schema(session):
    card = svc.integration_view(session=session, slug="sendgrid")
    assert not card.spec.coming_soon and registry.get_spec("sendgrid").schema is SendGridSettings
    fields = {f.field.name: f.field for f in card.fields}
    assert (fields["inbound_secret"].kind, fields["inbound_secret"].required, fields["inbound_secret"].env_var) == (
        "secret", True, "SENDGRID_INBOUND_SECRET")
    assert (fields["api_key"].kind, fields["api_key"].required, fields["api_key"].env_var) == (
        "secret", False, "SENDGRID_API_KEY")
    assert fields["from_email"].env_var == "SENDGRID_FROM_EMAIL" and fields["from_email"].title_en == "From address"
    with pytest.raises(svc.SettingsInvalid) as bad:
        svc.save_settings(session=session, slug="sendgrid", actor=SYSTEM,
                          values={"inbound_secret": "long-enough-secret", "from_email": "not an address"})
    assert set(bad.value.errors) == {"from_email"}


def test_the_panels_live_test_reaches_sendgrid_and_masks_the_key(session, settings_env):
    settings_env(SENDGRID_INBOUND_SECRET=None, SENDGRID_API_KEY=None, SENDGRID_FROM_EMAIL=None)
    with serve(sandbox.create_app()) as url:
        svc.save_settings(session=session, slug="sendgrid", actor=SYSTEM, values={
            "inbound_secret": "panel-inbound-secret", "api_key": KEY, "from_email": "tours@crystalbay.kz",
            "api_base_url": url})
        card = svc.integration_view(session=session, slug="sendgrid")
        assert card.configured and KEY not in json.dumps([f.display for f in card.fields])
        result = run(svc.run_test(session=session, slug="sendgrid", actor=SYSTEM))
    assert result.ok and result.code == "sendgrid_ok", result.message
    assert KEY not in result.detail and KEY not in result.message
