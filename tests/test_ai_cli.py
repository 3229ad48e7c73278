"""`python -m crystal_bay extract`, run as an operator would: rules offline, OpenAI through the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crystal_bay.sandbox.openai import create_app
from tests.servers import closed_port_url, serve

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"intent", "departure_city", "country", "resort", "date_from", "date_to", "nights_min", "nights_max", "adults",
        "children", "children_ages", "budget", "currency", "hotel_stars", "meal", "name", "phone", "email",
        "language", "confidence", "engine"}
TEXT = "Хотим в Нячанг на майские вдвоём, бюджет 800к тенге"


@pytest.fixture()
def extract_cli(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "CRYSTAL_BAY_DEMO": "1"}
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"):
        env.pop(name, None)

    def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "crystal_bay", "extract", *args], cwd=ROOT,
                              env={**env, **extra_env}, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)

    return run


def test_extract_prints_every_key_as_json(extract_cli):
    proc = extract_cli("--today", "2026-01-15", TEXT)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == KEYS
    assert data["engine"] == "rules" and data["resort"] == "Нячанг" and data["adults"] == 2
    assert (data["date_from"], data["date_to"], data["budget"], data["currency"]) == \
        ("2026-05-01", "2026-05-10", 800000, "KZT")


def test_extract_uses_openai_when_configured(extract_cli):
    app = create_app()
    with serve(app) as url:
        proc = extract_cli("--today", "2026-01-15", TEXT, OPENAI_API_KEY="sk-test.cli-000000000000",
                           OPENAI_BASE_URL=url + "/v1")
        forced = extract_cli("--today", "2026-01-15", "--engine", "rules", TEXT,
                             OPENAI_API_KEY="sk-test.cli-000000000000", OPENAI_BASE_URL=url + "/v1")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["engine"] == "openai" and json.loads(proc.stdout)["resort"] == "Нячанг"
    assert json.loads(forced.stdout)["engine"] == "rules"
    assert sum(r["path"] == "/v1/chat/completions" for r in app.state.requests) == 1


def test_extract_falls_back_to_rules_when_openai_is_down(extract_cli):
    proc = extract_cli("--today", "2026-01-15", "--engine", "openai", TEXT, OPENAI_API_KEY="sk-test.cli-0000000000",
                       OPENAI_BASE_URL=closed_port_url() + "/v1")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["engine"] == "rules" and "OpenAI did not answer" in proc.stderr


def test_extract_refuses_forced_openai_without_a_key_and_a_bad_date(extract_cli):
    proc = extract_cli("--engine", "openai", TEXT)
    assert proc.returncode == 2 and "not configured" in proc.stderr
    proc = extract_cli("--today", "15.01.2026", TEXT)
    assert proc.returncode == 2 and "--today" in proc.stderr
