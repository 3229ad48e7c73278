"""Run the Telegram bot: `python bot_runner.py`.

- Long polling by default: the bot runs here until stopped (Ctrl+C / SIGTERM).
- Webhook mode (TELEGRAM_WEBHOOK_URL set, or mode "webhook" in Settings → Telegram): registers the webhook
  with Telegram (secret token included) and exits; the backend serves the updates at
  POST /api/webhooks/telegram. `--delete-webhook` removes it again.
- TELEGRAM_API_BASE_URL points the bot at any Bot API server (PTB's base_url form: the token is appended).
- Without a token it says so plainly and exits with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from crystal_bay.settings import ConfigurationError, get_settings

NOT_CONFIGURED = 2
FAILED = 3


def _config():
    """The effective Telegram settings (environment, else Settings → Telegram), or an exit code with the reason."""
    from sqlalchemy.exc import SQLAlchemyError

    from crystal_bay.db import session_scope
    from crystal_bay.services import integrations

    try:
        with session_scope() as session:
            return integrations.load_config(session=session, slug="telegram")
    except integrations.SettingsInvalid as exc:
        if "bot_token" in exc.errors:
            print("The Telegram bot is not configured: set TELEGRAM_BOT_TOKEN (or fill in Settings → Telegram bot) "
                  "and run it again.", file=sys.stderr)
        else:
            problems = "; ".join(f"{name}: {text}" for name, text in exc.errors.items())
            print(f"The Telegram settings are not valid: {problems}", file=sys.stderr)
        return NOT_CONFIGURED
    except SQLAlchemyError as exc:
        print(f"The database is not reachable or not migrated ({type(exc).__name__}): run "
              "`python -m crystal_bay migrate` first.", file=sys.stderr)
        return FAILED


async def _webhook(config, *, delete: bool) -> int:
    from crystal_bay.integrations.telegram import TelegramClient, TelegramError

    settings = get_settings()
    async with TelegramClient(config) as client:
        try:
            if delete:
                await client.delete_webhook()
                print("Webhook removed: run bot_runner.py without TELEGRAM_WEBHOOK_URL for long polling.")
                return 0
            await client.set_webhook(config.webhook_url, secret_token=config.secret_token(
                settings.secret_key.get_secret_value()), allowed_updates=["message", "callback_query"])
            me = await client.get_me()
        except TelegramError as exc:
            print(f"Telegram refused: {exc.message}", file=sys.stderr)
            return FAILED
    print(f"Webhook set for @{me.get('username')}: Telegram now sends updates to {config.webhook_url} "
          "(served by the backend, POST /api/webhooks/telegram).")
    return 0


async def _close_clients(_app) -> None:
    """The shared HTTP clients this process opened (the operator's, OpenAI's)."""
    from crystal_bay.integrations import samo
    from crystal_bay.services.ai.openai_engine import close_engines

    await samo.close_clients()
    await close_engines()


def _polling(config) -> int:
    from telegram.error import InvalidToken, NetworkError

    from crystal_bay.bot.app import POLL_TIMEOUT_S, build_application

    app = build_application(token=config.bot_token.get_secret_value(), base_url=config.api_base_url,
                            handoff_hours=config.handoff_hours)
    app.post_shutdown = _close_clients
    print(f"Telegram bot: long polling {config.api_base_url}<token>/getUpdates (Ctrl+C stops it).")
    try:
        app.run_polling(allowed_updates=["message", "callback_query"], timeout=POLL_TIMEOUT_S,
                        bootstrap_retries=3, close_loop=False)
    except InvalidToken:
        print("Telegram refused the token: check TELEGRAM_BOT_TOKEN with @BotFather.", file=sys.stderr)
        return NOT_CONFIGURED
    except NetworkError as exc:
        print(f"Cannot reach the Bot API at {config.api_base_url}: {exc}", file=sys.stderr)
        return FAILED
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the Crystal Bay Telegram bot.")
    parser.add_argument("--delete-webhook", action="store_true", help="remove the webhook and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        get_settings()
    except ConfigurationError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return NOT_CONFIGURED
    config = _config()
    if isinstance(config, int):
        return config
    if args.delete_webhook or config.effective_mode == "webhook":
        return asyncio.run(_webhook(config, delete=args.delete_webhook))
    return _polling(config)


if __name__ == "__main__":
    sys.exit(main())
