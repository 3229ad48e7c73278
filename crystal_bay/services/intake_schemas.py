"""What lead intake accepts and answers: strict pydantic models shared by the API, the import,
the website widget and the e-mail inbound parse.

Every model forbids unknown fields and refuses wrong types (no "5" for 5). Text is trimmed, a
blank string counts as "not given", and NUL characters are refused (PostgreSQL cannot store them).
Phones come out in E.164 (default region KZ), e-mails lower-cased, Telegram usernames without "@".
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from crystal_bay.models import Channel
from crystal_bay.services import customers
from crystal_bay.services.errors import ValidationFailed

CHANNEL_VALUES = tuple(c.value for c in Channel)
ChannelName = Literal["telegram", "whatsapp", "email", "website", "api", "phone", "walk_in"]
CURRENCIES = ("USD", "KZT", "RUB", "EUR")
MEALS = ("RO", "BB", "HB", "FB", "AI", "UAI")
MAX_MESSAGE = 5000
MAX_TAGS = 20
MAX_DB_INT = 2_147_483_647  # PostgreSQL `integer`
TELEGRAM_USERNAME = re.compile(r"[A-Za-z0-9_]{5,32}")
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
TRAVEL_FIELDS = (
    "departure_city", "country", "resort", "date_from", "date_to", "nights_min", "nights_max", "adults",
    "children", "children_ages", "budget", "currency", "hotel_stars", "meal",
)


def _no_nul(value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise PydanticCustomError("invalid_characters", "Text must not contain NUL characters.")
    return value


def _blank_is_none(value: str | None) -> str | None:
    return None if value is not None and not value else value


def _text(max_length: int):
    """A trimmed string of at most max_length characters; "" becomes None."""
    return Annotated[str | None, Field(default=None, max_length=max_length), AfterValidator(_no_nul),
                     AfterValidator(_blank_is_none)]


def _code(allowed: tuple[str, ...], name: str):
    def check(value: str | None) -> str | None:
        if value is None:
            return None
        if value.upper() not in allowed:
            raise PydanticCustomError(f"invalid_{name}", f"Use one of {', '.join(allowed)}.")
        return value.upper()

    return Annotated[str | None, Field(default=None, max_length=10), AfterValidator(_blank_is_none),
                     AfterValidator(check)]


_PLAIN_PHONE = re.compile(r"^\+?[\d\s().-]{10,24}$")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = re.compile(rf"^{_ATEXT}(\.{_ATEXT})*$")


def fast_kz_phone(value: str) -> str | None:
    """E.164 for the common spellings of Kazakh numbers (8 701 …, +7 (701) …, 7701…, 701…) and any +7 number,
    without a full parse; None otherwise (then `customers.normalize_phone` decides). Same answers, ~10x faster
    (tests/intake/test_fast_normalisation.py compares the two)."""
    if not _PLAIN_PHONE.match(value):
        return None
    digits = re.sub(r"\D", "", value)
    if value.startswith("+"):
        national = digits[1:] if len(digits) == 11 and digits[0] == "7" else ""
    elif len(digits) == 11 and digits[0] in "78":
        national = digits[1:]
    else:
        national = digits if len(digits) == 10 else ""
    if not national or national[0] == "0" or (not value.startswith("+") and national[0] != "7"):
        return None  # without "+7", only Kazakh 7xx numbers: other ranges depend on the KZ metadata
    number = phonenumbers.PhoneNumber(country_code=7, national_number=int(national))
    return f"+7{national}" if phonenumbers.is_valid_number(number) else None


@functools.lru_cache(maxsize=4096)
def _domain(domain: str) -> str | None:
    """The normalised domain if an address there can be valid (cached: imports repeat a few domains)."""
    try:
        return customers.normalize_email(f"a@{domain}").split("@", 1)[1]
    except ValidationFailed:
        return None


def fast_email(value: str) -> str | None:
    """The lower-cased address for a plain ASCII local part (dot-atom) at a valid domain, else None (then
    `customers.normalize_email` decides). Same answers; the domain check is cached."""
    local, at, domain = value.rpartition("@")
    if not at or len(value) > 254 or len(local) > 64 or not _DOT_ATOM.match(local):
        return None
    normalised = _domain(domain.lower())
    return f"{local}@{normalised}".lower() if normalised else None


def _phone(value: str | None) -> str | None:
    if value is None:
        return None
    fast = fast_kz_phone(value)
    if fast:
        return fast
    try:
        return customers.normalize_phone(value)
    except ValidationFailed as exc:
        raise PydanticCustomError("invalid_phone", "Not a valid phone number.") from exc


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    fast = fast_email(value)
    if fast:
        return fast
    try:
        return customers.normalize_email(value)
    except ValidationFailed as exc:
        raise PydanticCustomError("invalid_email", "Not a valid e-mail address.") from exc


def _telegram(value: str | None) -> str | None:
    if value is None:
        return None
    username = value.removeprefix("@")
    if not TELEGRAM_USERNAME.fullmatch(username):
        raise PydanticCustomError("invalid_telegram", "A Telegram username has 5–32 letters, digits or underscores.")
    return username


def _tag(value: str) -> str:
    value = " ".join(value.split())
    if not 1 <= len(value) <= 50 or "\x00" in value:
        raise PydanticCustomError("invalid_tag", "A tag has 1–50 characters.")
    return value


def _budget(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"))


Text100, Text200, Text500 = _text(100), _text(200), _text(500)
Phone = Annotated[str | None, Field(default=None, max_length=40), AfterValidator(_no_nul),
                  AfterValidator(_blank_is_none), AfterValidator(_phone)]
Email = Annotated[str | None, Field(default=None, max_length=254), AfterValidator(_no_nul),
                  AfterValidator(_blank_is_none), AfterValidator(_email)]
Telegram = Annotated[str | None, Field(default=None, max_length=64), AfterValidator(_blank_is_none),
                     AfterValidator(_telegram)]
Tag = Annotated[str, Field(max_length=200), AfterValidator(_tag)]
Age = Annotated[int, Field(ge=0, le=17)]


class Strict(BaseModel):
    """Unknown fields are refused, types are not coerced, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class TravelFields(Strict):
    """What the customer wants to buy. Dates are ISO (YYYY-MM-DD); budget is a number or a decimal string."""

    departure_city: Text100 = None
    country: Text100 = None
    resort: Text100 = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    nights_min: int | None = Field(None, ge=1, le=60)
    nights_max: int | None = Field(None, ge=1, le=60)
    adults: int | None = Field(None, ge=0, le=20)
    children: int | None = Field(None, ge=0, le=10)
    children_ages: list[Age] | None = Field(None, max_length=10)
    budget: Annotated[Decimal | None, AfterValidator(_budget)] = Field(None, ge=0, lt=10**12)
    currency: _code(CURRENCIES, "currency") = None
    hotel_stars: int | None = Field(None, ge=1, le=5)
    meal: _code(MEALS, "meal") = None

    @model_validator(mode="after")
    def _consistent(self):
        """The rules between fields (the same as the lead card's)."""
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise PydanticCustomError("invalid_dates", "The return date is before the departure date.",
                                      {"field": "date_to"})
        if self.nights_min is not None and self.nights_max is not None and self.nights_min > self.nights_max:
            raise PydanticCustomError("invalid_nights", "Minimum nights exceed maximum nights.", {"field": "nights_max"})
        if self.children_ages and self.children is None and "children" not in self.model_fields_set:
            self.children = len(self.children_ages)
        if self.children_ages and len(self.children_ages) != (self.children or 0):
            raise PydanticCustomError("invalid_children_ages", "Give one age per child.", {"field": "children_ages"})
        return self

    def travel_values(self) -> dict[str, Any]:
        """The travel request fields that were given (None means "not given" here)."""
        values = {name: getattr(self, name) for name in TRAVEL_FIELDS}
        return {k: v for k, v in values.items() if v is not None and v != []}


