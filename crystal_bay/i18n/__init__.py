"""Interface strings: Russian (default) and English. Keys are shared; both tables must match."""

from __future__ import annotations

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
