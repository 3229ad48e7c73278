"""Group commit: inquiries arriving together share one transaction, and each still gets the answer it would get
alone (replays, a customer's second inquiry joining the first one's lead, one refusal failing only itself)."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from crystal_bay.db import session_scope
from crystal_bay.models import Customer, Lead, Message
from crystal_bay.services import intake, intake_writer
from crystal_bay.services.errors import ValidationFailed
from crystal_bay.services.intake_schemas import LeadIn
from tests.factories import SYSTEM
from tests.intake.support import unique_phone


def _submit_together(calls: list[dict]) -> list:
    async def run():
        return await asyncio.gather(*(intake.submit_lead_grouped(actor=SYSTEM, **kw) for kw in calls),
                                    return_exceptions=True)

    return asyncio.run(run())


def _batch_sizes(monkeypatch) -> list[int]:
    sizes: list[int] = []
    write = intake_writer.write_batch

    def recording(items):
        sizes.append(len(items))
        return write(items)

    monkeypatch.setattr(intake_writer, "write_batch", recording)
    return sizes


def test_concurrent_inquiries_share_one_transaction_with_the_answers_of_one_by_one(app_db, monkeypatch):
    sizes = _batch_sizes(monkeypatch)
    external, phone = f"grp-{unique_phone()}", unique_phone()
    fresh = [{"data": LeadIn(phone=unique_phone(), message=f"Заявка {i}")} for i in range(20)]
    repeated = [{"data": LeadIn(phone=unique_phone(), external_id=external)} for _ in range(2)]
    same_person = [{"data": LeadIn(phone=phone, message="Турция")}, {"data": LeadIn(phone=phone, message="Египет")}]
    results = _submit_together(fresh + repeated + same_person)

    assert sizes == [24]  # one transaction for all of them
    new, (first, again), (opened, joined) = results[:20], results[20:22], results[22:]
    assert len({r.lead_id for r in new}) == 20 and not any(r.replayed or r.customer_existed for r in new)
    assert again.replayed and again.lead_id == first.lead_id and not first.replayed
    assert opened.lead_created and not joined.lead_created and joined.lead_id == opened.lead_id
    with session_scope() as session:
        customers = session.exec(select(Customer).where(Customer.phone == phone)).all()
        bodies = session.exec(select(Message.body).where(Message.lead_id == opened.lead_id)).all()
        assert len(customers) == 1 and sorted(bodies) == ["Египет", "Турция"]
        assert session.get(Lead, new[0].lead_id).score is not None


def test_one_refused_inquiry_fails_alone_and_the_rest_are_written(app_db, monkeypatch):
    sizes = _batch_sizes(monkeypatch)
    key = f"idem-{unique_phone()}"
    phones = [unique_phone() for _ in range(3)]
    calls = [{"data": LeadIn(phone=phones[0], message="Вьетнам"), "api_key_id": 7, "idempotency_key": key},
             {"data": LeadIn(phone=phones[1], message="Другое тело"), "api_key_id": 7, "idempotency_key": key},
             {"data": LeadIn(phone=phones[2], message="Таиланд")}]
    first, refused, other = _submit_together(calls)

    assert sizes == [3]
    assert isinstance(refused, ValidationFailed) and refused.code == "idempotency_key_reused"
    assert not first.replayed and not other.replayed
    with session_scope() as session:
        written = set(session.exec(select(Customer.phone).where(Customer.phone.in_(phones))).all())  # type: ignore[union-attr]
    assert written == {phones[0], phones[2]}


def test_a_lone_request_is_written_at_once(app_db, monkeypatch):
    sizes = _batch_sizes(monkeypatch)
    [result] = _submit_together([{"data": LeadIn(phone=unique_phone(), message="Один")}])
    assert sizes == [1] and result.lead_created
