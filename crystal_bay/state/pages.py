"""The admin settings page state (users now; integrations with the platform issue)."""

from __future__ import annotations

import dataclasses

from crystal_bay import i18n
from crystal_bay.db import session_scope
from crystal_bay.models import Role
from crystal_bay.services import users as user_service
from crystal_bay.settings import get_settings
from crystal_bay.state.base import AppState
from crystal_bay.state.guard import requires


@dataclasses.dataclass
class UserRow:
    user_id: int
    email: str
    name: str
    role: str
    active: bool
    last_login: str


class SettingsState(AppState):
    """The admin-only settings page (users list now; integrations with the platform issue)."""

    users: list[UserRow] = []

    @requires(Role.admin.value)
    def load(self):
        """Page load: admins see the users; a manager gets the 'no access' panel."""
        self.access = "ok"
        with session_scope() as session:
            rows = user_service.list_users(session=session)
        self.users = [
            UserRow(user_id=u.id, email=u.email, name=u.name, role=u.role, active=u.is_active,
                    last_login=i18n.format_datetime(u.last_login_at, get_settings().timezone))
            for u in rows
        ]

    @requires()
    def check(self):
        """Page load: a manager sees 'no access' instead of the page; an admin gets it loaded."""
        if self.user_role != Role.admin.value:
            self.access = "forbidden"
            return None
        return SettingsState.load
