"""Property-based fuzzing of every intake route: no input may produce a 5xx, and every 4xx has the JSON error shape.

Bodies are drawn three ways: arbitrary JSON, "near-valid" objects built from the request models'
own field names (so values reach the validators and the services), and arbitrary bytes with
arbitrary content types. Bounded: 150 examples per route, no deadline.
"""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crystal_bay.api.compat import LegacyApiLead
from crystal_bay.services.intake_schemas import LeadIn, LeadPatch, MessageIn, WidgetIn
from tests.intake.support import unique_phone

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
WIDGET_KEY = "pk_fuzz_site_key"

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "8 701 123 45 67", "+77011234567", "a@b.kz", "2027-03-01", "2027-02-30",
                     "NaN", "1e400", "-1", "USD", "usd", "AI", "consultation", "completed", "won", "@user_name",
                     "inbound", "outbound", "website", "api", "9" * 30, "x" * 300, "ä\u202e\ufeff"]),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=12)


def near_valid(*models) -> st.SearchStrategy[dict]:
    """Objects whose keys are (mostly) the models' fields, with values of any JSON type."""
    names = sorted({name for model in models for name in model.model_fields})
    return st.dictionaries(st.sampled_from(names) | st.text(alphabet=string.ascii_lowercase, max_size=6),
                           json_values, max_size=10)


def bodies(*models) -> st.SearchStrategy[bytes]:
    return st.one_of(
        near_valid(*models).map(lambda d: json.dumps(d).encode()),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=200),
        st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass")),
    )


content_types = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", "",
                                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                 "application/merge-patch+json", "text/csv", "application/x-ndjson"])


