"""Group commit for single inquiries: concurrent API requests share one transaction.

`submit(inquiry, actor=...)` is what POST /api/v1/leads awaits. The inquiries waiting in this process's event
loop are written together by one worker thread — `intake_batch.process` per actor, one transaction, one
commit — and each request gets its own result once that transaction committed (nothing is acknowledged
before it is durable). A lone request is written at once, alone; under load the next batch gathers while
the current one is written, so the cost of a transaction (BEGIN, locks, statements, COMMIT) is shared by
up to `MAX_BATCH` requests instead of paid by each.

The answers are those of writing the inquiries one after another in arrival order: `process` treats a
repeat inside a batch (same external_id, Idempotency-Key) as a replay of the first, and a customer's
second inquiry in the same batch joins the lead the first one opened. If the batch fails as a whole (one
inquiry refused, e.g. a reused Idempotency-Key, or a conflict with another process), it is rolled back
and every inquiry is written again on its own, so only the offending one gets the error.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from crystal_bay.db import session_scope
from crystal_bay.services.audit import Actor
from crystal_bay.services.intake_batch import Inquiry, IntakeResult, process

log = logging.getLogger(__name__)

MAX_BATCH = 100  # inquiries per transaction


@dataclass
class _Waiting:
    inquiry: Inquiry
    actor: Actor
    future: asyncio.Future


class _Writer:
    """The queue of one event loop, and whether its drain task is running."""

    def __init__(self) -> None:
        self.queue: collections.deque[_Waiting] = collections.deque()
        self.task: asyncio.Task | None = None


_WRITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Writer] = weakref.WeakKeyDictionary()


async def submit(inquiry: Inquiry, *, actor: Actor) -> IntakeResult:
    """Write one inquiry (with whatever else is waiting) and return its result after the commit."""
    loop = asyncio.get_running_loop()
    writer = _WRITERS.get(loop)
    if writer is None:
        writer = _WRITERS[loop] = _Writer()
    waiting = _Waiting(inquiry, actor, loop.create_future())
    writer.queue.append(waiting)
    if writer.task is None:
        writer.task = loop.create_task(_drain(writer))
    return await waiting.future


async def _drain(writer: _Writer) -> None:
    """Write the queue a batch at a time until it is empty."""
    batch: list[_Waiting] = []
    try:
        while writer.queue:
            batch = [writer.queue.popleft() for _ in range(min(MAX_BATCH, len(writer.queue)))]
            try:
                outcomes: Sequence[IntakeResult | BaseException] = await asyncio.to_thread(
                    write_batch, [(w.inquiry, w.actor) for w in batch])
            except Exception as exc:  # noqa: BLE001 - a bug here must still answer every waiting request
                outcomes = [exc] * len(batch)
            _settle(batch, outcomes)
            batch = []
    finally:  # normally empty; when the loop shuts down mid-batch, the waiting requests are cancelled
        writer.task = None
        for waiting in [*batch, *writer.queue]:
            waiting.future.cancel()
        writer.queue.clear()


def _settle(batch: list[_Waiting], outcomes: Sequence[IntakeResult | BaseException]) -> None:
    for waiting, outcome in zip(batch, outcomes, strict=True):
        if waiting.future.done():  # the client went away; its inquiry is written all the same
            continue
        if isinstance(outcome, BaseException):
            waiting.future.set_exception(outcome)
        else:
            waiting.future.set_result(outcome)


def write_batch(items: Sequence[tuple[Inquiry, Actor]]) -> list[IntakeResult | Exception]:
    """Write inquiries in one transaction (one `process` per actor, in order); if that fails, each on its own."""
    if len(items) > 1:
        try:
            return _together(items)
        except Exception as exc:  # noqa: BLE001 - retried one by one: only the offending inquiry fails
            log.info("intake batch of %d failed as a whole (%s); writing each on its own", len(items), exc)
    return [_alone(inquiry, actor) for inquiry, actor in items]


def _together(items: Sequence[tuple[Inquiry, Actor]]) -> list[IntakeResult | Exception]:
    by_actor: dict[Actor, list[int]] = {}
    for i, (_, actor) in enumerate(items):
        by_actor.setdefault(actor, []).append(i)
    results: list[IntakeResult | Exception | None] = [None] * len(items)
    with session_scope() as session:
        for actor, indexes in by_actor.items():
            written = process(session=session, inquiries=[items[i][0] for i in indexes], actor=actor)
            for i, result in zip(indexes, written, strict=True):
                results[i] = result
    return results  # type: ignore[return-value]


def _alone(inquiry: Inquiry, actor: Actor) -> IntakeResult | Exception:
    try:
        with session_scope() as session:
            return process(session=session, inquiries=[inquiry], actor=actor)[0]
    except Exception as exc:  # noqa: BLE001 - handed to the waiting request, which maps it to its status
        return exc
