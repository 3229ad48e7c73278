"""Settings panel tabs for people and structure: users, API keys, the pipeline (admins only)."""

from __future__ import annotations

import dataclasses

import reflex as rx

from crystal_bay import i18n
from crystal_bay.db import session_scope
from crystal_bay.models import Role
from crystal_bay.services import admin, api_keys
from crystal_bay.services.errors import DomainError, ValidationFailed
from crystal_bay.settings import get_settings
from crystal_bay.state.guard import requires
from crystal_bay.state.settings import SettingsState

ADMIN = Role.admin.value


@dataclasses.dataclass
class UserView:
    user_id: int
    name: str
    email: str
    role: str
    active: bool
    last_login: str
    open_leads: int
    cap: str
    available: bool
    is_self: bool


@dataclasses.dataclass
class KeyView:
    key_id: int
    name: str
    prefix: str
    scopes: list[str]
    created: str
    last_used: str
    revoked: bool


@dataclasses.dataclass
class StageView:
    stage_id: int
    name_ru: str
    name_en: str
    category: str
    bitrix: str
    leads: int
    first: bool
    last: bool


class UsersAdminState(SettingsState):
    """Users: create (password shown once), reset password, deactivate, cap and availability."""

    users: list[UserView] = []
    create_open: bool = False
    create_error: str = ""
    shown_password: str = ""
    shown_password_for: str = ""
    form_key: int = 0

    def _reload(self) -> None:
        tz = get_settings().timezone
        with session_scope() as session:
            rows = admin.user_rows(session=session)
        self.users = [
            UserView(user_id=r.user.id, name=r.user.name, email=r.user.email, role=r.user.role,
                     active=r.user.is_active, last_login=i18n.format_datetime(r.user.last_login_at, tz),
                     open_leads=r.open_leads, cap="" if r.user.max_open_leads is None else str(r.user.max_open_leads),
                     available=r.user.available_for_assignment, is_self=r.user.id == self.user_id)
            for r in rows
        ]
        self.form_key += 1

    def _run(self, action, ok_key: str):
        try:
            with session_scope() as session:
                result = action(session)
        except DomainError as exc:
            return None, rx.toast.error(self._error_text(exc))
        self._reload()
        return result, rx.toast.success(i18n.tr(self.lang, ok_key))

    @requires(ADMIN)
    def load(self):
        """Load the users."""
        self.shown_password = self.shown_password_for = ""
        self._reload()

    @requires(ADMIN)
    def set_create_open(self, open: bool):
        """Open or close the "new user" dialog."""
        self.create_open, self.create_error = bool(open), ""

    @requires(ADMIN)
    def create_user(self, form_data: dict):
        """Create a user; a generated password is shown once."""
        try:
            with session_scope() as session:
                user, generated = admin.create_user(
                    session=session, email=str(form_data.get("email", "")), name=str(form_data.get("name", "")),
                    role=str(form_data.get("role", Role.manager.value)), actor=self._actor(),
                    password=str(form_data.get("password", "")) or None)
                email = user.email
        except DomainError as exc:
            self.create_error = self._error_text(exc)
            return None
        self.create_open, self.create_error = False, ""
        self.shown_password, self.shown_password_for = generated or "", email if generated else ""
        self._reload()
        return rx.toast.success(i18n.tr(self.lang, "settings.user_created"))

    @requires(ADMIN)
    def reset_password(self, user_id: int):
        """Generate a new password (shown once); the user's sessions end."""
        generated, toast = self._run(lambda s: admin.reset_password(session=s, user_id=int(user_id),
                                                                     actor=self._actor()), "settings.password_reset")
        if generated:
            self.shown_password = generated
            self.shown_password_for = next((u.email for u in self.users if u.user_id == int(user_id)), "")
        return toast

    @requires(ADMIN)
    def dismiss_password(self):
        """Forget the password shown once."""
        self.shown_password = self.shown_password_for = ""

    @requires(ADMIN)
    def set_active(self, user_id: int, active: bool):
        """Deactivate (their sessions end at once) or reactivate a user."""
        _result, toast = self._run(lambda s: admin.set_active(session=s, user_id=int(user_id), active=bool(active),
                                                              actor=self._actor()),
                                   "settings.user_activated" if active else "settings.user_deactivated")
        return toast

    @requires(ADMIN)
    def save_assignment(self, form_data: dict):
        """Save a manager's cap of open leads (empty = no cap) and availability for auto-assignment."""
        raw_cap = str(form_data.get("cap", "")).strip()
        try:
            cap = int(raw_cap) if raw_cap else None
        except ValueError:
            return rx.toast.error(self._error_text(ValidationFailed("cap", code="invalid_cap")))
        available = form_data.get("available") in ("on", "true", True)
        _result, toast = self._run(lambda s: admin.set_assignment(
            session=s, user_id=int(form_data.get("user_id", 0)), max_open_leads=cap, available=available,
            actor=self._actor()), "settings.saved")
        return toast


