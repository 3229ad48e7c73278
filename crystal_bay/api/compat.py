"""Aliases for the routes the original system (azrailbeat/crystalbay, `lead_import_api.py`) gave external
parties. The v1 routes are the stable contract; these translate the old request bodies onto it:

- `POST /api/leads/import/api` — partner API. The old body (flat, or nested customer / inquiry /
  source_info) → POST /api/v1/leads. Unlike the original, which never checked `X-API-Key`, a real
  API key with `leads:write` is now required. `source_info.reference_id` becomes the external_id.
- `POST /api/leads/import/widget` — the old website widget's JSON (name, email, phone, message,
  widget_id, page_url, utm_*). It had no key, so it is open like the widget, only while the widget
  is enabled (WIDGET_PUBLIC_KEYS set), with the same per-client rate limit.

Unknown fields are ignored here as they were in the original (the v1 routes refuse them). Not aliased:
`/api/leads/import/email`, `/bulk`, `/status` (internal, no external caller on record) and
`/webhook/email` (it could not parse SendGrid's multipart posts; use /api/webhooks/sendgrid/inbound).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from crystal_bay.api.deps import Caller, body_doc, json_body, require_scope
from crystal_bay.api.errors import ApiError, validation_error
from crystal_bay.api.widget import ACTOR as WIDGET_ACTOR
from crystal_bay.api.widget import MAX_WIDGET_BODY, widget_client_limit, widget_enabled
from crystal_bay.db import session_scope
from crystal_bay.services import intake
from crystal_bay.services.intake_schemas import LeadIn

router = APIRouter(prefix="/api/leads/import", tags=["compatibility"])


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, str_strip_whitespace=True)


class LegacyCustomer(_Lenient):
    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)


class LegacyInquiry(_Lenient):
    type: str | None = Field(None, max_length=100)
    message: str | None = Field(None, max_length=5000)
    destination: str | None = Field(None, max_length=100)
    budget: Decimal | None = None
    travel_date: dt.date | None = None


class LegacySourceInfo(_Lenient):
    partner_name: str | None = Field(None, max_length=200)
    reference_id: str | None = Field(None, max_length=100)


class LegacyApiLead(LegacyCustomer, LegacyInquiry):
    """The original partner body: flat fields, or the nested customer / inquiry / source_info objects."""

    customer: LegacyCustomer | None = None
    inquiry: LegacyInquiry | None = None
    source_info: LegacySourceInfo | None = None


class LegacyWidgetLead(_Lenient):
    name: str = Field(max_length=200)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    message: str | None = Field(None, max_length=2000)
    widget_id: str | None = Field(None, max_length=100)
    page_url: str | None = Field(None, max_length=500)
    utm_source: str | None = Field(None, max_length=200)
    utm_medium: str | None = Field(None, max_length=200)
    utm_campaign: str | None = Field(None, max_length=200)


def _lead_in(values: dict[str, Any]) -> LeadIn:
    try:
        return LeadIn.model_validate({k: v for k, v in values.items() if v not in (None, "")})
    except ValidationError as exc:
        raise validation_error(exc.errors(include_input=False)) from None


def legacy_api_to_lead(body: LegacyApiLead) -> LeadIn:
    """The old partner body as a v1 lead."""
    customer = body.customer or body
    inquiry = body.inquiry or body
    source = body.source_info or LegacySourceInfo()
    return _lead_in({
        "name": customer.name, "email": customer.email, "phone": customer.phone, "source": "api",
        "message": inquiry.message, "destination": inquiry.destination, "budget": inquiry.budget,
        "date_from": inquiry.travel_date, "tags": [inquiry.type[:50]] if inquiry.type else None,
        "external_id": source.reference_id, "utm_source": source.partner_name,
    })


def legacy_widget_to_lead(body: LegacyWidgetLead) -> tuple[LeadIn, str]:
    """The old widget body as a v1 website lead, and the message for the timeline."""
    data = _lead_in({"name": body.name, "email": body.email, "phone": body.phone, "message": body.message,
                     "source": "website", "utm_source": body.utm_source, "utm_medium": body.utm_medium,
                     "utm_campaign": body.utm_campaign, "utm_content": body.widget_id})
    text = body.message or "Заявка с сайта"
    return data, f"{text}\n\nСтраница: {body.page_url}" if body.page_url else text


@router.post("/api", status_code=201, summary="Alias: the original partner API", openapi_extra=body_doc(LegacyApiLead))
def legacy_api(
    caller: Annotated[Caller, Depends(require_scope("leads:write"))],
    body: Annotated[LegacyApiLead, Depends(json_body(LegacyApiLead))],
) -> JSONResponse:
    """Same as POST /api/v1/leads, with the original body and answer shape (`success`, `lead_id`)."""
    data = legacy_api_to_lead(body)
    with session_scope() as session:
        result = intake.submit_lead(session=session, data=data, api_key_id=caller.key_id, actor=caller.actor)
    return JSONResponse({"success": True, "message": "Lead created from API successfully", **result.public()},
                        status_code=201)


def _widget_submit(data: LeadIn, text: str) -> None:
    inquiry = intake.Inquiry(data=data, channel="website", body=text, request_hash=intake.request_hash(data))
    with session_scope() as session:
        intake.process(session=session, inquiries=[inquiry], actor=WIDGET_ACTOR)


@router.post("/widget", status_code=201, summary="Alias: the original website widget",
             dependencies=[Depends(widget_client_limit)], openapi_extra=body_doc(LegacyWidgetLead))
async def legacy_widget(
    body: Annotated[LegacyWidgetLead, Depends(json_body(LegacyWidgetLead, MAX_WIDGET_BODY))],
) -> JSONResponse:
    """The original widget's post; open only while the website widget is enabled."""
    if not widget_enabled():
        raise ApiError(404, "not_found", "The website widget is not enabled.")
    data, text = legacy_widget_to_lead(body)
    await run_in_threadpool(_widget_submit, data, text)
    return JSONResponse({"success": True, "message": "Lead created from widget successfully"}, status_code=201)
