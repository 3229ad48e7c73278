"""Helpers of the lead-intake tests: unique contacts, spellings of a phone, row counts, API keys."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from sqlmodel import func, select

from crystal_bay.db import session_scope
from crystal_bay.models import AuditEvent, Customer, Lead, LeadTag, Message, WebhookEvent

_numbers = itertools.count(random.Random().randrange(1_000_000, 8_000_000))
TABLES = (Customer, Lead, Message, WebhookEvent, LeadTag, AuditEvent)


def unique_phone() -> str:
    """A valid Kazakh mobile number nobody else in the test database has: "+7 701 XXX XX XX" digits."""
    return f"+7701{next(_numbers):07d}"


def unique_email() -> str:
    return f"client{next(_numbers)}@example.kz"


def spellings(e164: str) -> list[str]:
    """The usual ways people write a +7 number: 8 701 ..., +7 (701) ..., 7701..., 701..."""
    n = e164.removeprefix("+7")
    return [f"8 {n[:3]} {n[3:6]} {n[6:8]} {n[8:]}", f"+7 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}", f"7{n}", n,
            f"8({n[:3]}){n[3:]}"]


def row_counts() -> dict[str, int]:
    """Rows per intake-related table in the app database."""
    with session_scope() as session:
        return {m.__name__: session.exec(select(func.count()).select_from(m)).one() for m in TABLES}


@dataclass
class Keys:
    full: str  # leads:write + leads:read
    write: str
    read: str
    full_id: int

    def auth(self, which: str = "full") -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, which)}"}
