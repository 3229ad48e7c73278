"""The conversation's states (strings, so the persisted state reads plainly in the database)."""

from __future__ import annotations

MENU = "menu"
DEPARTURE = "departure"
COUNTRY = "country"
DATES = "dates"
NIGHTS = "nights"
ADULTS = "adults"
CHILDREN = "children"
CHILD_AGE = "child_age"
BUDGET = "budget"
SUMMARY = "summary"
EDIT = "edit"
RESULTS = "results"
BOOK_NAME = "book_name"
BOOK_PHONE = "book_phone"
BOOK_COMMENT = "book_comment"
BOOK_CONFIRM = "book_confirm"

# The guided search, in the order it asks; each step fills the draft field of the same name.
WIZARD = (DEPARTURE, COUNTRY, DATES, NIGHTS, ADULTS, CHILDREN, BUDGET)
BOOKING = (BOOK_NAME, BOOK_PHONE, BOOK_COMMENT, BOOK_CONFIRM)
CONVERSATION = "main"  # the ConversationHandler's persistent name
