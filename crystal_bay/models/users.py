"""People who log in to the dashboard, their sessions and login attempts."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, Index, SQLModel

from crystal_bay.models._base import Role, utcnow


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=200)
    role: str = Field(default=Role.manager.value, max_length=20)
    password_hash: str = Field(max_length=200)
    is_active: bool = True
    language: str = Field(default="ru", max_length=5)
    max_open_leads: int | None = None
    available_for_assignment: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_login_at: dt.datetime | None = None


class AuthSession(SQLModel, table=True):
    """A logged-in browser. The browser holds the token; only its hash is stored."""

    __tablename__ = "auth_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime
    last_seen_at: dt.datetime = Field(default_factory=utcnow)
    revoked_at: dt.datetime | None = None
    client_ip: str | None = Field(default=None, max_length=64)


class LoginAttempt(SQLModel, table=True):
    """Every login attempt, for rate limiting per account and per client."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_client_at", "client_ip", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    client_ip: str = Field(max_length=64)
    success: bool = False
    at: dt.datetime = Field(default_factory=utcnow)
