"""Every integration the settings panel shows, in order. A later issue fills in its schema and client."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from crystal_bay.integrations import openai as openai_integration
from crystal_bay.integrations import samo as samo_integration
from crystal_bay.integrations import sendgrid as sendgrid_integration
from crystal_bay.integrations import telegram as telegram_integration
from crystal_bay.integrations.base import IntegrationSpec

_SPECS: dict[str, IntegrationSpec] = {}


def register(spec: IntegrationSpec) -> IntegrationSpec:
    """Add (or replace) an integration's registry entry."""
    _SPECS[spec.slug] = spec
    return spec


def all_specs() -> list[IntegrationSpec]:
    """Registry entries in panel order."""
    return list(_SPECS.values())


def get_spec(slug: str) -> IntegrationSpec | None:
    return _SPECS.get(slug)


@contextlib.contextmanager
def registered(spec: IntegrationSpec) -> Iterator[IntegrationSpec]:
    """Register a spec for the duration of a block (tests), restoring the previous entry after."""
    previous = _SPECS.get(spec.slug)
    register(spec)
    try:
        yield spec
    finally:
        if previous is None:
            _SPECS.pop(spec.slug, None)
        else:
            _SPECS[spec.slug] = previous


register(IntegrationSpec(
    slug="samo", icon="plane",
    title_ru="SAMO-tour (туроператор)", title_en="SAMO-tour (tour operator)",
    description_ru="Поиск туров, цены и бронирование у туроператора Crystal Bay.",
    description_en="Tour search, prices and bookings at the Crystal Bay tour operator.",
    schema=samo_integration.SamoSettings, test_connection=samo_integration.test_connection,
))
register(IntegrationSpec(
    slug="openai", icon="sparkles", title_ru="OpenAI", title_en="OpenAI",
    description_ru="Ответы клиентам и разбор заявок искусственным интеллектом. Без ключа работает "
                   "встроенный движок правил.",
    description_en="AI answers to customers and inquiry extraction. Without a key the built-in rules engine works.",
    schema=openai_integration.OpenAISettings, test_connection=openai_integration.test_connection,
))
register(IntegrationSpec(
    slug="telegram", icon="send", title_ru="Telegram-бот", title_en="Telegram bot",
    description_ru="Бот для клиентов: подбор тура, заявки и ответы менеджеров.",
    description_en="The customer bot: tour search, inquiries and managers' replies.",
    schema=telegram_integration.TelegramSettings, test_connection=telegram_integration.test_connection,
))
register(IntegrationSpec(
    slug="wazzup", icon="message-circle", title_ru="Wazzup24 (WhatsApp)", title_en="Wazzup24 (WhatsApp)",
    description_ru="Переписка с клиентами в WhatsApp через Wazzup24.",
    description_en="WhatsApp conversations with customers through Wazzup24.",
))
register(IntegrationSpec(
    slug="sendgrid", icon="mail", title_ru="SendGrid (эл. почта)", title_en="SendGrid (e-mail)",
    description_ru="Приём входящей почты (Inbound Parse): письмо становится заявкой. Ключ API — для отправки писем.",
    description_en="Inbound mail (Inbound Parse) becomes leads. The API key is for sending e-mail.",
    schema=sendgrid_integration.SendGridSettings, test_connection=sendgrid_integration.test_connection,
))
register(IntegrationSpec(
    slug="bitrix24", icon="building-2", title_ru="Битрикс24", title_en="Bitrix24",
    description_ru="Синхронизация сделок и этапов воронки с Битрикс24.",
    description_en="Deals and pipeline stages kept in sync with Bitrix24.",
))
