"""Who is writing: customers matched by phone (E.164), e-mail or Telegram username, in batches.

`ContactIndex` answers "which customer is this?" for a whole batch of inquiries in a few queries
(the API sends a batch of one; the import sends thousands), and remembers the customers it plans
to create so a later row of the same batch with the same contact finds them. Precedence: phone,
then e-mail, then Telegram. A matched customer gains the contacts it did not have yet (never
overwritten). New customers are inserted together (`insert_new`), with the same audit event
`customers.find_or_create_customer` writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import String, bindparam, cast, func, text
from sqlmodel import Session, col, select

from crystal_bay.models import Customer, utcnow
from crystal_bay.models.customers import MULTI_PHONE_POSTGRESQL, MULTI_PHONE_SQLITE
from crystal_bay.services import audit
from crystal_bay.services.audit import Actor
from crystal_bay.services.intake_schemas import LeadIn

TARGETED_PHONE_LOOKUPS = 5  # above this many unmatched phones, read every customer's extra phones once instead


@dataclass
class NewCustomer:
    """A customer this batch will insert (id set by `insert_new`)."""

    name: str
    phone: str | None
    email: str | None
    telegram_username: str | None
    source: str
    phones: list[str] = field(default_factory=list)
    id: int | None = None


class ExtraPhones:
    """Every phone kept in a customer's list besides the main one, read once (a scan) for a long import, so each
    chunk does not scan the customers again; the import keeps it current as it adds phones."""

    def __init__(self, session: Session):
        self.owner: dict[str, int] = {}
        for customer_id, phones in session.exec(select(Customer.id, Customer.phones).where(multi_phone(session))
                                                .order_by(col(Customer.id))):
            self.add(customer_id, phones or [])

    def add(self, customer_id: int | None, phones: list[str]) -> None:
        if customer_id is not None and len(phones) > 1:
            for phone in phones:
                self.owner.setdefault(phone, customer_id)


def multi_phone(session: Session):
    """"The customer has more than one phone", written exactly as the partial index ix_customers_extra_phones is,
    so the database reads only those customers (a literal: a bound parameter would not match the index)."""
    dialect = session.get_bind().dialect.name
    return text(MULTI_PHONE_POSTGRESQL if dialect == "postgresql" else MULTI_PHONE_SQLITE)


# Built once (a request runs them every time; building and hashing a statement costs as much as running it).
_BY_PHONE = select(Customer).where(col(Customer.phone).in_(bindparam("values", expanding=True)))
_BY_EMAIL = select(Customer).where(col(Customer.email).in_(bindparam("values", expanding=True)))
_BY_TELEGRAM = select(Customer).where(func.lower(Customer.telegram_username).in_(bindparam("values", expanding=True)))
_IN_LIST = {postgresql: select(Customer).where(text(MULTI_PHONE_POSTGRESQL if postgresql else MULTI_PHONE_SQLITE),
                                               cast(Customer.phones, String).like(bindparam("pattern")))
            .order_by(col(Customer.id)).limit(1) for postgresql in (False, True)}


def _chunks(values: list, size: int = 500) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


class ContactIndex:
    """Customers by contact for one batch; planned customers are registered as they are planned."""

    def __init__(self, session: Session, extra_phones: ExtraPhones | None = None):
        self.session = session
        self.extra_phones = extra_phones
        self.by_phone: dict[str, Customer | NewCustomer] = {}
        self.by_email: dict[str, Customer | NewCustomer] = {}
        self.by_telegram: dict[str, Customer | NewCustomer] = {}
        self.new: list[NewCustomer] = []

    def load(self, rows: list[LeadIn]) -> None:
        """Look up every contact of the batch: one query per kind (plus the extra phones when needed)."""
        phones = sorted({r.phone for r in rows if r.phone} - self.by_phone.keys())
        emails = sorted({r.email for r in rows if r.email} - self.by_email.keys())
        telegrams = sorted({r.telegram.lower() for r in rows if r.telegram} - self.by_telegram.keys())
        for part in _chunks(phones):
            self._remember(self.session.exec(_BY_PHONE, params={"values": part}))
        self._load_extra_phones([p for p in phones if p not in self.by_phone])
        for part in _chunks(emails):
            self._remember(self.session.exec(_BY_EMAIL, params={"values": part}))
        for part in _chunks(telegrams):
            self._remember(self.session.exec(_BY_TELEGRAM, params={"values": part}))

    def _load_extra_phones(self, missing: list[str]) -> None:
        """Phones kept in a customer's list besides the main one (a scan, so only for misses)."""
        if not missing:
            return
        if self.extra_phones is not None:
            ids = sorted({self.extra_phones.owner[p] for p in missing if p in self.extra_phones.owner})
            for part in _chunks(ids):
                self._remember(self.session.exec(select(Customer).where(col(Customer.id).in_(part))))
            return
        dialect = self.session.get_bind().dialect.name
        if len(missing) <= TARGETED_PHONE_LOOKUPS:
            stmt = _IN_LIST[dialect == "postgresql"]
            for phone in missing:
                self._remember(self.session.exec(stmt, params={"pattern": f'%"{phone}"%'}))
            return
        wanted, ids = set(missing), {}
        for customer_id, phones in self.session.exec(select(Customer.id, Customer.phones)
                                                     .where(multi_phone(self.session))):
            for phone in phones or []:
                if phone in wanted:
                    ids.setdefault(phone, customer_id)
        for part in _chunks(sorted(set(ids.values()))):
            self._remember(self.session.exec(select(Customer).where(col(Customer.id).in_(part))))

    def _remember(self, found: Iterable[Customer | NewCustomer]) -> None:
        """Index customers by every contact; the oldest customer wins a shared contact."""
        for customer in sorted(found, key=lambda c: c.id or 0):
            for phone in [customer.phone, *(customer.phones or [])]:
                if phone:
                    self.by_phone.setdefault(phone, customer)
            if customer.email:
                self.by_email.setdefault(customer.email.lower(), customer)
            if customer.telegram_username:
                self.by_telegram.setdefault(customer.telegram_username.lower(), customer)

    def find(self, data: LeadIn) -> Customer | NewCustomer | None:
        """The known customer for these contacts (phone, then e-mail, then Telegram)."""
        return ((self.by_phone.get(data.phone) if data.phone else None)
                or (self.by_email.get(data.email) if data.email else None)
                or (self.by_telegram.get(data.telegram.lower()) if data.telegram else None))

    def resolve(self, data: LeadIn, *, actor: Actor) -> tuple[Customer | NewCustomer, bool]:
        """The matching customer (completed with new contacts), or a planned new one; the flag says it existed."""
        customer = self.find(data)
        existed = customer is not None
        if customer is None:
            customer = NewCustomer(name=data.display_name()[:200], phone=data.phone, email=data.email,
                                   telegram_username=data.telegram, source=data.source,
                                   phones=[data.phone] if data.phone else [])
            self.new.append(customer)
        else:
            complete(self.session, customer, data, actor)
            if self.extra_phones is not None:
                self.extra_phones.add(customer.id, customer.phones or [])
        self._remember([customer])
        return customer, existed

    def insert_new(self, *, actor: Actor, now) -> list[dict]:
        """Insert the planned customers in one statement; returns their "created" audit rows to insert."""
        if not self.new:
            return []
        from crystal_bay.services.intake_batch import insert_rows

        rows = [{"name": c.name, "phone": c.phone, "phones": c.phones, "email": c.email,
                 "telegram_username": c.telegram_username, "language": "ru", "notes": "", "created_at": now,
                 "updated_at": now} for c in self.new]
        for customer, new_id in zip(self.new, insert_rows(self.session, Customer, rows, ids=True), strict=True):
            customer.id = new_id
        audits, self.new = [_created_audit(c, actor, now) for c in self.new], []
        return audits