class LeadIn(TravelFields):
    """A new inquiry. At least one contact (phone, email or telegram) is required."""

    name: Text200 = None
    phone: Phone = None
    email: Email = None
    telegram: Telegram = None
    message: _text(MAX_MESSAGE) = None
    source: ChannelName = "api"
    external_id: Annotated[str | None, Field(default=None, max_length=100, pattern=r"^[\x21-\x7e]+$")] = None
    destination: Text100 = Field(None, description="Where to; stored as the country when country is not given.")
    utm_source: Text200 = None
    utm_medium: Text200 = None
    utm_campaign: Text200 = None
    utm_term: Text200 = None
    utm_content: Text200 = None
    tags: list[Tag] | None = Field(None, max_length=MAX_TAGS)

    @model_validator(mode="after")
    def _contact_required(self):
        if not (self.phone or self.email or self.telegram):
            raise PydanticCustomError("contact_required", "Give a phone, an e-mail or a Telegram username.",
                                      {"field": "phone"})
        if self.destination and not self.country:
            self.country = self.destination
        return self

    def utm(self) -> dict[str, str]:
        return {name.removeprefix("utm_"): getattr(self, name) for name in UTM_FIELDS if getattr(self, name)}

    def display_name(self) -> str:
        """The name, else the best contact to call the customer by."""
        return self.name or self.phone or self.email or f"@{self.telegram}"


