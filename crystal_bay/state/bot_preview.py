"""The "Bot preview" page (demo mode): the logged-in user plays a customer; the real bot answers through the
in-process Telegram sandbox (`crystal_bay.bot.preview`)."""

from __future__ import annotations

import dataclasses

import reflex as rx

from crystal_bay.bot import preview
from crystal_bay.db import session_scope
from crystal_bay.models import BotChat
from crystal_bay.state.base import AppState
from crystal_bay.state.guard import requires

MAX_TEXT = 4096


@dataclasses.dataclass
class PreviewButton:
    text: str
    data: str
    message_id: int
    width: str  # share of the row, so rows look like Telegram's


@dataclasses.dataclass
class PreviewLine:
    message_id: int
    from_bot: bool
    text: str
    buttons: list[PreviewButton]


@dataclasses.dataclass
class ReplyButton:
    text: str
    contact: bool


def _lines(chat_id: int) -> list[PreviewLine]:
    out = []
    for line in preview.runtime().lines(chat_id):
        buttons = [PreviewButton(text=b["text"], data=b["data"], message_id=line.message_id,
                                 width=f"calc({100 / len(row):.3f}% - 0.5em)")
                   for row in line.buttons for b in row]
        out.append(PreviewLine(message_id=line.message_id, from_bot=line.from_bot, text=line.text, buttons=buttons))
    return out


def _lead_of(chat_id: int) -> int:
    with session_scope() as session:
        chat = session.get(BotChat, (preview.NAMESPACE, chat_id))
        return chat.lead_id or 0 if chat else 0


class BotPreviewState(AppState):
    """The preview chat of the current user."""

    lines: list[PreviewLine] = []
    reply_buttons: list[ReplyButton] = []
    enabled: bool = False
    busy: bool = False
    chat_id: int = 0
    lead_id: int = 0

    def _show(self) -> None:
        runtime = preview.runtime()
        self.lines = _lines(self.chat_id)
        self.reply_buttons = [ReplyButton(**b) for b in runtime.reply_buttons(self.chat_id)]
        self.lead_id = _lead_of(self.chat_id)

    @requires()
    async def load(self):
        """Page load: only in demo mode; starts the preview bot and shows this user's chat so far."""
        self.access = "ok"
        self.enabled = self.demo_mode
        if not self.enabled:
            return
        runtime = preview.runtime()
        self.chat_id = runtime.join(self.user_id, (self.user_name or "Гость").split()[0], self.lang)
        await runtime.ensure_started()
        self._show()

    async def _act(self, **action):
        async with self:
            if self.busy or not self.enabled or not self.chat_id:
                return
            self.busy = True
            chat_id = self.chat_id
        try:
            await preview.runtime().act(chat_id, **action)
        finally:
            async with self:
                self.busy = False
                self._show()

    @rx.event(background=True)
    @requires()
    async def send(self, form: dict):
        """The customer types a message."""
        text = str(form.get("text") or "").strip()[:MAX_TEXT]
        if text:
            await self._act(text=text)

    @rx.event(background=True)
    @requires()
    async def press(self, message_id: int, data: str):
        """The customer presses an inline button of a bot message."""
        await self._act(button=str(data), message_id=int(message_id))

    @rx.event(background=True)
    @requires()
    async def reply_button(self, text: str, contact: bool):
        """The customer taps a button of the keyboard under the input (sharing a demo phone number)."""
        if contact:
            await self._act(contact=preview.DEMO_PHONE)
        else:
            await self._act(text=str(text))

    @rx.event(background=True)
    @requires()
    async def restart(self):
        """Send /start, as a new customer would."""
        await self._act(text="/start")

    @rx.event(background=True)
    @requires()
    async def refresh(self):
        """Show what arrived meanwhile (a manager's reply through the outbox)."""
        async with self:
            if self.enabled and self.chat_id:
                self._show()