def _created_audit(customer: NewCustomer, actor: Actor, now) -> dict:
    fields = [k for k, v in (("phone", customer.phone), ("email", customer.email),
                             ("telegram_username", customer.telegram_username)) if v]
    return {"at": now, "actor_type": actor.type, "actor_id": actor.id, "actor_label": actor.label,
            "entity_type": "customer", "entity_id": customer.id, "action": "created",
            "data": {"source": customer.source, "fields": fields}}


def complete(session: Session, customer: Customer | NewCustomer, data: LeadIn, actor: Actor) -> None:
    """Give a known customer the contacts (and a real name) it did not have; never overwrite one."""
    changed: list[str] = []
    if data.phone and data.phone != customer.phone and data.phone not in (customer.phones or []):
        customer.phones = [*(customer.phones or []), data.phone]
        customer.phone = customer.phone or data.phone
        changed += ["phone", "phones"]
    if data.email and not customer.email:
        customer.email, changed = data.email, [*changed, "email"]
    if data.telegram and not customer.telegram_username:
        customer.telegram_username, changed = data.telegram, [*changed, "telegram_username"]
    placeholder = {"", customer.phone, customer.email, f"@{customer.telegram_username}"}
    if data.name and customer.name in placeholder:
        customer.name, changed = data.name, [*changed, "name"]
    if not changed or isinstance(customer, NewCustomer):
        return
    customer.updated_at = utcnow()
    session.add(customer)
    audit.record(session=session, actor=actor, entity_type="customer", entity_id=customer.id,
                 action="updated", data={"fields": changed})
