"""Server-side checks for every event handler: `@requires()` or `@requires("admin")`.

A page guard in the browser is not security: each handler re-checks the session token against
the database, so a logged-out, expired or deactivated user, or a manager calling an admin
handler, is refused before the handler's body runs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

from crystal_bay.models import Role

GUARD_ATTR = "__cb_requires__"
PUBLIC_ATTR = "__cb_public__"


def public(fn: Callable) -> Callable:
    """Mark a handler as deliberately open to visitors who are not logged in (login, language)."""
    setattr(fn, PUBLIC_ATTR, True)
    return fn


def requires(role: str | None = None) -> Callable[[Callable], Callable]:
    """Run the handler only for a live session (and the given role); otherwise refuse."""
    if role is not None and role not in {r.value for r in Role}:
        raise ValueError(f"unknown role {role!r}")

    def decorator(fn: Callable) -> Callable:
        def refusal(self):
            return self._refuse(role)

        async def async_refusal(self):
            # A background event's state is writable only inside `async with self` (a no-op otherwise).
            async with self:
                return refusal(self)

        if inspect.isasyncgenfunction(fn):
            @functools.wraps(fn)
            async def wrapper(self, *args, **kwargs):
                denied = await async_refusal(self)
                if denied is not None:
                    yield denied
                    return
                async for item in fn(self, *args, **kwargs):
                    yield item
        elif inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def wrapper(self, *args, **kwargs):
                denied = await async_refusal(self)
                if denied is not None:
                    return denied
                return await fn(self, *args, **kwargs)
        elif inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def wrapper(self, *args, **kwargs):
                denied = refusal(self)
                if denied is not None:
                    yield denied
                    return
                yield from fn(self, *args, **kwargs)
        else:
            @functools.wraps(fn)
            def wrapper(self, *args, **kwargs):
                denied = refusal(self)
                if denied is not None:
                    return denied
                return fn(self, *args, **kwargs)

        setattr(wrapper, GUARD_ATTR, role or "user")
        return wrapper

    return decorator
