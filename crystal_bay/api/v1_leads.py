"""/api/v1/leads: the stable lead API for external systems (see docs/api.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from crystal_bay.api.deps import Caller, body_doc, idempotency_key, json_body, require_scope
from crystal_bay.api.errors import ApiError
from crystal_bay.db import session_scope
from crystal_bay.services import intake
from crystal_bay.services.intake_schemas import (
    LeadCreated,
    LeadDetailPublic,
    LeadIn,
    LeadPage,
    LeadPatch,
    MessageIn,
    MessagePublic,
)

router = APIRouter(prefix="/api/v1", tags=["leads"])

LeadId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The lead's id.")]
Status = Literal["new", "in_progress", "pending", "confirmed", "closed"]
Source = Literal["telegram", "whatsapp", "email", "website", "api", "phone", "walk_in"]
ERRORS = {code: {"description": text} for code, text in (
    (400, "Malformed JSON or header"), (401, "No or unknown API key"), (403, "The key lacks the scope"),
    (404, "Unknown lead"), (409, "Pipeline refusal or concurrent change"), (413, "Body over the limit"),
    (415, "Not application/json"), (422, "Invalid fields (each one listed)"), (429, "Rate limit; see Retry-After"))}


def created_response(result: intake.IntakeResult) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return JSONResponse(result.public(), status_code=201, headers=headers)


@router.post("/leads", status_code=201, response_model=LeadCreated, responses=ERRORS, summary="Submit a lead",
             openapi_extra=body_doc(LeadIn))
async def create_lead(
    caller: Annotated[Caller, Depends(require_scope("leads:write"))],
    data: Annotated[LeadIn, Depends(json_body(LeadIn))],
    key: Annotated[str | None, Depends(idempotency_key)],
) -> JSONResponse:
    """A new inquiry: a lead for a new customer, or added to the known customer's open lead.
    The same `external_id` (per source) or `Idempotency-Key` returns the first answer and writes nothing."""
    result = await intake.submit_lead_grouped(data=data, api_key_id=caller.key_id, idempotency_key=key,
                                              actor=caller.actor)
    return created_response(result)


def _since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(422, "invalid_datetime", "updated_since must be ISO 8601, e.g. 2026-11-25T10:00:00Z.",
                       field="updated_since") from None
    return parsed if parsed.utcoffset() is not None else parsed.replace(tzinfo=dt.UTC)


def _assignee(value: str | None) -> str | None:
    if value is None or value == "none" or (value.isdigit() and 1 <= int(value) <= 2_147_483_647):
        return value
    raise ApiError(422, "invalid_assignee", 'assignee is a user id or "none".', field="assignee")


@router.get("/leads", response_model=LeadPage, responses=ERRORS, summary="List leads")
def list_leads(
    caller: Annotated[Caller, Depends(require_scope("leads:read"))],
    stage: Annotated[str | None, Query(pattern=r"^[a-z0-9_-]{1,50}$", description="Stage slug")] = None,
    status: Annotated[Status | None, Query()] = None,
    assignee: Annotated[str | None, Query(max_length=12, description='A user id, or "none"')] = None,
    source: Annotated[Source | None, Query()] = None,
    updated_since: Annotated[str | None, Query(max_length=40, description="ISO 8601; no zone means UTC")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> LeadPage:
    """Leads in the order they last changed (oldest first), `limit` at a time; follow `next_cursor`."""
    filters = intake.LeadFilter(stage=stage, status=status, assignee=_assignee(assignee), source=source,
                                updated_since=_since(updated_since))
    with session_scope() as session:
        items, next_cursor = intake.list_leads(session=session, filters=filters, cursor=cursor, limit=limit)
    return LeadPage(items=items, next_cursor=next_cursor)


@router.get("/leads/{lead_id}", response_model=LeadDetailPublic, responses=ERRORS, summary="Get a lead")
def get_lead(caller: Annotated[Caller, Depends(require_scope("leads:read"))], lead_id: LeadId) -> LeadDetailPublic:
    """One lead with its customer, tags and latest messages."""
    with session_scope() as session:
        return intake.get_lead(session=session, lead_id=lead_id)


@router.patch("/leads/{lead_id}", response_model=LeadDetailPublic, responses=ERRORS, summary="Change a lead",
              openapi_extra=body_doc(LeadPatch))
def patch_lead(
    caller: Annotated[Caller, Depends(require_scope("leads:write"))],
    lead_id: LeadId,
    data: Annotated[LeadPatch, Depends(json_body(LeadPatch))],
) -> LeadDetailPublic:
    """Stage (with `"outcome": "won"` for a closing stage), assignee, the full set of tags, travel fields.
    All or nothing: on any error nothing changes."""
    with session_scope() as session:
        return intake.patch_lead(session=session, lead_id=lead_id, data=data, actor=caller.actor)


@router.post("/leads/{lead_id}/messages", status_code=201, response_model=MessagePublic, responses=ERRORS,
             summary="Log a message", openapi_extra=body_doc(MessageIn))
def log_message(
    caller: Annotated[Caller, Depends(require_scope("leads:write"))],
    lead_id: LeadId,
    data: Annotated[MessageIn, Depends(json_body(MessageIn))],
) -> JSONResponse:
    """An inbound or outbound message on the lead's timeline. The same (channel, external_id) is logged once:
    a repeat answers 200 with the first message."""
    with session_scope() as session:
        message, created = intake.log_message(session=session, lead_id=lead_id, data=data, actor=caller.actor)
        body = MessagePublic.model_validate(message, from_attributes=True).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if created else 200)
