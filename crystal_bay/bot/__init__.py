"""The customer bot on Telegram (python-telegram-bot): guided tour search, free-text requests through the AI
engine, booking requests, «Мои заявки», handoff to a manager.

- `states`, `texts`, `keyboards`, `draft`: the conversation's vocabulary;
- `common`, `search`, `booking`: one short handler per step, calling services (no business logic here);
- `backends`: the AI engine, the operator and the database as the bot uses them;
- `persistence`: conversation state in the database; `app`: the Application's wiring;
- `webhook`: the bot inside the backend for webhook mode; `preview`: the dashboard's demo chat.

`bot_runner.py` runs it (long polling, or registers the webhook).
"""
