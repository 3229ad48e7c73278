"""Every state event handler checks the user on the server.

The handlers are enumerated from the state classes, so a new handler is covered automatically:
it must be marked @requires(...) (and then refuses callers without a live session) or @public
(and then must be listed here on purpose).
"""

from __future__ import annotations

import asyncio
import inspect
import uuid

import pytest
import reflex as rx

import crystal_bay.crystal_bay  # noqa: F401  (registers every page and state)
from crystal_bay.db import session_scope
from crystal_bay.models import AuditEvent
from crystal_bay.services import users
from crystal_bay.state.base import AppState
from crystal_bay.state.guard import GUARD_ATTR, PUBLIC_ATTR
from tests.factories import SYSTEM, count

# Handlers open to visitors who are not logged in, and why.
EXPECTED_PUBLIC = {
    "AppState.set_lang",  # the login page has a language switch
    "AppState.logout",  # ending a session needs no session
    "LoginState.login",  # the way in
    "LoginState.redirect_if_logged_in",  # login page load
}
BUILTIN = {"setvar"}  # Reflex's generic setter: only works for vars with setters, and we define none


def _walk(cls):
    yield cls
    for sub in sorted(cls.get_substates(), key=lambda c: c.__name__):
        yield from _walk(sub)


STATES = list(_walk(AppState))
HANDLERS = [
    (cls, name) for cls in STATES for name in sorted(cls.event_handlers) if name not in BUILTIN
]


def _instance(cls):
    root = rx.State(_reflex_internal_init=True)
    stack = [root]
    while stack:
        state = stack.pop()
        if type(state) is cls:
            return state
        stack.extend(state.substates.values())
    raise LookupError(cls)


def _dummy_args(fn):
    args = []
    for param in list(inspect.signature(fn).parameters.values())[1:]:
        if param.default is not inspect.Parameter.empty:
            continue
        ann = str(param.annotation)
        args.append({"str": "x", "int": 1, "dict": {}, "list": [], "bool": True}.get(ann, "x"))
    return args


def _call(state, name):
    fn = type(state).event_handlers[name].fn
    result = fn(state, *_dummy_args(fn))
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    elif inspect.isgenerator(result):
        result = list(result)
    elif inspect.isasyncgen(result):
        async def drain(gen):
            return [item async for item in gen]

        result = asyncio.run(drain(result))
    return result if isinstance(result, list) else [result]


def _redirects_to_login(events) -> bool:
    return any("/login" in str(e) and "redirect" in str(e) for e in events)


def _token_for(role: str) -> str:
    with session_scope() as session:
        user = users.create_user(session=session, email=f"guard-{role}-{uuid.uuid4().hex[:12]}@crystalbay.kz",
                                 name=f"Guard {role}", role=role, password="guard-password", actor=SYSTEM)
        result = users.authenticate(session=session, email=user.email, password="guard-password", client_ip="t")
    return result.token


def test_handlers_were_found():
    names = {f"{cls.__name__}.{name}" for cls, name in HANDLERS}
    assert {"BoardState.load", "SettingsState.load", "LoginState.login", "AppState.check_access"} <= names


def test_every_handler_is_guarded_or_deliberately_public():
    public, unmarked = set(), []
    for cls, name in HANDLERS:
        fn = cls.event_handlers[name].fn
        if getattr(fn, PUBLIC_ATTR, False):
            public.add(f"{cls.__name__}.{name}")
        elif not getattr(fn, GUARD_ATTR, None):
            unmarked.append(f"{cls.__name__}.{name}")
    assert unmarked == []
    assert public == EXPECTED_PUBLIC


@pytest.mark.parametrize(
    ("cls", "name"),
    [(c, n) for c, n in HANDLERS if getattr(c.event_handlers[n].fn, GUARD_ATTR, None)],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_guarded_handler_refuses_without_login(app_db, cls, name):
    state = _instance(cls)
    before_vars = {k: getattr(state, k) for k in cls.base_vars if k not in ("auth_token", "lang", "demo_mode")}
    with session_scope() as session:
        audits = count(session, AuditEvent)
    events = _call(state, name)
    assert _redirects_to_login(events), events
    assert state.access == "checking"
    for key, value in before_vars.items():
        assert getattr(state, key) == value, key
    with session_scope() as session:
        assert count(session, AuditEvent) == audits


@pytest.mark.parametrize(
    ("cls", "name"),
    [(c, n) for c, n in HANDLERS if getattr(c.event_handlers[n].fn, GUARD_ATTR, None) == "admin"],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_admin_handler_refuses_a_manager(app_db, cls, name):
    state = _instance(cls)
    state.auth_token = _token_for("manager")
    events = _call(state, name)
    assert not _redirects_to_login(events)
    assert "toast" in str(events)
    assert getattr(state, "users", []) == []


def test_admin_handler_works_for_an_admin(app_db):
    from crystal_bay.state.settings import SettingsState
    from crystal_bay.state.settings_admin import UsersAdminState

    state = _instance(SettingsState)
    state.auth_token = _token_for("admin")
    _call(state, "load")
    assert state.access == "ok"
    users_state = _instance(UsersAdminState)
    users_state.auth_token = state.auth_token
    _call(users_state, "load")
    assert len(users_state.users) >= 1


def test_settings_page_load_shows_forbidden_to_a_manager(app_db):
    from crystal_bay.state.settings import SettingsState

    state = _instance(SettingsState)
    state.auth_token = _token_for("manager")
    events = _call(state, "check")
    assert state.access == "forbidden" and events == [None]


def test_setvar_cannot_change_the_user(app_db):
    state = _instance(AppState)
    with pytest.raises(AttributeError):
        state.event_handlers["setvar"].fn(state, "user_role", "admin")
    assert state.user_role == ""
