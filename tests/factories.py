"""Small factories for test data, written through the services where one exists."""

from __future__ import annotations

import itertools

from sqlmodel import Session, func, select

from crystal_bay.models import Customer, Lead
from crystal_bay.services import leads, users
from crystal_bay.services.audit import Actor

_seq = itertools.count(1)
SYSTEM = Actor.system("tests")


def make_user(session: Session, *, role: str = "manager", password: str = "correct-horse-1", **kw):
    n = next(_seq)
    return users.create_user(
        session=session, email=kw.get("email", f"user{n}@crystalbay.kz"), name=kw.get("name", f"Менеджер {n}"),
        role=role, password=password, actor=SYSTEM,
    )


def make_customer(session: Session, *, name: str = "Айгерим Садыкова", phone: str | None = "+77011234567",
                  email: str | None = None) -> Customer:
    customer = Customer(name=name, phone=phone, phones=[phone] if phone else [], email=email)
    session.add(customer)
    session.flush()
    return customer


def make_lead(session: Session, **kw) -> Lead:
    """A lead in the first stage; pass customer=... to reuse one, else a new customer is made."""
    name = kw.pop("customer_name", "Айгерим Садыкова")
    customer = kw.pop("customer", None) or make_customer(session, name=name)
    return leads.create_lead(session=session, customer_id=customer.id, source=kw.pop("source", "telegram"),
                             actor=SYSTEM, **kw)


def count(session: Session, model) -> int:
    """How many rows a table has."""
    return session.exec(select(func.count()).select_from(model)).one()
