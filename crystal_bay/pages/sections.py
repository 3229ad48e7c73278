"""Inbox and analytics: placeholders inside the shell until their issues land (bookings: pages/bookings.py)."""

from __future__ import annotations

import reflex as rx

from crystal_bay.components.shell import placeholder, shell


def inbox_page() -> rx.Component:
    return shell(lambda: placeholder("inbox.title", "inbox.text", "inbox"))


def analytics_page() -> rx.Component:
    return shell(lambda: placeholder("analytics.title", "analytics.text", "chart-column"))
