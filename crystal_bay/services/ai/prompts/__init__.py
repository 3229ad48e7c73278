"""System prompts as versioned files: `<name>.<version>.<ru|en>.md` (e.g. extract.v1.ru.md).

A change of wording gets a new version file and CURRENT moves to it, so the usage log and any
stored output can say which prompt produced them.
"""

from __future__ import annotations

import functools
from pathlib import Path

HERE = Path(__file__).resolve().parent
CURRENT = {"extract": "v1", "reply": "v1", "translate": "v1", "improve": "v1", "shorten": "v1"}


@functools.cache
def _read(name: str, version: str, lang: str) -> str:
    return (HERE / f"{name}.{version}.{lang}.md").read_text(encoding="utf-8").strip()


def load(name: str, lang: str = "ru", *, version: str | None = None, **params: str) -> str:
    """The system prompt `name` in Russian or English (English for any other language), filled in."""
    text = _read(name, version or CURRENT[name], "en" if lang == "en" else "ru")
    return text.format(**params) if params else text


def version_of(name: str) -> str:
    """E.g. "extract.v1"."""
    return f"{name}.{CURRENT[name]}"
