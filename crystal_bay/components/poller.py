"""A live page's heartbeat: one browser timer that sends an event every few seconds while the tab is visible.

Used by the board and the lead page to ask "did anything change?" (a cheap version check on the server).
Unlike `rx.moment(interval=..., on_change=...)` it does not fire on mount (the page's on_load has just read
everything), runs exactly one timer, and stays quiet in a background tab.
"""

from __future__ import annotations

from typing import Any, cast

from reflex_base.components.component import field
from reflex_base.event import EventHandler, no_args_event_spec
from reflex_base.vars.base import Var
from reflex_components_core.base.fragment import Fragment


class Poller(Fragment):
    """Fires `on_tick` every `interval_ms` while the document is visible."""

    on_tick: EventHandler[no_args_event_spec] = field(doc="Sent every interval_ms while the tab is visible.")
    interval_ms: int = field(default=3000, is_javascript_property=False)

    @classmethod
    def create(cls, **props) -> Poller:
        from reflex_base.components.memoize_helpers import get_memoized_event_triggers

        component = cast("Poller", super().create(**props))
        memoized = get_memoized_event_triggers(component)
        if memoized:
            component.event_triggers = {**component.event_triggers, **memoized}
        return component

    def add_imports(self) -> dict[str, str]:
        return {"react": "useEffect"}

    def add_hooks(self) -> list[str | Var[Any]]:
        trigger = self.event_triggers.get("on_tick")
        if trigger is None:
            return []
        return [Var(f"""
useEffect(() => {{
    if (typeof window === 'undefined') return;
    const tick = {Var.create(trigger)};
    const id = setInterval(() => {{ if (!document.hidden) tick(); }}, {int(self.interval_ms)});
    return () => clearInterval(id);
}}, []);
""")]

    def _exclude_props(self) -> list[str]:
        return [*super()._exclude_props(), *self.event_triggers.keys()]


poller = Poller.create
