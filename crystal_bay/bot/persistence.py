"""The bot's state in the database (table `bot_states`), not in a pickle file.

python-telegram-bot hands us chat data and conversation states; we stage them and write every staged
row in one transaction on `commit()`. After each update the bot schedules a flush (`schedule_flush`, see
`common.persist`): it runs at once in the background, coalescing the writes of all chats that changed
meanwhile, so a restart — even a crash — resumes the conversation where the customer was (a crash can
lose at most the step whose write was in flight). Data is stored as
JSON: handlers keep only JSON-friendly values in chat_data (strings, numbers, lists, dicts).
User data, bot data and callback data are not used by the bot and not stored.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, delete, select
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from crystal_bay.bot.backends import in_session, read_session
from crystal_bay.models import BotState, utcnow

log = logging.getLogger(__name__)
_TABLE = BotState.__table__  # type: ignore[attr-defined]
CHAT, CONVERSATION = "chat", "conversation"


def _rows(*, session: Session, namespace: str, kind: str, name: str = "") -> list[BotState]:
    return list(session.exec(select(BotState).where(BotState.namespace == namespace, BotState.kind == kind,
                                                    BotState.name == name)))


def _write(*, session: Session, upserts: list[dict], deletes: list[tuple[str, str, str, str]]) -> None:
    """Insert or replace the staged rows, delete the dropped ones, in the caller's transaction."""
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    if upserts:
        stmt = dialect_insert(_TABLE).values(upserts)
        stmt = stmt.on_conflict_do_update(index_elements=["namespace", "kind", "name", "key"],
                                          set_={"data": stmt.excluded.data, "updated_at": stmt.excluded.updated_at})
        session.connection().execute(stmt)
    for namespace, kind, name, key in deletes:
        session.exec(delete(BotState).where(BotState.namespace == namespace, BotState.kind == kind,
                                            BotState.name == name, BotState.key == key))


class DatabasePersistence(BasePersistence[dict, dict, dict]):
    """Chat data and conversation states of one bot (`namespace`) in `bot_states`."""

    def __init__(self, namespace: str = "telegram", *, update_interval: float = 30):
        super().__init__(store_data=PersistenceInput(bot_data=False, chat_data=True, user_data=False,
                                                     callback_data=False), update_interval=update_interval)
        self.namespace = namespace
        self._pending: dict[tuple[str, str, str], dict | None] = {}  # None: delete
        self._lock = asyncio.Lock()
        self._flushing = False
        self._again = False

    # --- reading (once, at start) ---

    async def get_chat_data(self) -> dict[int, dict]:
        rows = await read_session(_rows, namespace=self.namespace, kind=CHAT)
        return {int(row.key): dict(row.data) for row in rows}

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
        self._pending[(CHAT, "", str(chat_id))] = data

    async def drop_chat_data(self, chat_id: int) -> None:
        self._pending[(CHAT, "", str(chat_id))] = None

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        encoded = json.dumps(list(key))
        self._pending[(CONVERSATION, name, encoded)] = None if new_state is None else {"state": new_state}

    async def refresh_chat_data(self, chat_id: int, chat_data: dict) -> None:
        """Chat data lives in memory between updates; the database is read at start only."""

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
            upserts = [{"namespace": self.namespace, "kind": kind, "name": name, "key": key, "data": data,
                        "updated_at": now} for (kind, name, key), data in staged.items() if data is not None]
            deletes = [(self.namespace, kind, name, key) for (kind, name, key), data in staged.items() if data is None]
            try:
                await in_session(_write, upserts=upserts, deletes=deletes)
            except Exception:
                for item, data in staged.items():  # keep them for the next try, unless newer ones came meanwhile
                    self._pending.setdefault(item, data)
                raise
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
