"""Token buckets (in-process and Redis), and the original system's partner-API alias."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from crystal_bay.api import ratelimit
from tests.intake.support import row_counts, unique_email, unique_phone


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_memory_bucket_allows_a_burst_then_refills():
    clock = FakeClock()
    limiter = ratelimit.MemoryLimiter(clock=clock)
    assert [limiter.hit("k", 6).allowed for _ in range(7)] == [True] * 6 + [False]
    refused = limiter.hit("k", 6)
    assert refused.retry_after_s == 10  # 6 per minute: one token every 10 s
    clock.now += 10
    assert limiter.hit("k", 6).allowed and not limiter.hit("k", 6).allowed
    assert limiter.hit("other", 6).allowed  # buckets are per key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url():
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def test_redis_buckets_are_shared_and_refuse_with_retry_after(redis_url):
    key = f"test:{unique_phone()}"
    first, second = ratelimit.RedisLimiter(redis_url, ratelimit.MemoryLimiter()), ratelimit.RedisLimiter(
        redis_url, ratelimit.MemoryLimiter())
    assert first.hit(key, 3).allowed and second.hit(key, 3).allowed and first.hit(key, 3).allowed
    refused = second.hit(key, 3)  # the other "worker" sees the same bucket
    assert not refused.allowed and refused.retry_after_s == 20


def test_redis_failure_falls_back_to_memory(caplog):
    limiter = ratelimit.RedisLimiter(f"redis://127.0.0.1:{_free_port()}/0", ratelimit.MemoryLimiter())
    assert [limiter.hit("k", 2).allowed for _ in range(3)] == [True, True, False]
    assert "Redis rate limiter unavailable" in caplog.text


def test_the_api_uses_redis_when_configured(client, keys, settings_env, redis_url):
    settings_env(REDIS_URL=redis_url, API_RATE_LIMIT_PER_MINUTE="2")
    statuses = [client.get("/api/v1/leads", headers=keys.auth()).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


# ---------- the original partner API alias ----------


def test_the_original_partner_api_alias(client, keys):
    phone, email = unique_phone(), unique_email()
    nested = {"customer": {"name": "Партнёр", "email": email, "phone": phone},
              "inquiry": {"type": "Beach vacation", "message": "Мальдивы", "destination": "Мальдивы", "budget": 8000,
                          "travel_date": "2027-07-15"},
              "source_info": {"partner_name": "TravelPartner LLC", "reference_id": f"REF-{phone}", "api_key": "x"}}
    assert client.post("/api/leads/import/api", json=nested).status_code == 401  # a real key is now required
    created = client.post("/api/leads/import/api", json=nested, headers={"X-API-Key": keys.write})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["success"] is True and body["lead_created"] is True
    lead = client.get(f"/api/v1/leads/{body['lead_id']}", headers=keys.auth()).json()
    assert (lead["country"], lead["budget"], lead["date_from"], lead["external_id"], lead["tags"], lead["utm"]) == (
        "Мальдивы", "8000.00", "2027-07-15", f"REF-{phone}", ["Beach vacation"], {"source": "TravelPartner LLC"})
    counts = row_counts()
    again = client.post("/api/leads/import/api", json=nested, headers={"X-API-Key": keys.write})
    assert again.json()["lead_id"] == body["lead_id"] and row_counts() == counts
    flat = client.post("/api/leads/import/api", json={"name": "Flat", "phone": unique_phone(), "message": "m"},
                       headers={"X-API-Key": keys.write})
    assert flat.status_code == 201
    bad = client.post("/api/leads/import/api", json={"name": "Flat", "phone": "000"}, headers={"X-API-Key": keys.write})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "phone"
