"""The bot's state in the database (table `bot_states`), not in a pickle file.

python-telegram-bot hands us chat data and conversation states; we stage them and write every staged
row in one transaction on `commit()`. After each update the bot schedules a flush (`schedule_flush`, see
`common.persist`): it runs at once in the background, coalescing the writes of all chats that changed
meanwhile, so a restart — even a crash — resumes the conversation where the customer was (a crash can
lose at most the step whose write was in flight). Data is stored as
JSON: handlers keep only JSON-friendly values in chat_data (strings, numbers, lists, dicts).
User data, bot data and callback data are not used by the bot and not stored.

Several processes may serve one bot (webhook mode behind several backend workers; `shared=True`, which
`build_application` sets when it does not poll — long polling has a single consumer). PTB reads the state
once at start, so each chat row carries a revision (`_rev`, a new one with every write). Before each update
(`refresh_chat_data`) the chat's two rows (its data and its conversation state: a primary-key read each) are
read; when the revision is not one this process read or wrote, another process has moved the conversation on
and its state replaces ours. Data that did not change is not written again (PTB hands over every chat an
update touched). A write that finds a revision it did not expect (two processes answered the same chat at the
same moment) still wins, is counted in `conflicts` and logged as a warning.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, delete, select
from telegram.ext import BasePersistence, ConversationHandler, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from crystal_bay.bot.backends import in_session, read_session
from crystal_bay.models import BotState, utcnow

log = logging.getLogger(__name__)
_TABLE = BotState.__table__  # type: ignore[attr-defined]
CHAT, CONVERSATION = "chat", "conversation"
REV = "_rev"  # the chat row's revision, inside its JSON (never seen by handlers)


def _rows(*, session: Session, namespace: str, kind: str, name: str = "") -> list[BotState]:
    return list(session.exec(select(BotState).where(BotState.namespace == namespace, BotState.kind == kind,
                                                    BotState.name == name)))


def _digest(data: dict) -> str:
    """What a chat's data amounts to (to skip writing data that did not change)."""
    return hashlib.blake2b(json.dumps(data, sort_keys=True, default=str).encode(), digest_size=16).hexdigest()


def _conversation_key(chat_id: int) -> str:
    """The stored key of a private chat's conversation (per chat and per user: the user is the chat)."""
    return json.dumps([chat_id, chat_id])


def _chat_rev(*, session: Session, namespace: str, chat_id: int) -> str | None:
    """The revision of a chat's stored data (None: no row, or none written yet); reads only that."""
    row = session.exec(select(BotState.key, BotState.data[REV].as_string()).where(
        BotState.namespace == namespace, BotState.kind == CHAT, BotState.name == "",
        BotState.key == str(chat_id))).first()
    return row[1] if row is not None else None


def _chat_state(*, session: Session, namespace: str, chat_id: int, names: list[str]) -> tuple[dict | None, dict]:
    """A chat's stored data (None: no row) and its conversation states by conversation name."""
    data = session.get(BotState, (namespace, CHAT, "", str(chat_id)))
    conversations = {}
    for name in names:
        row = session.get(BotState, (namespace, CONVERSATION, name, _conversation_key(chat_id)))
        if row is not None:
            conversations[name] = row.data.get("state")
    return (dict(data.data) if data is not None else None), conversations


def _conflicts(session: Session, namespace: str, expected: dict[str, str | None]) -> list[str]:
    """The chat keys whose stored revision is not the expected one (someone else wrote them meanwhile)."""
    if not expected:
        return []
    rows = session.exec(select(BotState.key, BotState.data[REV].as_string()).where(
        BotState.namespace == namespace, BotState.kind == CHAT, BotState.name == "",
        col(BotState.key).in_(list(expected))).with_for_update()).all()
    stored = dict(rows)
    return [key for key, rev in expected.items() if stored.get(key) != rev]


