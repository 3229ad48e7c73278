"""Interface strings: Russian (default) and English. Keys are shared; both tables must match.

`ru.py`/`en.py` hold the shell's strings; a feature may add its own module in this package
(e.g. `settings_strings.py`) defining `RU` and `EN` dicts, which are merged in automatically.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from zoneinfo import ZoneInfo

from crystal_bay.i18n.en import STRINGS as _EN_BASE
from crystal_bay.i18n.ru import STRINGS as _RU_BASE

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"


def _merged() -> tuple[dict[str, str], dict[str, str]]:
    ru, en = dict(_RU_BASE), dict(_EN_BASE)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in ("ru", "en"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        ru.update(getattr(module, "RU", {}))
        en.update(getattr(module, "EN", {}))
    return ru, en


RU, EN = _merged()
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
