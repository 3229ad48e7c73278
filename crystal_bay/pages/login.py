"""The login page: e-mail and password, language switch, no sign-up."""

from __future__ import annotations

import reflex as rx

from crystal_bay.components.shell import language_switch
from crystal_bay.state.auth import LoginState


def login_page() -> rx.Component:
    t = LoginState.t
    return rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.image(src="/logo.svg", width="40px", height="40px", alt="Crystal Bay"),
                    rx.vstack(
                        rx.heading("Crystal Bay Travel", size="5"),
                        rx.text(t["app.tagline"], size="1", color_scheme="gray"),
                        spacing="0",
                    ),
                    align="center",
                ),
                rx.heading(t["login.title"], size="6", padding_top="0.5em"),
                rx.cond(
                    LoginState.demo_mode,
                    rx.callout(t["demo.banner"], icon="flask-conical", color_scheme="amber", size="1",
                               data_testid="demo-banner"),
                ),
                rx.form(
                    rx.vstack(
                        rx.text(t["login.email"], as_="label", size="2", weight="medium"),
                        rx.input(name="email", type="email", placeholder="name@crystalbay.kz", required=True,
                                 width="100%", auto_complete="username"),
                        rx.text(t["login.password"], as_="label", size="2", weight="medium"),
                        rx.input(name="password", type="password", required=True, width="100%",
                                 auto_complete="current-password"),
                        rx.cond(
                            LoginState.error != "",
                            rx.callout(LoginState.error, icon="triangle-alert", color_scheme="red", size="1",
                                       width="100%", data_testid="login-error"),
                        ),
                        rx.button(t["login.submit"], type="submit", width="100%", size="3", data_testid="login-submit"),
                        spacing="2",
                        width="100%",
                    ),
                    on_submit=LoginState.login,
                    reset_on_submit=False,
                    width="100%",
                ),
                rx.text(t["login.no_registration"], size="1", color_scheme="gray"),
                rx.hstack(rx.spacer(), language_switch(), width="100%"),
                spacing="3",
                width="100%",
            ),
            width="24em",
            max_width="92vw",
            size="4",
        ),
        height="100vh",
        background=rx.color("accent", 2),
    )
