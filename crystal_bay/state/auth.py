"""The login form."""

from __future__ import annotations

import reflex as rx

from crystal_bay import i18n
from crystal_bay.db import session_scope
from crystal_bay.services import users as user_service
from crystal_bay.settings import get_settings
from crystal_bay.state.base import AppState
from crystal_bay.state.guard import public


class LoginState(AppState):
    """Checks credentials and opens a session; the only way in (there is no sign-up)."""

    error: str = ""

    @public
    def login(self, form_data: dict):
        """Log in with the form's email and password; on success go to the board."""
        email = str(form_data.get("email") or "").strip()
        password = str(form_data.get("password") or "")
        if not email or not password:
            self.error = i18n.tr(self.lang, "login.error.missing")
            return
        with session_scope() as session:
            result = user_service.authenticate(
                session=session, email=email, password=password, client_ip=self.router.session.client_ip
            )
        if not result.ok:
            self.error = i18n.tr(self.lang, f"login.error.{result.error}")
            return
        self.error = ""
        self.lang = result.user.language  # the user's own choice follows them to any browser
        self.auth_token = result.token
        self._set_user(result.user)
        self.access = "ok"
        return rx.redirect("/")

    @public
    def redirect_if_logged_in(self):
        """Login page load: a visitor who is already logged in goes straight to the board."""
        self.error = ""
        self.demo_mode = get_settings().demo
        if self.auth_token and self._current_user() is not None:
            return rx.redirect("/")
