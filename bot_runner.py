"""Run the Telegram bot: `python bot_runner.py`.

The customer-facing bot arrives with the Telegram issue; until then this entry point only
reports its configuration state and exits non-zero, so a supervisor does not think it runs.
"""

from __future__ import annotations

import sys

from crystal_bay.settings import get_settings


def main() -> int:
    settings = get_settings()
    if not settings.telegram_bot_token:
        print("Telegram bot is not configured: set TELEGRAM_BOT_TOKEN to run it.", file=sys.stderr)
        return 2
    print("Telegram bot: a token is set, but the bot is not built yet in this version.", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main())
