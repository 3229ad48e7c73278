"""A local fake of the Telegram Bot API, for tests, the bench and the dashboard's bot preview.

Speaks the protocol in /work/shared/protocols/telegram.md as python-telegram-bot uses it:

- `POST /bot<token>/<method>` (GET works too; method names are case-insensitive); parameters come
  form-encoded (PTB: strings raw, everything else JSON-encoded inside the form value), as multipart,
  as a JSON body or in the query string; a wrong token gets 401 `Unauthorized`;
- answers `{"ok": true, "result": ...}` or `{"ok": false, "error_code": ..., "description": ...,
  "parameters": {"retry_after": N}}` with the same HTTP status;
- getMe, getUpdates (offset confirms, negative offset takes from the end, limit 1–100, long poll up to
  `timeout` seconds, 409 while a webhook is set), sendMessage (text ≤ 4096, callback_data ≤ 64 bytes,
  HTML parse mode), editMessageText, editMessageReplyMarkup, deleteMessage, answerCallbackQuery,
  sendChatAction, setWebhook / deleteWebhook / getWebhookInfo (updates are then POSTed to the URL
  with `X-Telegram-Bot-Api-Secret-Token`), setMyCommands / getMyCommands / deleteMyCommands (one list per
  scope and language_code, as Telegram keeps them; `my_commands()` reads them);
- sending to a chat Telegram does not know answers 400 "Bad Request: chat not found" (the envelope example in
  the protocol notes); to a person known to Telegram who never started the bot (`user(..., started=False)`)
  403 "Forbidden: bot can't initiate conversation with a user" (real Telegram's wording as the issue reports
  it; the notes do not confirm it); their first message to the bot starts the chat.

On demand: `fail_next("sendMessage", status=429, retry_after=2)` answers the next matching call with
Telegram's flood-control error; `block(chat_id)` makes every send to that chat answer 403 "Forbidden:
bot was blocked by the user".

The test-side API (thread-safe: the server usually runs in another thread or event loop) plays the
customers: `send_text`, `press` (an inline button, by its text or data), `share_contact`,
`redeliver` (the same update again); and reads what the bot did: `messages`, `bot_messages`,
`calls`, `wait_for_reply`. The same is reachable over HTTP under `/sandbox/...` for other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DEFAULT_TOKEN = "7000000001:sandbox-telegram-token-for-crystal-bay"
BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Crystal Bay Travel", "username": "crystalbay_sandbox_bot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_LONG_POLL_S = 50
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
INT_PARAMS = {"chat_id", "message_id", "offset", "limit", "timeout", "max_connections", "cache_time",
              "message_thread_id", "reply_to_message_id"}
BOOL_PARAMS = {"show_alert", "drop_pending_updates", "disable_notification", "protect_content",
               "disable_web_page_preview", "allow_sending_without_reply"}
JSON_PARAMS = {"reply_markup", "allowed_updates", "entities", "reply_parameters", "link_preview_options", "commands",
               "scope"}
_TAG = re.compile(r"<[^>]+>")


def _time_based_id() -> int:
    """A starting id that is larger after every restart (tenths of seconds since 2020-09), within 32 bits."""
    return int((time.time() - 1_600_000_000) * 10)


class BotApiError(Exception):
    """A refusal the way Telegram words it."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict:
        data: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            data["parameters"] = {"retry_after": self.retry_after}
        return data


