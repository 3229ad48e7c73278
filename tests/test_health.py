"""GET /api/health answers for the database it is configured with."""

from __future__ import annotations

from fastapi.testclient import TestClient

from crystal_bay.api.app import create_api
from crystal_bay.db import reset_engines


def test_health_ok(app_db):
    response = TestClient(create_api()).get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["version"]


def test_health_reports_unreachable_database(settings_env):
    # nothing listens on port 1: the database part fails, the service still answers
    settings_env(DATABASE_URL="postgresql://postgres@127.0.0.1:1/test")
    reset_engines()
    try:
        response = TestClient(create_api()).get("/api/health")
    finally:
        reset_engines()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"].startswith("error: OperationalError")


def test_openapi_is_published(app_db):
    client = TestClient(create_api())
    assert client.get("/openapi.json").json()["info"]["title"] == "Crystal Bay Travel API"
    assert client.get("/docs").status_code == 200
