"""What the bot asks of the rest of the system, in one place: the AI engine, the operator's dictionaries and
tour search, and the database. Handlers call these; tests and the bench may swap `Backends`.

The SAMO configuration (sandbox in demo mode, the operator otherwise) is looked up at most every
CONFIG_TTL_S seconds; the dictionaries themselves are cached by `services.tour_catalog`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from crystal_bay.db import session_scope
from crystal_bay.integrations.samo import Ref
from crystal_bay.services import ai, tours
from crystal_bay.services.ai import Extraction, rules_engine
from crystal_bay.services.ai.openai_engine import EngineError, get_engine
from crystal_bay.services.ai.processor import local_today
from crystal_bay.settings import get_settings

log = logging.getLogger(__name__)
CONFIG_TTL_S = 60.0
_POOLS: dict[tuple[bool, bool], ThreadPoolExecutor] = {}


def _pool(*, read: bool) -> ThreadPoolExecutor:
    """Where database work runs. SQLite has one writer at a time (a waiting writer backs off in sleeps of up to
    100 ms): writes go through one thread, reads through a few. PostgreSQL: a pool for both."""
    sqlite = get_settings().is_sqlite
    key = (sqlite, read and sqlite)
    if key not in _POOLS:
        workers = (4 if read else 1) if sqlite else 16
        _POOLS[key] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bot-db-read" if read else "bot-db")
    return _POOLS[key]


def _runner(fn: Callable, kwargs: dict) -> Callable:
    def run():
        with session_scope() as session:
            return fn(session=session, **kwargs)

    return run


async def in_session[T](fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a service function `fn(session=..., **kwargs)` in one committed transaction, off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_pool(read=False), _runner(fn, kwargs))


async def read_session[T](fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Like in_session, for a function that only reads (on SQLite it does not queue behind the writes)."""
    return await asyncio.get_running_loop().run_in_executor(_pool(read=True), _runner(fn, kwargs))


def today() -> dt.date:
    """Today in the agency's time zone."""
    return local_today()


class Backends:
    """The AI engine and the operator, as the bot uses them."""

    def __init__(self) -> None:
        self._config: tuple[Any, bool] | None = None
        self._config_at = 0.0
        self._ai: tuple[Any, float] | None = None

    async def _openai(self):
        if self._ai is None or time.monotonic() - self._ai[1] > CONFIG_TTL_S:
            self._ai = (await in_session(ai.openai_config), time.monotonic())
        return self._ai[0]

    async def read(self, text: str) -> tuple[Extraction, str | None]:
        """Read a free-text message: OpenAI when configured, else the rules engine. When OpenAI is configured but
        fails, the rules engine answers and the reason comes second (for the managers to see); otherwise None."""
        try:
            config = await self._openai()
        except Exception:  # noqa: BLE001 - the AI must never break the chat; the rules engine always answers
            log.exception("the OpenAI settings could not be read; the rules engine answers")
            return rules_engine.extract(text, today=today()), "настройки OpenAI не прочитались"
        if config is None:
            return rules_engine.extract(text, today=today()), None
        try:
            return await get_engine(config).extract(text, today=today()), None
        except EngineError as exc:
            log.warning("OpenAI extraction failed (%s); the rules engine answers.", exc.message)
            return rules_engine.extract(text, today=today()), exc.message
        except Exception as exc:  # noqa: BLE001 - the AI must never break the chat
            log.exception("OpenAI extraction failed unexpectedly; the rules engine answers")
            return rules_engine.extract(text, today=today()), f"{type(exc).__name__}: {exc}"[:300]

    async def extract(self, text: str) -> Extraction:
        """Read a free-text message (see `read`), without the reason of a fallback."""
        return (await self.read(text))[0]

    async def _samo(self) -> tuple[Any, bool]:
        if self._config is None or time.monotonic() - self._config_at > CONFIG_TTL_S:
            self._config = await in_session(tours.samo_config)
            self._config_at = time.monotonic()
        return self._config

    async def _catalog(self):
        config, demo = await self._samo()
        return tours.client_for(config, demo)

    async def departures(self) -> list[Ref]:
        """Departure cities (SAMO TOWNFROMS, cached)."""
        _client, catalog = await self._catalog()
        return await catalog.departures()

    async def destinations(self, departure: str) -> list[Ref]:
        """Countries with tours from a departure city (SAMO STATES, cached)."""
        _client, catalog = await self._catalog()
        return await catalog.destinations((await catalog.departure(departure)).id)

    async def match(self, refs: list[Ref], name: str) -> Ref | None:
        """A dictionary entry by its Russian or Latin name (case-insensitive; a unique prefix works)."""
        from crystal_bay.services.tour_catalog import Catalog

        return Catalog._match(refs, name)

    async def search(self, request: tours.SearchRequest) -> tours.SearchResult:
        """Offers at the operator for the request (SamoError / ValidationFailed when it cannot answer)."""
        client, catalog = await self._catalog()
        return await tours.search(request, client=client, catalog=catalog, today=today())


@functools.cache
def default() -> Backends:
    return Backends()
