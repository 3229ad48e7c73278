"""/api/v1/leads over HTTP: auth and scopes, every error shape, idempotency, pagination, patch, messages, rate limit."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from crystal_bay.db import session_scope
from crystal_bay.models import ApiKey
from crystal_bay.services import api_keys
from tests.factories import SYSTEM, make_user
from tests.intake.support import row_counts, spellings, unique_email, unique_phone


def post_lead(client, keys, body, **headers):
    return client.post("/api/v1/leads", json=body, headers={**keys.auth(), **headers})


def assert_error(response, status, code, field="__any__"):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    if field != "__any__":
        assert error["field"] == field
    return error


# ---------- auth ----------


def test_no_key_unknown_key_and_revoked_key_are_401(client, keys):
    body = {"phone": unique_phone()}
    missing = client.post("/api/v1/leads", json=body)
    assert_error(missing, 401, "unauthorized")
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(client.post("/api/v1/leads", json=body, headers={"Authorization": "Bearer cbk_nope"}), 401,
                 "unauthorized")
    with session_scope() as session:
        key, raw = api_keys.create_api_key(session=session, name="old", scopes=["leads:write"], actor=SYSTEM)
        api_keys.revoke_api_key(session=session, key_id=key.id, actor=SYSTEM)
    assert_error(client.post("/api/v1/leads", json=body, headers={"X-API-Key": raw}), 401, "unauthorized")


def test_a_key_in_use_stops_working_the_moment_it_is_revoked(client, keys):
    with session_scope() as session:
        key, raw = api_keys.create_api_key(session=session, name="partner", scopes=["leads:read"], actor=SYSTEM)
    assert client.get("/api/v1/leads", headers={"X-API-Key": raw}).status_code == 200  # now remembered
    assert client.get("/api/v1/leads", headers={"X-API-Key": raw}).status_code == 200
    with session_scope() as session:
        api_keys.revoke_api_key(session=session, key_id=key.id, actor=SYSTEM)
    assert_error(client.get("/api/v1/leads", headers={"X-API-Key": raw}), 401, "unauthorized")


def test_scopes_are_enforced_with_403(client, keys):
    assert_error(client.post("/api/v1/leads", json={"phone": unique_phone()}, headers=keys.auth("read")), 403,
                 "insufficient_scope")
    assert_error(client.get("/api/v1/leads", headers=keys.auth("write")), 403, "insufficient_scope")
    assert client.get("/api/v1/leads", headers={"X-API-Key": keys.read}).status_code == 200


def test_using_a_key_notes_when_it_was_last_used(client, keys):
    client.get("/api/v1/leads", headers=keys.auth())
    with session_scope() as session:
        assert session.get(ApiKey, keys.full_id).last_used_at is not None


# ---------- POST /leads ----------


def test_post_creates_then_attaches_across_phone_spellings(client, keys):
    phone = unique_phone()
    first = post_lead(client, keys, {"name": "Айгерим", "phone": spellings(phone)[0], "message": "Вьетнам",
                                     "budget": "1500.50", "currency": "USD", "date_from": "2027-03-01", "adults": 2,
                                     "children_ages": [5], "tags": ["горящий"], "utm_source": "google"})
    assert first.status_code == 201, first.text
    body = first.json()
    assert set(body) == {"lead_id", "customer_id", "customer_existed", "lead_created", "message_id"}
    assert (body["customer_existed"], body["lead_created"]) == (False, True)
    for spelling in spellings(phone)[1:]:
        again = post_lead(client, keys, {"phone": spelling, "message": "ещё вопрос"}).json()
        assert (again["lead_id"], again["customer_existed"], again["lead_created"]) == (body["lead_id"], True, False)
    lead = client.get(f"/api/v1/leads/{body['lead_id']}", headers=keys.auth()).json()
    assert lead["customer"]["phone"] == phone and lead["budget"] == "1500.50" and lead["children"] == 1
    assert lead["tags"] == ["горящий"] and lead["utm"] == {"source": "google"} and lead["source"] == "api"
    assert len(lead["messages"]) == len(spellings(phone))


def test_external_id_and_idempotency_key_replay_the_first_answer(client, keys):
    body = {"phone": unique_phone(), "external_id": f"amo-{unique_phone()}", "message": "x"}
    first = post_lead(client, keys, body)
    counts = row_counts()
    again = post_lead(client, keys, {**body, "message": "другой текст"})
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true" and row_counts() == counts

    body2 = {"email": unique_email(), "message": "y"}
    one = post_lead(client, keys, body2, **{"Idempotency-Key": "order-42-" + unique_phone()})
    key = one.request.headers["Idempotency-Key"]
    counts = row_counts()
    two = post_lead(client, keys, body2, **{"Idempotency-Key": key})
    assert two.json() == one.json() and row_counts() == counts
    reused = post_lead(client, keys, {**body2, "message": "z"}, **{"Idempotency-Key": key})
    assert_error(reused, 422, "idempotency_key_reused", "Idempotency-Key")
    assert row_counts() == counts
    assert_error(post_lead(client, keys, body2, **{"Idempotency-Key": "x" * 101}), 422, "invalid_idempotency_key")


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    ({"phone": "12"}, 422, "invalid_phone", "phone"),
    ({"phone": "+7 000 000 00 00"}, 422, "invalid_phone", "phone"),
    ({"email": "nobody@"}, 422, "invalid_email", "email"),
    ({"name": "Без контактов"}, 422, "contact_required", "phone"),
    ({"phone": "+77011234567", "adults": "2"}, 422, "int_type", "adults"),
    ({"phone": "+77011234567", "adults": 99}, 422, "less_than_equal", "adults"),
    ({"phone": "+77011234567", "favourite_colour": "blue"}, 422, "extra_forbidden", "favourite_colour"),
    ({"phone": "+77011234567", "source": "pigeon"}, 422, "literal_error", "source"),
    ({"phone": "+77011234567", "tags": ["x" * 51]}, 422, "invalid_tag", "tags.0"),
    ({"phone": "+77011234567", "date_from": "01.03.2027"}, 422, "date_parsing", "date_from"),
    ([1, 2, 3], 422, "model_type", None),
])
def test_invalid_bodies_are_4xx_naming_the_field_and_write_nothing(client, keys, body, status, code, field):
    counts = row_counts()
    error = assert_error(post_lead(client, keys, body), status, code, field)
    assert error["errors"][0]["code"] == code
    assert row_counts() == counts


def test_malformed_json_wrong_media_type_and_bad_utf8(client, keys):
    counts = row_counts()
    headers = {**keys.auth(), "Content-Type": "application/json"}
    assert_error(client.post("/api/v1/leads", content=b'{"phone": ', headers=headers), 400, "malformed_json")
    assert_error(client.post("/api/v1/leads", content=b'{"name": "\xff\xfe"}', headers=headers), 400,
                 "malformed_json")
    assert_error(client.post("/api/v1/leads", content=b"", headers=headers), 400, "malformed_json")
    form = client.post("/api/v1/leads", data={"phone": "+77011234567"}, headers=keys.auth())
    assert_error(form, 415, "unsupported_media_type")
    assert row_counts() == counts


def test_a_body_over_one_mib_is_413_by_header_and_by_stream(client, keys):
    big = json.dumps({"phone": unique_phone(), "message": "x" * (1024 * 1024)}).encode()
    counts = row_counts()
    assert_error(client.post("/api/v1/leads", content=big, headers={**keys.auth(), "Content-Type": "application/json"}),
                 413, "payload_too_large")

    def chunks():  # no Content-Length: the size is only known while reading
        for _ in range(20):
            yield b" " * 65536
        yield b"{}"

    streamed = client.post("/api/v1/leads", content=chunks(),
                           headers={**keys.auth(), "Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in streamed.request.headers}
    assert_error(streamed, 413, "payload_too_large")
    assert row_counts() == counts


def test_unknown_routes_and_methods_answer_json(client, keys):
    assert_error(client.get("/api/v1/nothing-here", headers=keys.auth()), 404, "not_found")
    assert_error(client.delete("/api/v1/leads/1", headers=keys.auth()), 405, "method_not_allowed")


# ---------- GET /leads ----------


def test_list_filters_and_cursor_pagination(client, keys):
    made = {post_lead(client, keys, {"phone": unique_phone(), "source": "walk_in"}).json()["lead_id"]
            for _ in range(5)}
    seen, cursor = [], None
    while True:
        params = {"source": "walk_in", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/leads", params=params, headers=keys.auth())
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["items"]]
        assert all(item["source"] == "walk_in" for item in page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert made <= set(seen) and len(seen) == len(set(seen))
    one = client.get("/api/v1/leads", params={"stage": "new_request", "status": "new", "assignee": "none",
                                              "updated_since": "2020-01-01T00:00:00Z", "limit": 1},
                     headers=keys.auth())
    assert one.status_code == 200 and len(one.json()["items"]) == 1
    future = client.get("/api/v1/leads", params={"updated_since": "2999-01-01T00:00:00+05:00"}, headers=keys.auth())
    assert future.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(("params", "code", "field"), [
    ({"cursor": "not-a-cursor"}, "invalid_cursor", "cursor"),
    ({"cursor": "eyJ1IjoxLCJpIjoiMSJ9"}, "invalid_cursor", "cursor"),
    ({"updated_since": "yesterday"}, "invalid_datetime", "updated_since"),
    ({"stage": "no_such_stage"}, "unknown_stage", "stage"),
    ({"stage": "BAD STAGE"}, "string_pattern_mismatch", "stage"),
    ({"status": "lost"}, "literal_error", "status"),
    ({"assignee": "me"}, "invalid_assignee", "assignee"),
    ({"limit": 0}, "greater_than_equal", "limit"),
    ({"limit": "many"}, "int_parsing", "limit"),
])
def test_list_refuses_bad_parameters_with_422(client, keys, params, code, field):
    assert_error(client.get("/api/v1/leads", params=params, headers=keys.auth()), 422, code, field)


def test_get_unknown_or_malformed_ids(client, keys):
    assert_error(client.get("/api/v1/leads/999999", headers=keys.auth()), 404, "not_found", "lead_id")
    assert_error(client.get("/api/v1/leads/abc", headers=keys.auth()), 422, "int_parsing", "lead_id")
    assert_error(client.get(f"/api/v1/leads/{2**63}", headers=keys.auth()), 422, "less_than_equal", "lead_id")


# ---------- PATCH /leads/{id} ----------


def test_patch_changes_stage_assignee_tags_and_travel(client, keys, app_db):
    lead_id = post_lead(client, keys, {"phone": unique_phone(), "tags": ["a"]}).json()["lead_id"]
    with session_scope() as session:
        manager_id = make_user(session).id
    response = client.patch(f"/api/v1/leads/{lead_id}", headers=keys.auth(), json={
        "stage": "tour_selection", "assignee_id": manager_id, "tags": ["b", "c"], "country": "Вьетнам",
        "date_from": "2027-02-01", "date_to": "2027-02-10", "children_ages": [4, 9]})
    assert response.status_code == 200, response.text
    lead = response.json()
    assert (lead["stage"], lead["status"], lead["assignee_id"], lead["tags"]) == (
        "tour_selection", "in_progress", manager_id, ["b", "c"])
    assert (lead["country"], lead["children"], lead["children_ages"]) == ("Вьетнам", 2, [4, 9])


def test_patch_errors_change_nothing(client, keys):
    lead_id = post_lead(client, keys, {"phone": unique_phone()}).json()["lead_id"]
    url, before = f"/api/v1/leads/{lead_id}", row_counts()
    stage_before = client.get(url, headers=keys.auth()).json()["stage"]
    assert_error(client.patch(url, json={"stage": "consultation", "assignee_id": 987654}, headers=keys.auth()),
                 422, "unknown_user", "assignee_id")
    assert_error(client.patch(url, json={"stage": "completed"}, headers=keys.auth()), 409, "outcome_required")
    assert_error(client.patch(url, json={"stage": "nowhere"}, headers=keys.auth()), 422, "unknown_stage", "stage")
    assert_error(client.patch(url, json={"date_from": "2027-05-02", "date_to": "2027-05-01"}, headers=keys.auth()),
                 422, "invalid_dates")
    assert_error(client.patch(url, json={"status": "closed"}, headers=keys.auth()), 422, "extra_forbidden", "status")
    assert_error(client.patch(url, json={}, headers=keys.auth()), 422, "empty_patch")
    assert_error(client.patch("/api/v1/leads/999999", json={"adults": 1}, headers=keys.auth()), 404, "not_found")
    assert client.get(url, headers=keys.auth()).json()["stage"] == stage_before
    assert row_counts() == before


# ---------- POST /leads/{id}/messages ----------


def test_log_messages_idempotently(client, keys):
    lead_id = post_lead(client, keys, {"phone": unique_phone()}).json()["lead_id"]
    url = f"/api/v1/leads/{lead_id}/messages"
    body = {"text": "Отправили подборку", "direction": "outbound", "channel": "whatsapp", "external_id": f"wz-{lead_id}",
            "sent_at": "2026-11-25T10:00:00+05:00", "attachments": ["offer.pdf"]}
    first = client.post(url, json=body, headers=keys.auth())
    assert first.status_code == 201, first.text
    message = first.json()
    assert (message["author_type"], message["attachments"]) == ("system", [{"name": "offer.pdf"}])
    assert dt.datetime.fromisoformat(message["created_at"]) == dt.datetime(2026, 11, 25, 5, tzinfo=dt.UTC)
    again = client.post(url, json=body, headers=keys.auth())
    assert again.status_code == 200 and again.json()["id"] == message["id"]
    assert_error(client.post(url, json={"text": ""}, headers=keys.auth()), 422, "string_too_short", "text")
    assert_error(client.post(url, json={"text": "x", "sent_at": "2026-11-25T10:00:00"}, headers=keys.auth()), 422,
                 "naive_datetime", "sent_at")
    assert_error(client.post("/api/v1/leads/999999/messages", json={"text": "x"}, headers=keys.auth()), 404,
                 "not_found")


# ---------- rate limit ----------


def test_rate_limit_per_key_answers_429_with_retry_after(client, keys, settings_env):
    settings_env(API_RATE_LIMIT_PER_MINUTE="3")
    statuses = [client.get("/api/v1/leads", params={"limit": 1}, headers=keys.auth()).status_code for _ in range(3)]
    limited = client.get("/api/v1/leads", headers=keys.auth())
    assert statuses == [200, 200, 200]
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1
    other_key = client.get("/api/v1/leads", headers={"X-API-Key": keys.read})
    assert other_key.status_code == 200  # buckets are per key


def test_openapi_documents_the_intake_routes(client):
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/leads", "/api/v1/leads/{lead_id}", "/api/v1/leads/{lead_id}/messages", "/api/v1/leads/import",
            "/api/widget/leads", "/api/webhooks/sendgrid/inbound"} <= set(spec["paths"])
    body = spec["paths"]["/api/v1/leads"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["additionalProperties"] is False and "phone" in body["properties"]
