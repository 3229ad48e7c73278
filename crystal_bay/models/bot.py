"""The Telegram bot's tables: its chats (who, which lead, handed to a manager?) and its conversation state."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger
from sqlmodel import Field, Index, SQLModel

from crystal_bay.models._base import JSONType, utcnow


class BotChat(SQLModel, table=True):
    """One chat with the bot: the customer behind it, the lead it talks about, and whether the bot is paused
    there because a manager took over (a handoff) until a manager hands it back.

    `namespace` keeps chats of different bots apart: "telegram" for the real bot, "preview" for the
    dashboard's demo chat (its customers never get a Telegram id).
    """

    __tablename__ = "bot_chats"
    __table_args__ = (
        Index("ix_bot_chats_lead", "lead_id"),
        Index("ix_bot_chats_customer", "customer_id"),
    )

    namespace: str = Field(primary_key=True, max_length=20)
    chat_id: int = Field(primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False})
    customer_id: int | None = Field(default=None, foreign_key="customers.id", ondelete="SET NULL")
    lead_id: int | None = Field(default=None, foreign_key="leads.id", ondelete="SET NULL")
    lead_booked: bool = False  # the current lead already has a booking request: a new search opens a new lead
    language: str = Field(default="ru", max_length=5)
    paused: bool = False  # a manager has the conversation: the bot answers nothing automatically
    paused_at: dt.datetime | None = None
    paused_reason: str | None = Field(default=None, max_length=30)  # button | human_request | complaint
    blocked_at: dt.datetime | None = None  # the customer blocked the bot (Telegram answered 403)
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class BotState(SQLModel, table=True):
    """The bot framework's persisted state (python-telegram-bot persistence): a chat's data, or one
    conversation's state, as JSON. A restart in the middle of a conversation resumes from here."""

    __tablename__ = "bot_states"

    namespace: str = Field(primary_key=True, max_length=20)
    kind: str = Field(primary_key=True, max_length=20)  # chat | user | bot | callback | conversation
    name: str = Field(default="", primary_key=True, max_length=50)  # the conversation's name
    key: str = Field(default="", primary_key=True, max_length=100)  # chat id, or the conversation key as JSON
    data: dict = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    updated_at: dt.datetime = Field(default_factory=utcnow)