def check(response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith("application/json"):
        error = response.json()["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str)


@pytest.fixture()
def fuzz_client(client, keys, settings_env):
    settings_env(WIDGET_PUBLIC_KEYS=WIDGET_KEY, WIDGET_RATE_LIMIT_PER_MINUTE="1000000",
                 SENDGRID_INBOUND_SECRET="fuzz-secret")
    lead_id = client.post("/api/v1/leads", json={"phone": unique_phone()}, headers=keys.auth()).json()["lead_id"]
    return client, keys, lead_id


@FUZZ
@given(body=bodies(LeadIn), content_type=content_types, key=st.text(max_size=8))
def test_post_leads(fuzz_client, body, content_type, key):
    client, keys, _ = fuzz_client
    headers = {**keys.auth(), "Content-Type": content_type}
    if key.isascii() and key.isprintable():
        headers["Idempotency-Key"] = key
    check(client.post("/api/v1/leads", content=body, headers=headers))


@FUZZ
@given(body=bodies(LeadPatch), lead=st.one_of(st.just("own"), st.text(max_size=25)))
def test_patch_lead(fuzz_client, body, lead):
    client, keys, lead_id = fuzz_client
    path = f"/api/v1/leads/{lead_id if lead == 'own' else lead}"
    if lead != "own" and (not lead.isprintable() or "/" in lead or "?" in lead or "#" in lead or not lead.strip()):
        return
    check(client.patch(path, content=body, headers={**keys.auth(), "Content-Type": "application/json"}))


@FUZZ
@given(body=bodies(MessageIn))
def test_post_message(fuzz_client, body):
    client, keys, lead_id = fuzz_client
    check(client.post(f"/api/v1/leads/{lead_id}/messages", content=body,
                      headers={**keys.auth(), "Content-Type": "application/json"}))


query_values = st.one_of(st.text(max_size=30), st.sampled_from(
    ["new", "closed", "none", "1", "0", "-5", "2147483648", "api", "new_request", "2026-01-01T00:00:00Z",
     "2026-13-45", "eyJ1IjoiMjAyNi0wMS0wMVQwMDowMDowMCswMDowMCIsImkiOjF9", "eyJ1IjpudWxsLCJpIjpbXX0", "200", "201"]))


@FUZZ
@given(params=st.dictionaries(st.sampled_from(["stage", "status", "assignee", "source", "updated_since", "cursor",
                                               "limit", "other"]), query_values, max_size=5))
def test_list_leads(fuzz_client, params):
    client, keys, _ = fuzz_client
    check(client.get("/api/v1/leads", params=params, headers=keys.auth()))


@FUZZ
@given(body=bodies(WidgetIn), key=st.sampled_from([WIDGET_KEY, "", "pk_other_key_x"]))
def test_widget_submit(fuzz_client, body, key):
    client, _, _ = fuzz_client
    try:
        value = json.loads(body)
        if isinstance(value, dict) and key:
            body = json.dumps({**value, "key": key}).encode()
    except ValueError:
        pass
    check(client.post("/api/widget/leads", content=body, headers={"Content-Type": "application/json"}))
    check(client.post("/api/leads/import/widget", content=body, headers={"Content-Type": "application/json"}))


@FUZZ
@given(body=bodies(LegacyApiLead))
def test_legacy_partner_api(fuzz_client, body):
    client, keys, _ = fuzz_client
    check(client.post("/api/leads/import/api", content=body,
                      headers={"X-API-Key": keys.write, "Content-Type": "application/json"}))


csv_cells = st.one_of(st.text(max_size=15), st.sampled_from(["8 701 555 00 11", "a@b.kz", "01.02.2027", "1 000,5",
                                                             "2", "сайт", "pigeon", '"', ";", "\n"]))


@FUZZ
@given(header=st.lists(st.sampled_from(["Имя", "Телефон", "Email", "Бюджет", "Дата вылета", "Взрослые", "Теги",
                                        "Источник", "id", "возраст детей", "x"]), min_size=1, max_size=6),
       rows=st.lists(st.lists(csv_cells, max_size=7), max_size=5), as_jsonl=st.booleans(),
       lines=st.lists(near_valid(LeadIn).map(json.dumps), max_size=4))
def test_import(fuzz_client, header, rows, as_jsonl, lines):
    client, keys, _ = fuzz_client
    if as_jsonl:
        content, kind = "\n".join(lines).encode() or b"{}", "application/x-ndjson"
    else:
        content = "\n".join(";".join(r) for r in [header, *rows]).encode("utf-8", "surrogatepass")
        kind = "text/csv"
    check(client.post("/api/v1/leads/import", content=content, headers={**keys.auth(), "Content-Type": kind}))


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["from", "to", "subject", "text", "html", "headers", "attachment-info",
                                               "attachments", "envelope", "x"]),
                              st.one_of(st.text(max_size=60), st.sampled_from([
                                  "Иван <ivan@mail.ru>", "a@b.kz", "Message-ID: <x@y>\n", "{\"attachment1\": 1}",
                                  "<p>hi</p>", "On Mon wrote:\n> x"])), max_size=8),
       attach=st.booleans())
def test_sendgrid_inbound(fuzz_client, fields, attach):
    client, _, _ = fuzz_client
    files = {"attachment1": ("ф.pdf", b"%PDF", "application/pdf")} if attach else None
    check(client.post("/api/webhooks/sendgrid/inbound", params={"secret": "fuzz-secret"}, data=fields, files=files))


@FUZZ
@given(body=st.binary(max_size=300), content_type=content_types)
def test_raw_bytes_to_every_body_route(fuzz_client, body, content_type):
    client, keys, lead_id = fuzz_client
    headers = {**keys.auth(), "Content-Type": content_type}
    for method, path in (("POST", "/api/v1/leads"), ("PATCH", f"/api/v1/leads/{lead_id}"),
                         ("POST", f"/api/v1/leads/{lead_id}/messages"), ("POST", "/api/v1/leads/import"),
                         ("POST", "/api/webhooks/sendgrid/inbound?secret=fuzz-secret"),
                         ("POST", "/api/widget/leads")):
        check(client.request(method, path, content=body, headers=headers))
