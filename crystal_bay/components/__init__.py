"""Reusable UI pieces: the layout shell and small building blocks."""
