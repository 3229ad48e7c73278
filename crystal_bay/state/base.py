"""AppState: the root of the app's states. Holds the session cookie, the user and the language."""

from __future__ import annotations

import reflex as rx

from crystal_bay import i18n
from crystal_bay.db import session_scope
from crystal_bay.models import Role, User
from crystal_bay.services import integrations as integration_service
from crystal_bay.services import users as user_service
from crystal_bay.state.guard import public, requires

SESSION_COOKIE = "cb_session"


class AppState(rx.State):
    """Session, current user and interface language; every page state inherits from it."""

    auth_token: str = rx.Cookie("", name=SESSION_COOKIE, max_age=30 * 24 * 3600, same_site="strict")
    lang: str = rx.LocalStorage(i18n.DEFAULT_LANGUAGE, name="cb_lang", sync=True)
    user_id: int = 0
    user_name: str = ""
    user_email: str = ""
    user_role: str = ""
    demo_mode: bool = False
    access: str = "checking"  # checking | ok | forbidden

    @rx.var
    def t(self) -> dict[str, str]:
        """The interface strings in the current language."""
        return i18n.strings(self.lang)

    @rx.var
    def is_admin(self) -> bool:
        return self.user_role == Role.admin.value

    @rx.var
    def role_label(self) -> str:
        return i18n.tr(self.lang, f"role.{self.user_role}") if self.user_role else ""

    # --- helpers used by the guard (not event handlers: names start with "_") ---

    def _current_user(self) -> User | None:
        with session_scope() as session:
            return user_service.user_for_token(session=session, token=self.auth_token)

    def _set_user(self, user: User | None) -> None:
        self.user_id = user.id if user else 0
        self.user_name = user.name if user else ""
        self.user_email = user.email if user else ""
        self.user_role = user.role if user else ""
        with session_scope() as session:
            self.demo_mode = integration_service.effective_demo(session)

    def _refuse(self, role: str | None):
        """None when the caller may proceed; otherwise the events that refuse the call."""
        user = self._current_user()
        if user is None:
            had_session = bool(self.auth_token)
            self.auth_token = ""
            self._set_user(None)
            self.access = "checking"
            if had_session:
                return [rx.toast.error(i18n.tr(self.lang, "access.session_expired")), rx.redirect("/login")]
            return [rx.redirect("/login")]
        self._set_user(user)
        if role == Role.admin.value and user.role != Role.admin.value:
            return rx.toast.error(i18n.tr(self.lang, "access.denied"))
        return None

    # --- event handlers ---

    @requires()
    def check_access(self):
        """Page load for pages any logged-in user may see."""
        self.access = "ok"

    @public
    def set_lang(self, lang: str):
        """Switch the interface language; remembered in the browser and on the user."""
        if lang not in i18n.LANGUAGES:
            return
        self.lang = lang
        user = self._current_user() if self.auth_token else None
        if user is not None:
            with session_scope() as session:
                user_service.set_language(session=session, user_id=user.id, language=lang)

    @public
    def logout(self):
        """End the session and go to the login page."""
        with session_scope() as session:
            user_service.logout(session=session, token=self.auth_token)
        self.auth_token = ""
        self._set_user(None)
        self.access = "checking"
        return rx.redirect("/login")
