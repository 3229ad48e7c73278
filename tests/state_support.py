"""Driving Reflex state classes in-process: find a substate instance, call an event handler like the
browser would (coroutines run to completion)."""
from __future__ import annotations

import asyncio

import reflex as rx


def state_instance(cls):
    """A fresh instance of `cls` inside a fresh state tree (so its parent states exist)."""
    root = rx.State(_reflex_internal_init=True)
    stack = [root]
    while stack:
        state = stack.pop()
        if type(state) is cls:
            return state
        stack.extend(state.substates.values())
    raise LookupError(cls)


def call_handler(state, name, *args):
    """Run one event handler of `state` with `args`; an async handler is run to its end."""
    result = type(state).event_handlers[name].fn(state, *args)
    return asyncio.run(result) if asyncio.iscoroutine(result) else result
