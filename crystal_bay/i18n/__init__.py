"""Interface strings: Russian (default) and English. Keys are shared; both tables must match."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from crystal_bay.i18n.en import STRINGS as EN
from crystal_bay.i18n.ru import STRINGS as RU

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
TABLES: dict[str, dict[str, str]] = {"ru": RU, "en": EN}


def strings(lang: str) -> dict[str, str]:
    """The string table for a language, Russian when the language is unknown."""
    return TABLES.get(lang, RU)


def tr(lang: str, key: str, **params) -> str:
    """One translated string with {placeholders} filled in."""
    text = strings(lang).get(key) or RU.get(key) or key
    return text.format(**params) if params else text


def format_datetime(value: dt.datetime | None, tz: str = "Asia/Almaty") -> str:
    """A timestamp in the agency's time zone, e.g. "25.11.2026 21:04"; "—" when missing."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(ZoneInfo(tz)).strftime("%d.%m.%Y %H:%M")