def _write(*, session: Session, upserts: list[dict], deletes: list[tuple[str, str, str, str]],
           expected: dict[str, str | None] | None = None) -> list[str]:
    """Insert or replace the staged rows, delete the dropped ones, in the caller's transaction. `expected`: the
    revision each written chat row should have now (chat id → `_rev`); the chats where it differs are returned
    (written anyway: the newest answer wins)."""
    conflicts = _conflicts(session, upserts[0]["namespace"], expected) if expected and upserts else []
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    if upserts:
        stmt = dialect_insert(_TABLE).values(upserts)
        stmt = stmt.on_conflict_do_update(index_elements=["namespace", "kind", "name", "key"],
                                          set_={"data": stmt.excluded.data, "updated_at": stmt.excluded.updated_at})
        session.connection().execute(stmt)
    for namespace, kind, name, key in deletes:
        session.exec(delete(BotState).where(BotState.namespace == namespace, BotState.kind == kind,
                                            BotState.name == name, BotState.key == key))
    return conflicts


class DatabasePersistence(BasePersistence[dict, dict, dict]):
    """Chat data and conversation states of one bot (`namespace`) in `bot_states`."""

    def __init__(self, namespace: str = "telegram", *, update_interval: float = 30, shared: bool = True):
        super().__init__(store_data=PersistenceInput(bot_data=False, chat_data=True, user_data=False,
                                                     callback_data=False), update_interval=update_interval)
        self.namespace = namespace
        self.shared = shared  # other processes may serve the same bot: re-read a chat's state before each update
        self._pending: dict[tuple[str, str, str], dict | None] = {}  # None: delete
        self._lock = asyncio.Lock()
        self._flushing = False
        self._again = False
        self._revs: dict[int, str | None] = {}  # chat id → the revision this process last read or wrote
        self._writing: dict[int, str] = {}  # chat id → the revision being written right now
        self._digests: dict[int, str] = {}  # chat id → digest of the data last read or written
        self._handlers: list[ConversationHandler] = []
        self.conflicts = 0  # writes that overwrote another process's newer state

    def watch(self, handler: ConversationHandler) -> None:
        """Re-read this (persistent) conversation's state of a chat together with the chat's data."""
        self._handlers.append(handler)

    # --- reading (all at start; one chat before each of its updates) ---

    async def get_chat_data(self) -> dict[int, dict]:
        rows = await read_session(_rows, namespace=self.namespace, kind=CHAT)
        out = {}
        for row in rows:
            data = dict(row.data)
            self._revs[int(row.key)] = data.pop(REV, None)
            if self.shared:
                self._digests[int(row.key)] = _digest(data)
            out[int(row.key)] = data
        return out

    async def get_conversations(self, name: str) -> ConversationDict:
        rows = await read_session(_rows, namespace=self.namespace, kind=CONVERSATION, name=name)
        return {tuple(json.loads(row.key)): row.data.get("state") for row in rows}

    async def get_user_data(self) -> dict[int, dict]:
        return {}

    async def get_bot_data(self) -> dict:
        return {}

    async def get_callback_data(self) -> None:
        return None

    # --- staging changes ---

    async def update_chat_data(self, chat_id: int, data: dict) -> None:
        """Stage the chat's data. Shared: not when it is what was last read or written (PTB hands over every chat an
        update touched, even unchanged; for a process that has not seen the chat lately, writing it again would
        overwrite another process's newer state)."""
        key = (CHAT, "", str(chat_id))
        if self.shared and key not in self._pending and self._digests.get(chat_id) == _digest(data):
            return
        self._pending[key] = data

    async def drop_chat_data(self, chat_id: int) -> None:
        self._pending[(CHAT, "", str(chat_id))] = None

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        encoded = json.dumps(list(key))  # the same text as _conversation_key for a private chat
        self._pending[(CONVERSATION, name, encoded)] = None if new_state is None else {"state": new_state}

    async def refresh_chat_data(self, chat_id: int, chat_data: dict) -> None:
        """Before an update of the chat: when another process wrote the chat since this one last read or wrote it,
        its data and conversation state replace what is in memory (otherwise memory is current, or newer)."""
        if not self.shared:
            return
        for _attempt in range(3):
            ours = (self._revs.get(chat_id), self._writing.get(chat_id))
            rev = await read_session(_chat_rev, namespace=self.namespace, chat_id=chat_id)
            if (self._revs.get(chat_id), self._writing.get(chat_id)) == ours:
                break  # no write of this chat began or ended meanwhile: the read compares with what we knew
        else:
            return  # this process keeps writing the chat: its memory is the newest
        if rev == ours[0] or (rev is not None and rev == ours[1]):
            return
        names = [h.name for h in self._handlers if h.name]
        data, conversations = await read_session(_chat_state, namespace=self.namespace, chat_id=chat_id, names=names)
        rev = (data or {}).pop(REV, None)
        log.info("chat %s: state changed by another process (revision %s): reloaded", chat_id, rev)
        self._pending.pop((CHAT, "", str(chat_id)), None)  # older than what the other process wrote
        for name in names:
            self._pending.pop((CONVERSATION, name, _conversation_key(chat_id)), None)
        chat_data.clear()
        chat_data.update(data or {})
        self._digests[chat_id] = _digest(chat_data)
        key = (chat_id, chat_id)
        for handler in self._handlers:
            states = handler._conversations  # noqa: SLF001 - PTB has no public way to set one conversation's state
            if handler.name in conversations and conversations[handler.name] is not None:
                states.update_no_track({key: conversations[handler.name]})
            else:
                getattr(states, "data", states).pop(key, None)  # a TrackingDict: remove without marking a write
        self._revs[chat_id] = rev

    async def update_user_data(self, user_id: int, data: dict) -> None:
        """Not stored."""

    async def drop_user_data(self, user_id: int) -> None:
        """Not stored."""

    async def refresh_user_data(self, user_id: int, user_data: dict) -> None:
        """Not stored."""

    async def update_bot_data(self, data: dict) -> None:
        """Not stored."""

    async def refresh_bot_data(self, bot_data: dict) -> None:
        """Not stored."""

    async def update_callback_data(self, data: Any) -> None:
        """Not stored."""

    # --- writing ---

    async def commit(self) -> int:
        """Write everything staged so far in one transaction; how many rows were written."""
        async with self._lock:
            if not self._pending:
                return 0
            staged, self._pending = self._pending, {}
            now = utcnow()
            revs = {int(key): uuid.uuid4().hex[:16] for (kind, _name, key), data in staged.items()
                    if kind == CHAT and data is not None}
            upserts = [{"namespace": self.namespace, "kind": kind, "name": name, "key": key,
                        "data": {**data, REV: revs[int(key)]} if kind == CHAT else data, "updated_at": now}
                       for (kind, name, key), data in staged.items() if data is not None]
            deletes = [(self.namespace, kind, name, key) for (kind, name, key), data in staged.items() if data is None]
            expected = {str(chat_id): self._revs.get(chat_id) for chat_id in revs} if self.shared else None
            self._writing.update(revs)
            try:
                conflicts = await in_session(_write, upserts=upserts, deletes=deletes, expected=expected)
            except Exception:
                for item, data in staged.items():  # keep them for the next try, unless newer ones came meanwhile
                    self._pending.setdefault(item, data)
                raise
            finally:
                for chat_id in revs:
                    self._writing.pop(chat_id, None)
            self._revs.update(revs)
            for (kind, _name, key), data in staged.items():
                if kind == CHAT and self.shared:
                    self._digests[int(key)] = _digest(data) if data is not None else ""
                if kind == CHAT and data is None:
                    self._revs[int(key)] = None
            if conflicts:
                self.conflicts += len(conflicts)
                log.warning("chats %s: another process changed their state while this one answered them; the newer "
                            "answer's state was kept (several bot processes answering one chat at once)",
                            ", ".join(conflicts))
            return len(staged)

    def schedule_flush(self, app) -> None:
        """Write what changed as soon as possible, in the background: one flush at a time, and updates that come in
        meanwhile are written by the next round (so a burst of chats costs a few transactions, not one each)."""
        if self._flushing:
            self._again = True
            return
        if not app.running:  # stopping: Application.stop() writes everything one last time
            return
        self._flushing = True
        app.create_task(self._flush_rounds(app), name="bot-persistence-flush")

    async def _flush_rounds(self, app) -> None:
        try:
            while True:
                self._again = False
                await app.update_persistence()
                await self.commit()
                if not self._again:
                    return
        finally:
            self._flushing = False

    async def flush(self) -> None:
        """On shutdown: write what is left."""
        try:
            await self.commit()
        except Exception:  # noqa: BLE001 - shutting down: log, never hide the original reason for stopping
            log.exception("bot state could not be written at shutdown")
