"""SAMO dictionaries (departures, destinations, resorts, meals, stars, currencies, nights, hotels),
cached in the database (`samo_dictionaries`) and in memory, so a warm search costs one PRICES call.

Entries are kept per source (the sandbox, or the operator's host) and refreshed by the
`samo.dictionaries` job (`refresh_dictionaries`); a stale or missing entry is fetched on demand.
Names are matched case-insensitively on the Russian and the Latin name ("алматы", "ALMATY", "Almaty").
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import asdict
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from crystal_bay.integrations.samo import Ref, SamoClient
from crystal_bay.models import SamoDictionary, utcnow
from crystal_bay.services.errors import ValidationFailed

log = logging.getLogger(__name__)

TTL = dt.timedelta(hours=24)
AGENCY_DEPARTURES = ("Алматы", "Астана", "Шымкент")
SessionFactory = Callable[[], AbstractContextManager[Session]]
_MEMORY: dict[tuple[str, str, str], tuple[list, dt.datetime]] = {}


def clear_memory() -> None:
    """Forget the in-memory layer (tests, the bench's cold runs)."""
    _MEMORY.clear()


def _norm(text: str) -> str:
    return " ".join(str(text or "").replace("ё", "е").replace("Ё", "Е").split()).casefold()


def _refs(items: list[dict]) -> list[Ref]:
    return [Ref(id=int(i["id"]), name=i.get("name", ""), name_alt=i.get("name_alt", ""), extra=i.get("extra", {}))
            for i in items]


class Catalog:
    """The dictionaries of one SAMO source, read through memory → database → operator."""

    def __init__(self, client: SamoClient, *, session_factory: SessionFactory | None = None, ttl: dt.timedelta = TTL):
        self.client = client
        self.source = client.source
        self.session_factory = session_factory
        self.ttl = ttl
        self.fetches = 0

    # --- storage ---

    def _read(self, kind: str, scope: str) -> tuple[list, dt.datetime] | None:
        if self.session_factory is None:
            return None
        try:
            with self.session_factory() as session:
                row = session.exec(select(SamoDictionary).where(
                    SamoDictionary.source == self.source, SamoDictionary.kind == kind,
                    SamoDictionary.scope == scope)).first()
                return (list(row.items), row.fetched_at) if row else None
        except SQLAlchemyError as exc:
            log.warning("SAMO dictionary cache unreadable (%s); using memory only", type(exc).__name__)
            return None

    def _write(self, kind: str, scope: str, items: list, at: dt.datetime) -> None:
        if self.session_factory is None:
            return
        try:
            with self.session_factory() as session:
                row = session.exec(select(SamoDictionary).where(
                    SamoDictionary.source == self.source, SamoDictionary.kind == kind,
                    SamoDictionary.scope == scope)).first()
                row = row or SamoDictionary(source=self.source, kind=kind, scope=scope)
                row.items, row.fetched_at = items, at
                session.add(row)
        except SQLAlchemyError as exc:
            log.warning("SAMO dictionary cache not written (%s)", type(exc).__name__)

    async def get(self, kind: str, scope: str, fetch: Callable[[], Awaitable[list]], *, force: bool = False) -> list:
        """The dictionary from memory, else the database, else the operator (then stored in both)."""
        key = (self.source, kind, scope)
        now = utcnow()
        if not force:
            cached = _MEMORY.get(key)
            if cached and now - cached[1] < self.ttl:
                return cached[0]
            stored = await asyncio.to_thread(self._read, kind, scope) if self.session_factory else None
            if stored and now - stored[1] < self.ttl:
                _MEMORY[key] = stored
                return stored[0]
        items = await fetch()
        self.fetches += 1
        _MEMORY[key] = (items, now)
        await asyncio.to_thread(self._write, kind, scope, items, now)
        return items

    # --- dictionaries ---

    async def departures(self, *, force: bool = False) -> list[Ref]:
        async def fetch():
            return [asdict(r) for r in await self.client.townfroms()]
        return _refs(await self.get("townfroms", "", fetch, force=force))

    async def destinations(self, townfrom_id: int, *, force: bool = False) -> list[Ref]:
        async def fetch():
            return [asdict(r) for r in await self.client.states(townfrom_id)]
        return _refs(await self.get("states", str(townfrom_id), fetch, force=force))

    async def _per_destination(self, kind: str, townfrom_id: int, state_id: int, force: bool) -> list[Ref]:
        method = getattr(self.client, kind)

        async def fetch():
            return [asdict(r) for r in await method(townfrom_id, state_id)]
        return _refs(await self.get(kind, f"{townfrom_id}:{state_id}", fetch, force=force))

    async def resorts(self, townfrom_id: int, state_id: int, *, force: bool = False) -> list[Ref]:
        return await self._per_destination("towns", townfrom_id, state_id, force)

    async def meals(self, townfrom_id: int, state_id: int, *, force: bool = False) -> list[Ref]:
        return await self._per_destination("meals", townfrom_id, state_id, force)

    async def stars(self, townfrom_id: int, state_id: int, *, force: bool = False) -> list[Ref]:
        return await self._per_destination("stars", townfrom_id, state_id, force)

    async def currencies(self, townfrom_id: int, state_id: int, *, force: bool = False) -> list[Ref]:
        return await self._per_destination("currencies", townfrom_id, state_id, force)

    async def tours(self, townfrom_id: int, state_id: int, *, force: bool = False) -> list[Ref]:
        return await self._per_destination("tours", townfrom_id, state_id, force)

    async def hotels(self, townfrom_id: int, state_id: int, *, force: bool = False) -> list[dict]:
        async def fetch():
            return [asdict(h) for h in await self.client.hotels(townfrom_id, state_id)]
        return await self.get("hotels", f"{townfrom_id}:{state_id}", fetch, force=force)

    async def nights(self, townfrom_id: int, state_id: int, *, force: bool = False) -> list[int]:
        async def fetch():
            return await self.client.nights(townfrom_id, state_id)
        return [int(n) for n in await self.get("nights", f"{townfrom_id}:{state_id}", fetch, force=force)]

    # --- name → id ---

    @staticmethod
    def _match(refs: list[Ref], wanted: str) -> Ref | None:
        text = _norm(wanted)
        if not text:
            return None
        if text.isdigit():
            return next((r for r in refs if r.id == int(text)), None)
        exact = [r for r in refs if text in (_norm(r.name), _norm(r.name_alt))]
        if exact:
            return exact[0]
        prefix = [r for r in refs if _norm(r.name).startswith(text) or _norm(r.name_alt).startswith(text)]
        return prefix[0] if len(prefix) == 1 else None

    async def departure(self, wanted: str) -> Ref:
        refs = await self.departures()
        found = self._match(refs, wanted)
        if found is None:
            names = ", ".join(r.name for r in refs[:20])
            raise ValidationFailed(f"The operator has no departure city {wanted!r}. Known: {names}.",
                                   code="unknown_departure", field="departure")
        return found

    async def destination(self, townfrom: Ref, wanted: str) -> Ref:
        refs = await self.destinations(townfrom.id)
        found = self._match(refs, wanted)
        if found is None:
            names = ", ".join(r.name for r in refs[:30])
            raise ValidationFailed(f"No tours to {wanted!r} from {townfrom.name}. Destinations: {names}.",
                                   code="unknown_country", field="country")
        return found

    async def resort_ids(self, townfrom_id: int, state: Ref, names: tuple[str, ...]) -> tuple[int, ...]:
        if not names:
            return ()
        refs = await self.resorts(townfrom_id, state.id)
        ids = []
        for name in names:
            found = self._match(refs, name)
            if found is None:
                known = ", ".join(r.name for r in refs[:30])
                raise ValidationFailed(f"{state.name} has no resort {name!r}. Resorts: {known}.",
                                       code="unknown_resort", field="resorts")
            ids.append(found.id)
        return tuple(ids)

    async def star_ids(self, townfrom_id: int, state_id: int, minimum: int | None) -> tuple[int, ...]:
        if not minimum:
            return ()
        from crystal_bay.integrations.samo import parse_stars

        refs = await self.stars(townfrom_id, state_id)
        return tuple(r.id for r in refs if (parse_stars(r.name) or 0) >= minimum)

    async def meal_ids(self, townfrom_id: int, state_id: int, codes: tuple[str, ...]) -> tuple[int, ...]:
        if not codes:
            return ()
        refs = await self.meals(townfrom_id, state_id)
        wanted = {_norm(c) for c in codes}
        ids = tuple(r.id for r in refs if _norm(r.name) in wanted or _norm(r.name_alt) in wanted)
        if not ids:
            raise ValidationFailed(f"The operator has no meal plan {', '.join(codes)}.", code="unknown_meal",
                                   field="meal")
        return ids

    async def currency_id(self, townfrom_id: int, state_id: int, iso: str) -> int:
        refs = await self.currencies(townfrom_id, state_id)
        wanted = iso.upper()
        for ref in refs:
            if wanted in (ref.name.upper(), str(ref.extra.get("currencyISO") or "").upper()):
                return ref.id
        raise ValidationFailed(f"The operator does not quote in {wanted}.", code="unknown_currency", field="currency")


async def refresh_dictionaries(client: SamoClient, *, session_factory: SessionFactory | None,
                               departures: tuple[str, ...] = AGENCY_DEPARTURES) -> dict[str, int]:
    """Fetch every dictionary the agency's searches use, for its departure cities, and store them.
    Returns how many entries of each kind were stored."""
    catalog = Catalog(client, session_factory=session_factory)
    counts: dict[str, int] = {}

    def add(kind: str, n: int) -> None:
        counts[kind] = counts.get(kind, 0) + n

    towns = await catalog.departures(force=True)
    add("townfroms", len(towns))
    wanted = {_norm(d) for d in departures}
    for town in [t for t in towns if _norm(t.name) in wanted or _norm(t.name_alt) in wanted]:
        states = await catalog.destinations(town.id, force=True)
        add("states", len(states))
        for state in states:
            for kind in ("resorts", "meals", "stars", "currencies", "tours", "hotels", "nights"):
                items = await getattr(catalog, kind)(town.id, state.id, force=True)
                add(kind, len(items))
    return counts


@contextlib.contextmanager
def _app_session():
    from crystal_bay.db import session_scope

    with session_scope() as session:
        yield session


def app_session_factory() -> SessionFactory:
    """Sessions on the app's database (DATABASE_URL)."""
    return _app_session


def describe(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in counts.items()) or "nothing"
