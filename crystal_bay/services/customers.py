"""Customers: phone and e-mail normalisation, editing, and finding-or-creating by contact."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from sqlalchemy import String, cast
from sqlmodel import Session, col, select

from crystal_bay.models import Channel, Customer, utcnow
from crystal_bay.services import audit, users
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import NotFound, ValidationFailed

TELEGRAM_USERNAME = re.compile(r"[A-Za-z0-9_]{5,32}")
LANGUAGES = ("ru", "en")
MAX_NAME = 200
MAX_WHATSAPP_ID = 32


def normalize_phone(raw: str, region: str = "KZ") -> str:
    """The number in E.164 ("8 701 123 45 67" → "+77011234567"), or ValidationFailed(field="phone")."""
    try:
        number = phonenumbers.parse((raw or "").strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed(f"Not a phone number: {raw!r}.", code="invalid_phone", field="phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(f"Not a valid phone number: {raw!r}.", code="invalid_phone", field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    """A valid, lower-cased e-mail address (no DNS check), or ValidationFailed(field="email")."""
    return users.normalize_email(raw or "")


@dataclass(frozen=True)
class CustomerUpdate:
    """Everything a manager edits on a customer card; blank phones in the list are ignored."""

    name: str
    phones: list[str]
    email: str | None
    telegram_username: str | None
    whatsapp_id: str | None
    language: str


def _clean_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("A name is required.", code="name_required", field="name")
    if len(name) > MAX_NAME:
        raise ValidationFailed(f"The name is longer than {MAX_NAME} characters.", field="name")
    return name


def _clean_phones(raw: list[str]) -> list[str]:
    phones: list[str] = []
    for value in raw or []:
        if value and value.strip():
            phone = normalize_phone(value)
            if phone not in phones:
                phones.append(phone)
    return phones


def _clean_telegram(raw: str | None) -> str | None:
    username = (raw or "").strip().removeprefix("@")
    if not username:
        return None
    if not TELEGRAM_USERNAME.fullmatch(username):
        raise ValidationFailed("A Telegram username has 5–32 letters, digits or underscores.",
                               code="invalid_telegram", field="telegram_username")
    return username


def _clean_update(data: CustomerUpdate) -> dict:
    """The validated new values by field name; raises before anything is written."""
    whatsapp = (data.whatsapp_id or "").strip() or None
    if whatsapp and len(whatsapp) > MAX_WHATSAPP_ID:
        raise ValidationFailed(f"The WhatsApp id is longer than {MAX_WHATSAPP_ID} characters.", field="whatsapp_id")
    if data.language not in LANGUAGES:
        raise ValidationFailed("Language must be ru or en.", field="language")
    phones = _clean_phones(data.phones)
    email = (data.email or "").strip()
    return {
        "name": _clean_name(data.name), "phones": phones, "phone": phones[0] if phones else None,
        "email": normalize_email(email) if email else None, "telegram_username": _clean_telegram(data.telegram_username),
        "whatsapp_id": whatsapp, "language": data.language,
    }


def update_customer(*, session: Session, customer_id: int, data: CustomerUpdate, actor: Actor) -> Customer:
    """Validate and save a customer's card; nothing changes on any error; audited with the changed fields."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist.", field="customer_id")
    values = _clean_update(data)
    changed = [name for name, value in values.items() if getattr(customer, name) != value]
    if not changed:
        return customer
    for name in changed:
        setattr(customer, name, values[name])
    customer.updated_at = utcnow()
    session.add(customer)
    audit.record(session=session, actor=actor, entity_type="customer", entity_id=customer.id, action="updated",
                 data={"fields": changed})
    return customer


def _by_phone(session: Session, phone: str) -> Customer | None:
    """By the main phone (indexed), else among the extra phones (a scan, so only when needed)."""
    main = session.exec(select(Customer).where(Customer.phone == phone).order_by(col(Customer.id))).first()
    if main is not None:
        return main
    in_list = cast(Customer.phones, String).like(f'%"{phone}"%')
    return session.exec(select(Customer).where(in_list).order_by(col(Customer.id))).first()


def _by_email(session: Session, email: str) -> Customer | None:
    return session.exec(select(Customer).where(Customer.email == email).order_by(col(Customer.id))).first()


def _fill_blanks(session: Session, customer: Customer, phone: str | None, email: str | None, actor: Actor) -> None:
    """Add a contact the known customer did not have yet (never overwrites one)."""
    changed = []
    if phone and phone not in customer.phones and customer.phone != phone:
        customer.phones = [*customer.phones, phone]
        customer.phone = customer.phone or phone
        changed += ["phone", "phones"]
    if email and not customer.email:
        customer.email = email
        changed.append("email")
    if changed:
        customer.updated_at = utcnow()
        session.add(customer)
        audit.record(session=session, actor=actor, entity_type="customer", entity_id=customer.id,
                     action="updated", data={"fields": changed})


def find_or_create_customer(
    *, session: Session, name: str, phone: str | None = None, email: str | None = None,
    source_channel: str | None = None, actor: Actor,
) -> tuple[Customer, bool]:
    """The customer with this phone (else e-mail), or a new one; the flag says whether it was created."""
    name = _clean_name(name)
    phone = normalize_phone(phone) if phone and phone.strip() else None
    email = normalize_email(email) if email and email.strip() else None
    if source_channel is not None and source_channel not in {c.value for c in Channel}:
        raise ValidationFailed(f"Unknown source channel {source_channel!r}.", field="source")
    found = (_by_phone(session, phone) if phone else None) or (_by_email(session, email) if email else None)
    if found is not None:
        _fill_blanks(session, found, phone, email, actor)
        return found, False
    customer = Customer(name=name, phone=phone, phones=[phone] if phone else [], email=email)
    session.add(customer)
    session.flush()
    audit.record(session=session, actor=actor, entity_type="customer", entity_id=customer.id, action="created",
                 data={"source": source_channel, "fields": [k for k, v in (("phone", phone), ("email", email)) if v]})
    return customer, True