class ApiKeysState(SettingsState):
    """API keys: create (the key is shown once), scopes, revoke, last use."""

    keys: list[KeyView] = []
    new_key: str = ""
    new_key_name: str = ""
    create_error: str = ""
    form_key: int = 0

    def _reload(self) -> None:
        tz = get_settings().timezone
        with session_scope() as session:
            rows = api_keys.list_api_keys(session=session)
        self.keys = [KeyView(key_id=k.id, name=k.name, prefix=k.prefix, scopes=list(k.scopes),
                             created=i18n.format_datetime(k.created_at, tz), last_used=i18n.format_datetime(k.last_used_at, tz),
                             revoked=k.revoked_at is not None) for k in rows]

    @requires(ADMIN)
    def load(self):
        """Load the keys."""
        self.new_key = self.new_key_name = ""
        self._reload()

    @requires(ADMIN)
    def create_key(self, form_data: dict):
        """Create a key with the ticked scopes; the plaintext is shown once."""
        scopes = [s for s in api_keys.SCOPES if form_data.get(f"scope:{s}") in ("on", "true", True)]
        try:
            with session_scope() as session:
                key, raw = api_keys.create_api_key(session=session, name=str(form_data.get("name", "")),
                                                   scopes=scopes, actor=self._actor())
                name = key.name
        except DomainError as exc:
            self.create_error = self._error_text(exc)
            return None
        self.create_error, self.new_key, self.new_key_name = "", raw, name
        self.form_key += 1
        self._reload()
        return rx.toast.success(i18n.tr(self.lang, "settings.key_created"))

    @requires(ADMIN)
    def dismiss_key(self):
        """Forget the key shown once."""
        self.new_key = self.new_key_name = ""

    @requires(ADMIN)
    def revoke(self, key_id: int):
        """Revoke a key at once."""
        try:
            with session_scope() as session:
                api_keys.revoke_api_key(session=session, key_id=int(key_id), actor=self._actor())
        except DomainError as exc:
            return rx.toast.error(self._error_text(exc))
        self._reload()
        return rx.toast.success(i18n.tr(self.lang, "settings.key_revoked"))


class PipelineAdminState(SettingsState):
    """Pipeline stages: names, order, status category and Bitrix24 stage id."""

    stages: list[StageView] = []
    form_key: int = 0

    def _reload(self) -> None:
        with session_scope() as session:
            rows = admin.stage_rows(session=session)
        self.stages = [StageView(stage_id=r.stage.id, name_ru=r.stage.name_ru, name_en=r.stage.name_en,
                                 category=r.stage.category, bitrix=r.stage.bitrix_stage_id or "", leads=r.open_leads,
                                 first=i == 0, last=i == len(rows) - 1) for i, r in enumerate(rows)]
        self.form_key += 1

    @requires(ADMIN)
    def load(self):
        """Load the stages."""
        self._reload()

    @requires(ADMIN)
    def save_stage(self, form_data: dict):
        """Rename a stage and set its category and Bitrix24 stage id (one transaction)."""
        try:
            stage_id = int(form_data.get("stage_id", 0))
            with session_scope() as session:
                admin.rename_stage(session=session, stage_id=stage_id, name_ru=str(form_data.get("name_ru", "")),
                                   name_en=str(form_data.get("name_en", "")), actor=self._actor())
                admin.map_stage(session=session, stage_id=stage_id, category=str(form_data.get("category", "")),
                                bitrix_stage_id=str(form_data.get("bitrix", "")), actor=self._actor())
        except (DomainError, ValueError) as exc:
            self._reload()
            err = exc if isinstance(exc, DomainError) else ValidationFailed(str(exc))
            return rx.toast.error(self._error_text(err))
        self._reload()
        return rx.toast.success(i18n.tr(self.lang, "settings.saved"))

    @requires(ADMIN)
    def move(self, stage_id: int, delta: int):
        """Move a stage up (−1) or down (+1)."""
        try:
            with session_scope() as session:
                admin.move_stage(session=session, stage_id=int(stage_id), delta=int(delta), actor=self._actor())
        except DomainError as exc:
            return rx.toast.error(self._error_text(exc))
        self._reload()
        return None
