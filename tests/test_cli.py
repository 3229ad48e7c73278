"""The operator CLI, run as a user would: `python -m crystal_bay ...` in a fresh database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from crystal_bay.db import make_engine
from crystal_bay.models import Customer, Lead, Message, User

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def cli(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "DATABASE_URL": url, "CRYSTAL_BAY_DEMO": "1"}
    env.pop("ADMIN_EMAIL", None)
    env.pop("ADMIN_PASSWORD", None)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "crystal_bay", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        if check:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    run.engine = make_engine(url)
    yield run
    run.engine.dispose()


def _count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_migrate_bootstrap_is_idempotent(cli):
    cli("migrate")
    first = cli("bootstrap", "--demo-leads", "40")
    assert "First administrator created: admin@crystalbay.kz" in first.stdout
    assert "Password (shown once" in first.stdout
    leads, customers = _count(cli.engine, Lead), _count(cli.engine, Customer)
    assert leads == 40 and customers > 0
    second = cli("bootstrap", "--demo-leads", "40")
    assert "First administrator" not in second.stdout
    assert _count(cli.engine, Lead) == leads
    with Session(cli.engine) as s:
        assert len(s.exec(select(User).where(User.role == "admin")).all()) == 1


def test_create_user_and_refusals(cli):
    cli("migrate")
    done = cli("create-user", "--email", "Anna@Agency.kz", "--name", "Анна", "--role", "manager",
               "--password", "anna-password")
    assert "Created manager anna@agency.kz" in done.stdout
    dup = cli("create-user", "--email", "anna@agency.kz", "--name", "Анна", "--role", "manager",
              "--password", "anna-password", check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr
    bad = cli("create-user", "--email", "nope", "--name", "X", "--role", "manager", "--password", "long-password",
              check=False)
    assert bad.returncode == 1 and "Invalid e-mail" in bad.stderr
    no_pw = cli("create-user", "--email", "b@agency.kz", "--name", "B", "--role", "admin", check=False)
    assert no_pw.returncode == 2 and "--password" in no_pw.stderr
    assert _count(cli.engine, User) == 1


def test_seed_demo_adds_leads_with_messages(cli):
    cli("migrate")
    out = cli("seed-demo", "--leads", "120", "--seed", "3")
    assert "Demo data loaded" in out.stdout
    assert _count(cli.engine, Lead) == 120
    assert _count(cli.engine, Message) >= 120
    skipped = cli("seed-demo", "--leads", "10", "--if-empty")
    assert "already has leads" in skipped.stdout
    assert _count(cli.engine, Lead) == 120
    too_many = cli("seed-demo", "--leads", "100001", check=False)
    assert too_many.returncode == 2
