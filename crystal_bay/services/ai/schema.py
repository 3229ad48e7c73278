"""The typed results of the AI engine (re-exported by `crystal_bay.services.ai`)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Intent = Literal["tour_search", "booking", "question", "human_request", "complaint", "greeting", "other"]
Currency = Literal["USD", "KZT", "RUB", "EUR"]
Meal = Literal["RO", "BB", "HB", "FB", "AI", "UAI"]
EngineName = Literal["openai", "rules"]

INTENTS: tuple[str, ...] = Intent.__args__  # type: ignore[attr-defined]
TRAVEL_KEYS = ("departure_city", "country", "resort", "date_from", "date_to", "nights_min", "nights_max",
               "adults", "children", "children_ages", "budget", "currency", "hotel_stars", "meal")


class InquiryExtraction(BaseModel):
    """What a customer's message says about the trip they want. Unknown → null, never a guess.

    This is the structured-output schema sent to OpenAI (its name is the schema name); the rules
    engine fills the same fields.
    """

    model_config = ConfigDict(extra="forbid")

    intent: Intent = Field("other", description="What the customer wants from this message.")
    departure_city: str | None = Field(None, description="City the customer flies from, e.g. Алматы.")
    country: str | None = Field(None, description="Destination country, canonical Russian name, e.g. Вьетнам.")
    resort: str | None = Field(None, description="Destination resort or city, canonical Russian name, e.g. Нячанг.")
    date_from: dt.date | None = Field(None, description="Earliest departure date (ISO).")
    date_to: dt.date | None = Field(None, description="Latest date of the trip window or return date (ISO).")
    nights_min: int | None = Field(None, description="Fewest nights wanted.")
    nights_max: int | None = Field(None, description="Most nights wanted.")
    adults: int | None = Field(None, description="Number of adults travelling.")
    children: int | None = Field(None, description="Number of children travelling.")
    children_ages: list[int] = Field(default_factory=list, description="Each child's age in years, if stated.")
    budget: int | None = Field(None, description="Total budget as a whole amount in `currency`.")
    currency: Currency | None = Field(None, description="ISO currency of the budget, only if stated.")
    hotel_stars: int | None = Field(None, description="Minimum hotel category, 1-5.")
    meal: Meal | None = Field(None, description="Meal plan code.")
    name: str | None = Field(None, description="The customer's name, if they give it.")
    phone: str | None = Field(None, description="Phone number in E.164, e.g. +77011234567.")
    email: str | None = Field(None, description="E-mail address.")
    language: str | None = Field(None, description="Language of the message: ru or en.")
    confidence: float = Field(0.0, ge=0, le=1, description="How sure the reading is, 0..1.")


class Extraction(InquiryExtraction):
    """An extraction plus the engine that produced it (`openai` or `rules`)."""

    engine: EngineName = "rules"

    def travel_fields(self) -> dict:
        """The travel request part (the lead's TravelRequest field names), unknown ones left out."""
        data = {key: getattr(self, key) for key in TRAVEL_KEYS}
        return {k: v for k, v in data.items() if v is not None and v != []}


class AIText(BaseModel):
    """A text the engine wrote (a reply draft, a translation...) and which engine wrote it."""

    text: str
    engine: EngineName
    language: str = "ru"