class LeadPatch(TravelFields):
    """Changes to a lead. A field left out stays as it is; null clears a travel field or the assignee."""

    stage: Annotated[str | None, Field(default=None, pattern=r"^[a-z0-9_-]{1,50}$")] = Field(
        None, description="A pipeline stage slug, e.g. consultation.")
    outcome: Literal["won"] | None = Field(None, description='Needed to move into a closing stage: "won".')
    assignee_id: int | None = Field(None, ge=1, le=MAX_DB_INT)
    tags: list[Tag] | None = Field(None, max_length=MAX_TAGS, description="The lead's full set of tags.")

    @model_validator(mode="after")
    def _something_to_change(self):
        if not self.model_fields_set:
            raise PydanticCustomError("empty_patch", "Nothing to change.")
        return self

    def travel_changes(self) -> dict[str, Any]:
        """Travel fields that were sent (with None meaning "clear")."""
        sent = set(self.model_fields_set)
        if "children_ages" in sent and self.children is not None:
            sent.add("children")  # filled from the ages
        return {name: getattr(self, name) for name in TRAVEL_FIELDS if name in sent}


class MessageIn(Strict):
    """A message to log on a lead's timeline (an e-mail, a call summary, a chat message ...)."""

    text: Annotated[str, Field(min_length=1, max_length=MAX_MESSAGE), AfterValidator(_no_nul)]
    direction: Literal["inbound", "outbound"] = "inbound"
    channel: ChannelName | None = Field(None, description="Defaults to the lead's source channel.")
    external_id: Annotated[str | None, Field(default=None, max_length=200, pattern=r"^[\x21-\x7e]+$")] = None
    sent_at: dt.datetime | None = Field(None, description="ISO 8601 with a time zone; defaults to now.")
    attachments: list[Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_no_nul)]] = Field(
        default_factory=list, max_length=20)

    @field_validator("sent_at")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.utcoffset() is None:
            raise PydanticCustomError("naive_datetime", "Give the time zone, e.g. 2026-11-25T10:00:00+05:00.")
        return value


class WidgetIn(Strict):
    """What the website widget posts. `website` is the honeypot: people leave it empty."""

    key: Annotated[str, Field(min_length=1, max_length=100)]
    name: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_nul)]
    phone: Phone = None
    email: Email = None
    message: _text(2000) = None
    website: Annotated[str, Field(max_length=500)] = ""
    page_url: Text500 = None
    utm_source: Text200 = None
    utm_medium: Text200 = None
    utm_campaign: Text200 = None
    utm_term: Text200 = None
    utm_content: Text200 = None

    @model_validator(mode="after")
    def _contact_required(self):
        if not (self.phone or self.email) and not self.website:
            raise PydanticCustomError("contact_required", "Give a phone or an e-mail.", {"field": "phone"})
        return self


# ---------- answers ----------


class LeadCreated(BaseModel):
    lead_id: int
    customer_id: int
    customer_existed: bool = Field(description="The inquiry matched a known customer (phone, e-mail or Telegram).")
    lead_created: bool = Field(description="False when the inquiry was added to the customer's open lead.")
    message_id: int | None = None


class CustomerPublic(BaseModel):
    id: int
    name: str
    phone: str | None
    phones: list[str]
    email: str | None
    telegram: str | None


class LeadPublic(BaseModel):
    id: int
    customer: CustomerPublic
    source: str
    stage: str
    stage_name: str
    status: str
    outcome: str | None
    lost_reason: str | None
    assignee_id: int | None
    tags: list[str]
    external_id: str | None
    utm: dict[str, Any]
    departure_city: str | None
    country: str | None
    resort: str | None
    date_from: dt.date | None
    date_to: dt.date | None
    nights_min: int | None
    nights_max: int | None
    adults: int | None
    children: int | None
    children_ages: list[int]
    budget: Decimal | None
    currency: str | None
    hotel_stars: int | None
    meal: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class MessagePublic(BaseModel):
    id: int
    lead_id: int
    channel: str
    direction: str
    author_type: str
    body: str
    external_id: str | None
    attachments: list[dict[str, Any]]
    created_at: dt.datetime


class LeadDetailPublic(LeadPublic):
    messages: list[MessagePublic] = Field(description="The latest 100 messages, oldest first.")


class LeadPage(BaseModel):
    items: list[LeadPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
