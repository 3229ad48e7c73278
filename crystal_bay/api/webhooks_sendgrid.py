"""POST /api/webhooks/sendgrid/inbound: SendGrid Inbound Parse (multipart form) → a lead.

Protected by SENDGRID_INBOUND_SECRET, given either in the URL (`?secret=...`) or as the password of
HTTP basic auth (`https://parse:<secret>@host/api/webhooks/sendgrid/inbound`; any user name).
Unconfigured → 503 (SendGrid keeps retrying for three days, so no mail is lost while you set it
up); wrong secret → 401. A repeated Message-ID answers 200 and writes nothing.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from crystal_bay.api.deps import media_type, read_body
from crystal_bay.api.errors import ApiError
from crystal_bay.db import session_scope
from crystal_bay.services import email_inbound
from crystal_bay.services.audit import Actor
from crystal_bay.settings import get_settings

router = APIRouter(tags=["webhooks"])

MAX_INBOUND_BYTES = 35 * 1024 * 1024  # SendGrid posts mails up to 30 MB
ACTOR = Actor.system("sendgrid-inbound")


def _basic_password(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return decoded.partition(":")[2] or None


def check_secret(request: Request, given: str | None) -> None:
    """503 when no secret is configured, 401 unless the URL secret or the basic-auth password matches."""
    configured = get_settings().sendgrid_inbound_secret
    expected = configured.get_secret_value() if configured else ""
    if not expected:
        raise ApiError(503, "not_configured", "SENDGRID_INBOUND_SECRET is not set.", headers={"Retry-After": "3600"})
    offered = given or _basic_password(request) or ""
    if not hmac.compare_digest(offered.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "Wrong or missing inbound secret.",
                       headers={"WWW-Authenticate": 'Basic realm="sendgrid-inbound"'})


async def _form(request: Request, body: bytes):
    async def replay() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        return await Request(request.scope, replay).form(max_files=100, max_fields=1000,
                                                         max_part_size=MAX_INBOUND_BYTES)
    except Exception as exc:  # noqa: BLE001 - python-multipart's parse errors
        raise ApiError(400, "malformed_form", f"Cannot read the form: {exc}") from None


def _text(form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def inbound_email(form) -> email_inbound.InboundEmail:
    """The fields we use from SendGrid's parsed-mail form."""
    files = [{"name": v.filename or "", "type": v.content_type or ""} for _, v in form.multi_items()
             if isinstance(v, UploadFile)]
    return email_inbound.InboundEmail(
        sender=_text(form, "from"), to=_text(form, "to"), subject=_text(form, "subject"), text=_text(form, "text"),
        html=_text(form, "html"), headers=_text(form, "headers"), attachment_info=_text(form, "attachment-info"),
        attachment_names=files)


def _receive(mail: email_inbound.InboundEmail) -> dict:
    with session_scope() as session:
        result = email_inbound.receive(session=session, mail=mail, actor=ACTOR)
    return {"status": "duplicate" if result.replayed else "processed", **result.public()}


@router.post("/api/webhooks/sendgrid/inbound", summary="SendGrid Inbound Parse")
async def sendgrid_inbound(
    request: Request,
    secret: Annotated[str | None, Query(max_length=200, description="SENDGRID_INBOUND_SECRET (or basic auth)")] = None,
) -> dict:
    """Create or attach a lead from an inbound e-mail (sender, subject, new text; attachment names kept)."""
    check_secret(request, secret)
    if media_type(request) not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise ApiError(415, "unsupported_media_type", "SendGrid posts multipart/form-data.")
    form = await _form(request, await read_body(request, MAX_INBOUND_BYTES))
    try:
        mail = inbound_email(form)
    finally:
        await form.close()
    return await run_in_threadpool(_receive, mail)
