"""The lead workspace's Telegram reply box: a manager's message to the customer's chat (through the outbox), and
handing a paused chat back to the bot. A substate of LeadState: it refreshes the lead's timeline after acting."""

from __future__ import annotations

import reflex as rx

from crystal_bay import i18n
from crystal_bay.db import session_scope
from crystal_bay.services import messaging
from crystal_bay.services.errors import DomainError
from crystal_bay.state.guard import requires
from crystal_bay.state.lead import LeadState


class LeadReplyState(LeadState):
    """Whether the lead has a Telegram chat, whether the bot is paused there, and the reply form."""

    reply_chat: bool = False
    reply_paused: bool = False
    reply_error: str = ""
    reply_key: int = 0

    def _reply_status(self) -> None:
        with session_scope() as session:
            chat = messaging.chat_for_lead(session=session, lead_id=self.lead_id)
        self.reply_chat = chat is not None
        self.reply_paused = bool(chat and chat.paused)

    @requires()
    def load_reply(self):
        """When the box appears: does this lead have a Telegram chat, is the bot paused there?"""
        self.reply_error = ""
        if not self.lead_id:
            return
        try:
            self._reply_status()
        except DomainError:
            self.reply_chat = self.reply_paused = False

    @requires()
    def send_reply(self, form: dict):
        """Queue the typed message to the customer's Telegram chat; it shows on the timeline at once."""
        text = str(form.get("reply") or "")
        try:
            with session_scope() as session:
                messaging.send_to_customer(session=session, lead_id=self.lead_id, text=text, actor=self._actor())
        except DomainError as exc:
            self.reply_error = self._error_text(exc)
            return None
        self.reply_error = ""
        self.reply_key += 1
        self._refresh()
        return rx.toast.success(i18n.tr(self.lang, "reply.sent"))

    @requires()
    def hand_back(self):
        """Give the conversation back to the bot: it answers the customer automatically again."""
        try:
            with session_scope() as session:
                messaging.hand_back(session=session, lead_id=self.lead_id, actor=self._actor())
        except DomainError as exc:
            return rx.toast.error(self._error_text(exc))
        self._reply_status()
        self._refresh()
        return rx.toast.success(i18n.tr(self.lang, "reply.handed_back"))