@dataclass
class ChatMessage:
    """A message in a chat, as the customer sees it now (edits applied)."""

    message_id: int
    from_bot: bool
    text: str
    date: int
    html: str = ""
    reply_markup: dict | None = None  # an inline keyboard, when the bot attached one
    contact: dict | None = None
    edits: int = 0
    deleted: bool = False

    def buttons(self) -> list[dict]:
        """The inline buttons, row by row flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [b for row in rows for b in row]


@dataclass
class Chat:
    id: int
    user: dict
    messages: list[ChatMessage] = field(default_factory=list)
    reply_keyboard: dict | None = None  # the custom keyboard shown under the input field, if any
    next_message_id: int = 1
    activity: int = 0  # bumped on every change the bot makes in this chat
    sent_at: list[float] = field(default_factory=list)  # perf_counter() of each sendMessage the bot made here
    started: bool = True  # the person has written to the bot (/start): only then may the bot write to them


@dataclass
class Call:
    """One Bot API call the bot made (what tests and the bench read)."""

    method: str
    params: dict
    at: float  # time.perf_counter()
    status: int = 200
    chat_id: int | None = None


@dataclass
class Fault:
    method: str
    status: int
    description: str
    retry_after: int | None
    chat_id: int | None
    times: int


class TelegramSandbox:
    """The fake Bot API's state. Every public method is safe to call from any thread."""

    def __init__(self, *, token: str = DEFAULT_TOKEN, bot: dict | None = None):
        self.token = token
        self.bot = dict(bot or BOT_USER)
        self._lock = threading.RLock()
        # Ids grow across restarts (as Telegram's do), so state persisted by a bot never sees an id twice.
        self._update_ids = itertools.count(_time_based_id())
        self._callback_ids = itertools.count(1)
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._webhook_queue: queue.Queue | None = None
        self.reset()

    # ---------- state ----------

    def reset(self) -> None:
        """Forget chats, updates, calls, faults, blocks and the webhook."""
        with self._lock:
            self.chats: dict[int, Chat] = {}
            self.pending: list[dict] = []  # updates not confirmed by getUpdates yet
            self.delivered: dict[int, dict] = {}  # every update ever made, by id (for redeliver)
            self.injected_at: dict[int, float] = {}
            self.calls: deque[Call] = deque(maxlen=20000)
            self.faults: list[Fault] = []
            self.blocked: set[int] = set()
            self.callback_queries: dict[str, dict] = {}
            self.answered: dict[str, dict] = {}
            self.webhook: dict | None = None
            self.webhook_last_error: tuple[int, str] | None = None
            self.commands: dict[tuple[str, str], list[dict]] = {}  # (scope type, language code) → commands
            self.activity = 0

    def user(self, chat_id: int, *, first_name: str = "Айгерим", last_name: str | None = None,
             username: str | None = None, language_code: str | None = "ru", started: bool = True) -> int:
        """Register (or update) the customer of a private chat; returns the chat id. started=False: a person known
        to Telegram who never wrote to the bot (the bot cannot write to them until they do)."""
        person = {"id": chat_id, "is_bot": False, "first_name": first_name}
        if last_name:
            person["last_name"] = last_name
        if username:
            person["username"] = username
        if language_code:
            person["language_code"] = language_code
        with self._lock:
            chat = self.chats.get(chat_id)
            if chat is None:
                self.chats[chat_id] = Chat(id=chat_id, user=person, next_message_id=_time_based_id(), started=started)
            else:
                chat.user = person
                chat.started = chat.started or started
        return chat_id

    def _chat(self, chat_id: int) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            self.user(chat_id)
            chat = self.chats[chat_id]
        return chat

    def _chat_json(self, chat: Chat) -> dict:
        data = {"id": chat.id, "type": "private", "first_name": chat.user["first_name"]}
        for key in ("last_name", "username"):
            if key in chat.user:
                data[key] = chat.user[key]
        return data

    def _message_json(self, chat: Chat, message: ChatMessage) -> dict:
        data: dict[str, Any] = {"message_id": message.message_id, "date": message.date, "chat": self._chat_json(chat),
                                "from": self.bot if message.from_bot else chat.user}
        if message.text:
            data["text"] = message.text
        if message.contact:
            data["contact"] = message.contact
        if message.from_bot and message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.edits:
            data["edit_date"] = message.date
        return data

    def _bump(self, chat: Chat) -> None:
        chat.activity += 1
        self.activity += 1

    # ---------- the customer's side (test API) ----------

    def _add_update(self, kind: str, payload: dict) -> int:
        with self._lock:
            update_id = next(self._update_ids)
            update = {"update_id": update_id, kind: payload}
            self.delivered[update_id] = update
            self.injected_at[update_id] = time.perf_counter()
            self._enqueue(update)
        return update_id

    def _enqueue(self, update: dict) -> None:
        if self.webhook is not None:
            self._webhook_put(update)
        else:
            self.pending.append(update)
            self._notify()

    def _user_message(self, chat_id: int, *, text: str | None = None, contact: dict | None = None) -> dict:
        chat = self._chat(chat_id)
        chat.started = True
        message = ChatMessage(message_id=chat.next_message_id, from_bot=False, text=text or "", date=int(time.time()),
                              contact=contact)
        chat.next_message_id += 1
        chat.messages.append(message)
        data = self._message_json(chat, message)
        if text and text.startswith("/"):
            command = text.split()[0]
            data["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return data

    def send_text(self, chat_id: int, text: str) -> int:
        """The customer types a message (a leading /command gets its bot_command entity); the update id."""
        with self._lock:
            return self._add_update("message", self._user_message(chat_id, text=text))

    def share_contact(self, chat_id: int, phone: str, *, first_name: str | None = None) -> int:
        """The customer taps "share my phone number"; the update id."""
        with self._lock:
            chat = self._chat(chat_id)
            contact = {"phone_number": phone, "first_name": first_name or chat.user["first_name"], "user_id": chat_id}
            return self._add_update("message", self._user_message(chat_id, contact=contact))

    def find_button(self, chat_id: int, button: str, *, message_id: int | None = None) -> tuple[ChatMessage, dict]:
        """The newest bot message with an inline button whose text or callback data is `button`."""
        with self._lock:
            chat = self._chat(chat_id)
            for message in reversed(chat.messages):
                if not message.from_bot or message.deleted or (message_id is not None and
                                                                message.message_id != message_id):
                    continue
                for candidate in message.buttons():
                    if button in (candidate.get("text"), candidate.get("callback_data")):
                        return message, candidate
        raise LookupError(f"no inline button {button!r} in chat {chat_id}")

    def press(self, chat_id: int, button: str, *, message_id: int | None = None) -> int:
        """The customer presses an inline button (by its text or data); the update id."""
        with self._lock:
            message, found = self.find_button(chat_id, button, message_id=message_id)
            if "callback_data" not in found:
                raise LookupError(f"button {button!r} has no callback data")
            chat = self.chats[chat_id]
            query_id = f"cq{next(self._callback_ids)}"
            query = {"id": query_id, "chat_instance": str(-chat_id), "from": chat.user,
                     "message": self._message_json(chat, message), "data": found["callback_data"]}
            self.callback_queries[query_id] = query
            return self._add_update("callback_query", query)

    def redeliver(self, update_id: int) -> None:
        """Deliver an update once more, with the same update_id (a duplicate)."""
        with self._lock:
            self._enqueue(self.delivered[update_id])

    # ---------- what the bot did ----------

    def messages(self, chat_id: int) -> list[ChatMessage]:
        """The chat as the customer sees it (both sides, deleted messages left out)."""
        with self._lock:
            return [m for m in self._chat(chat_id).messages if not m.deleted]

    def bot_messages(self, chat_id: int) -> list[ChatMessage]:
        return [m for m in self.messages(chat_id) if m.from_bot]

    def last_bot_text(self, chat_id: int) -> str:
        sent = self.bot_messages(chat_id)
        return sent[-1].text if sent else ""

    def reply_keyboard(self, chat_id: int) -> dict | None:
        with self._lock:
            return self._chat(chat_id).reply_keyboard

    def sent_times(self, chat_id: int) -> list[float]:
        """When each message the bot sent to the chat arrived (perf_counter), oldest first."""
        with self._lock:
            return list(self._chat(chat_id).sent_at)

    def chat_activity(self, chat_id: int) -> int:
        with self._lock:
            return self._chat(chat_id).activity

    def calls_to(self, method: str, chat_id: int | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method.lower() and (chat_id is None or c.chat_id == chat_id)]

    def unanswered_callbacks(self) -> list[str]:
        with self._lock:
            return [q for q in self.callback_queries if q not in self.answered]

    async def wait_for(self, predicate: Callable[[], bool], *, timeout: float = 5.0, interval: float = 0.005) -> None:
        """Wait (in the caller's event loop) until predicate() is true; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("the sandbox did not see what was expected in time")
            await asyncio.sleep(interval)

    async def wait_for_reply(self, chat_id: int, after: int, *, timeout: float = 5.0, settle: float = 0.1) -> None:
        """Wait until the bot did something in the chat after activity mark `after`, then until it has been
        quiet for `settle` seconds (a reply is often several calls)."""
        await self.wait_for(lambda: self.chat_activity(chat_id) > after, timeout=timeout)
        mark, quiet_since = self.chat_activity(chat_id), time.monotonic()
        while time.monotonic() - quiet_since < settle:
            await asyncio.sleep(0.01)
            now = self.chat_activity(chat_id)
            if now != mark:
                mark, quiet_since = now, time.monotonic()

    # ---------- faults ----------

    def fail_next(self, method: str, *, status: int = 429, retry_after: int | None = 1, description: str | None = None,
                  chat_id: int | None = None, times: int = 1) -> None:
        """Answer the next `times` calls of `method` (to `chat_id`, if given) with an error."""
        if description is None:
            description = {429: f"Too Many Requests: retry after {retry_after}",
                           403: "Forbidden: bot was blocked by the user",
                           400: "Bad Request: chat not found",
                           500: "Internal Server Error"}.get(status, "Error")
        with self._lock:
            self.faults.append(Fault(method=method.lower(), status=status, description=description,
                                     retry_after=retry_after if status == 429 else None, chat_id=chat_id, times=times))

    def block(self, chat_id: int) -> None:
        """The customer blocks the bot: every send to the chat answers 403."""
        with self._lock:
            self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        with self._lock:
            self.blocked.discard(chat_id)

    def _fault_for(self, method: str, chat_id: int | None) -> Fault | None:
        for fault in self.faults:
            if fault.method == method and (fault.chat_id is None or fault.chat_id == chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    # ---------- waking long polls ----------

    def _notify(self) -> None:
        for loop, event in list(self._waiters):
            with contextlib.suppress(RuntimeError):  # that loop is closed
                loop.call_soon_threadsafe(event.set)

    # ---------- webhook delivery ----------

    def _webhook_put(self, update: dict) -> None:
        if self._webhook_queue is None:
            self._webhook_queue = queue.Queue()
            threading.Thread(target=self._webhook_worker, name="telegram-sandbox-webhook", daemon=True).start()
        self._webhook_queue.put(update)

    def _webhook_worker(self) -> None:
        assert self._webhook_queue is not None
        with httpx.Client(timeout=10) as http:
            while True:
                update = self._webhook_queue.get()
                for attempt in range(3):
                    with self._lock:
                        hook = dict(self.webhook) if self.webhook else None
                    if hook is None:
                        with self._lock:
                            self.pending.append(update)
                            self._notify()
                        break
                    headers = {"Content-Type": "application/json"}
                    if hook.get("secret_token"):
                        headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
                    try:
                        response = http.post(hook["url"], content=json.dumps(update), headers=headers)
                        if response.status_code < 300:
                            break
                        error = f"Wrong response from the webhook: {response.status_code} {response.reason_phrase}"
                    except httpx.HTTPError as exc:
                        error = f"Connection failed: {type(exc).__name__}"
                    with self._lock:
                        self.webhook_last_error = (int(time.time()), error)
                    time.sleep(0.2 * (attempt + 1))

    # ---------- the Bot API methods ----------

    def _check_text(self, text: Any) -> str:
        text = "" if text is None else str(text)
        if not text.strip():
            raise BotApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            raise BotApiError(400, "Bad Request: message is too long")
        return text

    def _check_markup(self, markup: Any) -> dict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise BotApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard") or []:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                    raise BotApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not str(button.get("text") or "").strip():
                    raise BotApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
        return markup

    def _target(self, params: dict) -> Chat:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int) or chat_id not in self.chats:
            raise BotApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        if not self.chats[chat_id].started:
            raise BotApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return self.chats[chat_id]

    @staticmethod
    def _plain(text: str, parse_mode: Any) -> str:
        if str(parse_mode or "").upper() == "HTML":
            return html.unescape(_TAG.sub("", text))
        return text

    def _send_message(self, p: dict) -> dict:
        chat = self._target(p)
        raw = self._check_text(p.get("text"))
        markup = self._check_markup(p.get("reply_markup"))
        message = ChatMessage(message_id=chat.next_message_id, from_bot=True, text=self._plain(raw, p.get("parse_mode")),
                              html=raw, date=int(time.time()))
        if markup and "inline_keyboard" in markup:
            message.reply_markup = markup
        elif markup and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        chat.next_message_id += 1
        chat.messages.append(message)
        chat.sent_at.append(time.perf_counter())
        self._bump(chat)
        return self._message_json(chat, message)

    def _bot_message(self, chat: Chat, message_id: Any) -> ChatMessage:
        found = next((m for m in chat.messages if m.message_id == message_id and not m.deleted), None)
        if found is None:
            raise BotApiError(400, "Bad Request: message to edit not found")
        if not found.from_bot:
            raise BotApiError(400, "Bad Request: message can't be edited")
        return found

    def _edit_message_text(self, p: dict) -> dict:
        chat = self._target(p)
        message = self._bot_message(chat, p.get("message_id"))
        raw = self._check_text(p.get("text"))
        markup = self._check_markup(p.get("reply_markup"))
        text = self._plain(raw, p.get("parse_mode"))
        if text == message.text and markup == message.reply_markup:
            raise BotApiError(400, "Bad Request: message is not modified: specified new message content and reply "
                                   "markup are exactly the same as a current content and reply markup of the message")
        message.text, message.html, message.reply_markup = text, raw, markup
        message.edits += 1
        self._bump(chat)
        return self._message_json(chat, message)

    def _edit_message_reply_markup(self, p: dict) -> dict:
        chat = self._target(p)
        message = self._bot_message(chat, p.get("message_id"))
        markup = self._check_markup(p.get("reply_markup"))
        if markup == message.reply_markup:
            raise BotApiError(400, "Bad Request: message is not modified")
        message.reply_markup = markup
        message.edits += 1
        self._bump(chat)
        return self._message_json(chat, message)

    def _delete_message(self, p: dict) -> bool:
        chat = self._target(p)
        message = next((m for m in chat.messages if m.message_id == p.get("message_id") and not m.deleted), None)
        if message is None:
            raise BotApiError(400, "Bad Request: message to delete not found")
        message.deleted = True
        self._bump(chat)
        return True

    def _answer_callback_query(self, p: dict) -> bool:
        query_id = str(p.get("callback_query_id") or "")
        if query_id not in self.callback_queries or query_id in self.answered:
            raise BotApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self.answered[query_id] = p
        return True

    def _send_chat_action(self, p: dict) -> bool:
        self._target(p)
        return True

    def _set_webhook(self, p: dict) -> bool:
        url = str(p.get("url") or "")
        if not url:
            return self._delete_webhook(p)
        if not url.startswith(("https://", "http://")):
            raise BotApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and not SECRET_TOKEN.match(str(secret)):
            raise BotApiError(400, "Bad Request: secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self.pending.clear()
        self.webhook = {"url": url, "secret_token": secret, "max_connections": p.get("max_connections") or 40,
                        "allowed_updates": p.get("allowed_updates")}
        self.webhook_last_error = None
        backlog, self.pending = self.pending, []
        for update in backlog:
            self._webhook_put(update)
        return True

    def _delete_webhook(self, p: dict) -> bool:
        self.webhook = None
        if p.get("drop_pending_updates"):
            self.pending.clear()
        return True

    def _get_webhook_info(self, _p: dict) -> dict:
        hook = self.webhook or {}
        pending = len(self.pending) + (self._webhook_queue.qsize() if self._webhook_queue and hook else 0)
        info: dict[str, Any] = {"url": hook.get("url", ""), "has_custom_certificate": False,
                                "pending_update_count": pending}
        if hook:
            info["max_connections"] = hook["max_connections"]
            info["ip_address"] = "127.0.0.1"
        if self.webhook_last_error:
            info["last_error_date"], info["last_error_message"] = self.webhook_last_error
        return info

    def _confirm(self, offset: Any) -> None:
        if isinstance(offset, int) and offset < 0:
            self.pending = self.pending[offset:]
        elif isinstance(offset, int) and offset > 0:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]

    async def get_updates(self, p: dict) -> list[dict]:
        """Confirm by offset, then return pending updates, waiting up to `timeout` seconds for one."""
        if self.webhook is not None:
            raise BotApiError(409, "Conflict: can't use getUpdates method while webhook is active; use "
                                   "deleteWebhook to delete the webhook first")
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        timeout = min(max(float(p.get("timeout") or 0), 0.0), MAX_LONG_POLL_S)
        deadline = time.monotonic() + timeout
        loop = asyncio.get_running_loop()
        while True:
            event = asyncio.Event()
            with self._lock:
                self._confirm(p.get("offset"))
                batch = self.pending[:limit]
                if batch or time.monotonic() >= deadline:
                    return batch
                waiter = (loop, event)
                self._waiters.add(waiter)
            try:
                await asyncio.wait_for(event.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                pass
            finally:
                with self._lock:
                    self._waiters.discard(waiter)

    SYNC_METHODS: dict[str, str] = {
        "getme": "_get_me", "sendmessage": "_send_message", "editmessagetext": "_edit_message_text",
        "editmessagereplymarkup": "_edit_message_reply_markup", "deletemessage": "_delete_message",
        "answercallbackquery": "_answer_callback_query", "sendchataction": "_send_chat_action",
        "setwebhook": "_set_webhook", "deletewebhook": "_delete_webhook", "getwebhookinfo": "_get_webhook_info",
        "setmycommands": "_set_my_commands", "getmycommands": "_get_my_commands",
        "deletemycommands": "_delete_my_commands", "logout": "_true", "close": "_true",
    }

    def _get_me(self, _p: dict) -> dict:
        return self.bot

    @staticmethod
    def _commands_key(p: dict) -> tuple[str, str]:
        scope = p.get("scope") or {}
        if not isinstance(scope, dict) or not isinstance(scope.get("type", "default"), str):
            raise BotApiError(400, "Bad Request: can't parse BotCommandScope JSON object")
        language = str(p.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise BotApiError(400, "Bad Request: invalid language code specified")
        return scope.get("type", "default"), language

    def _set_my_commands(self, p: dict) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise BotApiError(400, "Bad Request: can't parse commands JSON object")
        for item in commands:
            if not isinstance(item, dict) or not re.fullmatch(r"[a-z0-9_]{1,32}", str(item.get("command") or "")):
                raise BotApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(item.get("description") or "").strip()) <= 256:
                raise BotApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(p)] = [{"command": c["command"], "description": c["description"]}
                                                for c in commands]
        return True

    def _get_my_commands(self, p: dict) -> list[dict]:
        return self.commands.get(self._commands_key(p), [])

    def _delete_my_commands(self, p: dict) -> bool:
        self.commands.pop(self._commands_key(p), None)
        return True

    def my_commands(self, language_code: str = "", scope: str = "default") -> list[dict]:
        """The command menu the bot set for a scope and language ("" = every language without its own list)."""
        with self._lock:
            return list(self.commands.get((scope, language_code), []))

    def _true(self, _p: dict) -> bool:
        return True

    async def call(self, token: str, method: str, params: dict) -> tuple[int, dict]:
        """Run one Bot API method; (HTTP status, body)."""
        name = method.lower()
        chat_id = params.get("chat_id") if isinstance(params.get("chat_id"), int) else None
        record = Call(method=name, params=params, at=time.perf_counter(), chat_id=chat_id)
        try:
            if token != self.token:
                raise BotApiError(401, "Unauthorized")
            with self._lock:
                self.calls.append(record)
                fault = self._fault_for(name, chat_id)
            if fault is not None:
                raise BotApiError(fault.status, fault.description, retry_after=fault.retry_after)
            if name == "getupdates":
                result: Any = await self.get_updates(params)
            elif name in self.SYNC_METHODS:
                with self._lock:
                    result = getattr(self, self.SYNC_METHODS[name])(params)
            else:
                raise BotApiError(404, "Not Found: method not found")
        except BotApiError as exc:
            record.status = exc.status
            return exc.status, exc.body()
        return 200, {"ok": True, "result": result}


def _coerce(name: str, value: Any) -> Any:
    """A form value as PTB meant it: JSON-encoded for non-strings, raw for strings."""
    if not isinstance(value, str):
        return value
    if name in JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if name in INT_PARAMS:
        try:
            return int(value)
        except ValueError:
            return value  # "@channelusername" stays a string
    if name in BOOL_PARAMS:
        return value.lower() in ("true", "1")
    return value


async def _params(request: Request) -> dict:
    params: dict[str, Any] = {k: _coerce(k, v) for k, v in request.query_params.items()}
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and "application/json" in content_type:
        body = await request.body()
        if body.strip():
            data = json.loads(body)
            if not isinstance(data, dict):
                raise BotApiError(400, "Bad Request: the request body must be a JSON object")
            params.update(data)
    elif request.method == "POST":
        form = await request.form()
        params.update({k: _coerce(k, v) for k, v in form.items() if isinstance(v, str)})
    return params


def create_app(sandbox: TelegramSandbox | None = None) -> Starlette:
    """The ASGI app over a sandbox (a new one unless given); `app.state.sandbox` is the test-side API."""
    sandbox = sandbox or TelegramSandbox()

    async def method(request: Request) -> JSONResponse:
        try:
            params = await _params(request)
        except (ValueError, BotApiError) as exc:
            error = exc if isinstance(exc, BotApiError) else BotApiError(400, "Bad Request: can't parse JSON")
            return JSONResponse(error.body(), status_code=error.status)
        status, body = await sandbox.call(request.path_params["token"], request.path_params["method"], params)
        return JSONResponse(body, status_code=status)

    async def control(request: Request) -> JSONResponse:
        """The test-side API over HTTP: POST {"text"} / {"button"} / {"phone"} to /sandbox/chats/<id>/<action>."""
        chat_id = int(request.path_params["chat_id"])
        action = request.path_params.get("action")
        if request.method == "GET":
            return JSONResponse({"chat_id": chat_id, "messages": [
                {"message_id": m.message_id, "from_bot": m.from_bot, "text": m.text, "buttons": m.buttons()}
                for m in sandbox.messages(chat_id)]})
        data = await request.json()
        try:
            if action == "messages":
                update_id = sandbox.send_text(chat_id, str(data["text"]))
            elif action == "callbacks":
                update_id = sandbox.press(chat_id, str(data["button"]))
            elif action == "contacts":
                update_id = sandbox.share_contact(chat_id, str(data["phone"]))
            else:
                return JSONResponse({"detail": "unknown action"}, status_code=404)
        except (KeyError, LookupError) as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return JSONResponse({"update_id": update_id})

    app = Starlette(routes=[
        Route("/bot{token}/{method}", method, methods=["GET", "POST"]),
        Route("/sandbox/chats/{chat_id:int}", control, methods=["GET"]),
        Route("/sandbox/chats/{chat_id:int}/{action}", control, methods=["POST"]),
    ])
    app.state.sandbox = sandbox
    return app
