"""The app shell: sidebar navigation, demo banner, user block and language switch."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from crystal_bay.state.base import AppState

NAV_ITEMS: tuple[tuple[str, str, str, str], ...] = (
    # (route, i18n key, lucide icon, shown to: "all", "admin" only, or everyone in "demo" mode only)
    ("/", "nav.board", "kanban", "all"),
    ("/inbox", "nav.inbox", "inbox", "all"),
    ("/bookings", "nav.bookings", "plane", "all"),
    ("/analytics", "nav.analytics", "chart-column", "all"),
    ("/bot-preview", "nav.bot_preview", "bot", "demo"),  # the preview works in demo mode only
    ("/import", "nav.import", "file-up", "admin"),
    ("/settings", "nav.settings", "settings", "admin"),
)


def language_switch() -> rx.Component:
    """RU | EN buttons; the choice persists in the browser and on the user."""
    return rx.hstack(
        *[
            rx.button(
                code.upper(),
                size="1",
                variant=rx.cond(AppState.lang == code, "solid", "soft"),
                on_click=AppState.set_lang(code),
                data_lang=code,
                class_name="lang-switch",
            )
            for code in ("ru", "en")
        ],
        spacing="1",
    )


def demo_banner() -> rx.Component:
    return rx.cond(
        AppState.demo_mode,
        rx.callout(
            AppState.t["demo.banner"],
            icon="flask-conical",
            color_scheme="amber",
            size="1",
            width="100%",
            data_testid="demo-banner",
        ),
    )


def _nav_link(route: str, key: str, icon: str, shown_to: str) -> rx.Component:
    link = rx.link(
        rx.hstack(rx.icon(icon, size=18), rx.text(AppState.t[key]), spacing="2", align="center"),
        href=route,
        underline="none",
        color_scheme="gray",
        high_contrast=True,
        padding="0.5em 0.75em",
        border_radius="8px",
        width="100%",
        _hover={"background": rx.color("accent", 3)},
        data_nav=route,
    )
    if shown_to == "admin":
        return rx.cond(AppState.is_admin, link)
    if shown_to == "demo":
        return rx.cond(AppState.demo_mode, link)
    return link


def sidebar() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.image(src="/logo.svg", width="32px", height="32px", alt="Crystal Bay"),
            rx.heading("Crystal Bay", size="4"),
            align="center",
            spacing="2",
            padding_bottom="1em",
        ),
        *[_nav_link(*item) for item in NAV_ITEMS],
        rx.spacer(),
        rx.divider(),
        rx.vstack(
            rx.text(AppState.user_name, weight="bold", size="2", data_testid="user-name"),
            rx.badge(AppState.role_label, variant="soft", data_testid="user-role"),
            rx.text(AppState.user_email, size="1", color_scheme="gray"),
            spacing="1",
        ),
        language_switch(),
        rx.button(
            rx.icon("log-out", size=16),
            AppState.t["shell.logout"],
            variant="outline",
            size="2",
            width="100%",
            on_click=AppState.logout,
            data_testid="logout",
        ),
        width="15em",
        min_width="15em",
        height="100vh",
        padding="1em",
        border_right=f"1px solid {rx.color('gray', 5)}",
        position="sticky",
        top="0",
        spacing="2",
    )


def forbidden_panel() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("shield-x", size=48, color=rx.color("red", 9)),
            rx.heading(AppState.t["access.forbidden.title"], size="6"),
            rx.text(AppState.t["access.forbidden.text"]),
            align="center",
            data_testid="forbidden",
        ),
        padding_top="4em",
        width="100%",
    )


def shell(content: Callable[[], rx.Component]) -> rx.Component:
    """Wrap a page's content in the shell; the content shows only after the server said ok."""
    return rx.hstack(
        sidebar(),
        rx.vstack(
            demo_banner(),
            rx.match(
                AppState.access,
                ("ok", content()),
                ("forbidden", forbidden_panel()),
                rx.center(rx.spinner(size="3"), padding_top="4em", width="100%"),
            ),
            width="100%",
            min_width="0",
            padding="1.5em",
            spacing="4",
            align="stretch",
        ),
        spacing="0",
        align="start",
        width="100%",
    )


def placeholder(title_key: str, text_key: str, icon: str) -> rx.Component:
    """A page not built yet, rendered inside the shell."""
    return rx.vstack(
        rx.heading(AppState.t[title_key], size="7"),
        rx.card(
            rx.hstack(
                rx.icon(icon, size=32, color=rx.color("accent", 9)),
                rx.vstack(rx.text(AppState.t[text_key]), rx.text(AppState.t["common.soon"], color_scheme="gray")),
                spacing="4",
                align="center",
            ),
            width="100%",
        ),
        spacing="4",
        width="100%",
    )
