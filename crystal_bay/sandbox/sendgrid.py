"""A local fake of SendGrid's v3 API: POST /v3/mail/send and GET /v3/scopes.

Speaks the wire format in /work/shared/protocols/sendgrid.md (§2, §6): bearer auth (keys starting
with "SG." are accepted; any other key gets 401, no header "authorization required"), errors as
`{"errors": [{"message", "field", "help"}]}`, mail validated like SendGrid (a personalization with
`to`, unique recipients, at most 1000 personalizations and recipients, `from.email`, a subject,
non-empty `content` or a `template_id`), success 202 with an empty body and an `X-Message-Id`
header; `mail_settings.sandbox_mode.enable` validates only and answers 200 (as the notes say,
unconfirmed). GET /v3/scopes answers `{"scopes": app.state.scopes}`.

Failures on demand: header `x-sandbox-fault` (or `app.state.fault`) = rate_limit (429 with
X-RateLimit-* headers and Retry-After), server_error (500), unavailable (503), slow-<s>.
`app.state.messages` records accepted mails ({"message_id", "body"}), `app.state.requests` every request.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections import deque

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

DEFAULT_SCOPES = ("mail.send", "alerts.read", "stats.read", "user.profile.read")
MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
RATE_LIMIT = 600
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def error_response(status: int, *errors: tuple[str, str | None], headers: dict | None = None) -> JSONResponse:
    """SendGrid's error body: {"errors": [{"message", "field", "help"}]}."""
    body = {"errors": [{"message": m, "field": f, "help": None} for m, f in errors]}
    return JSONResponse(body, status_code=status, headers=headers)


def _address_errors(value, where: str) -> list[tuple[str, str | None]]:
    if not isinstance(value, dict) or not isinstance(value.get("email"), str) or not _EMAIL.match(value["email"]):
        return [("Does not contain a valid address.", f"{where}.email")]
    return []


def validate_mail(body: object) -> list[tuple[str, str | None]]:
    """(message, field) for everything SendGrid would refuse in a /v3/mail/send body; [] when it is valid."""
    if not isinstance(body, dict):
        return [("Bad Request", None)]
    errors: list[tuple[str, str | None]] = []
    people = body.get("personalizations")
    if not isinstance(people, list) or not people:
        errors.append(("The personalizations field is required and must have at least one personalization.",
                       "personalizations"))
        people = []
    elif len(people) > MAX_PERSONALIZATIONS:
        errors.append((f"The personalizations field is limited to {MAX_PERSONALIZATIONS} personalizations.",
                       "personalizations"))
    recipients = 0
    for i, person in enumerate(people):
        person = person if isinstance(person, dict) else {}
        to = person.get("to")
        if not isinstance(to, list) or not to:
            errors.append(("The to array is required for all personalization objects, and must have at least one "
                           "email object with a valid email address.", f"personalizations.{i}.to"))
            to = []
        seen: set[str] = set()
        for kind in ("to", "cc", "bcc"):
            group = person.get(kind) or []
            for j, address in enumerate(group if isinstance(group, list) else []):
                errors += _address_errors(address, f"personalizations.{i}.{kind}.{j}")
                email = str(address.get("email", "")).lower() if isinstance(address, dict) else ""
                if email and email in seen:
                    errors.append(("Each email address in the personalization block should be unique between to, cc, "
                                   f"and bcc. We found the first duplicate instance of [{email}] in the "
                                   f"personalizations.{i}.{kind} field.", f"personalizations.{i}"))
                seen.add(email)
                recipients += 1
    if recipients > MAX_RECIPIENTS:
        errors.append((f"The total number of recipients must be less than {MAX_RECIPIENTS}.", "personalizations"))
    errors += _address_errors(body.get("from"), "from")
    template = body.get("template_id")
    content = body.get("content")
    if not template:
        if not isinstance(content, list) or not content:
            errors.append(("Unless a valid template_id is provided, the content parameter is required. There must "
                           "be at least one defined content block.", "content"))
        else:
            for k, block in enumerate(content):
                if not isinstance(block, dict) or not block.get("value"):
                    errors.append(("The content value must be a string at least one character in length.",
                                   f"content.{k}.value"))
        has_subject = bool(body.get("subject")) or all(isinstance(p, dict) and p.get("subject") for p in people)
        if not has_subject:
            errors.append(("The subject is required. You can get around this requirement if you use a template with "
                           "a subject defined or if every personalization has a subject defined.", "subject"))
    return errors


def _fault(app: FastAPI, request: Request) -> str:
    return request.headers.get("x-sandbox-fault", "") or str(getattr(app.state, "fault", "") or "")


def create_app() -> FastAPI:
    """A fresh sandbox (its own mail log, scopes and fault switch)."""
    app = FastAPI(title="SendGrid sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.requests = deque(maxlen=200)
    app.state.messages = []
    app.state.scopes = list(DEFAULT_SCOPES)
    app.state.fault = ""

    @app.middleware("http")
    async def auth_and_faults(request: Request, call_next):
        app.state.requests.append({"method": request.method, "path": request.url.path,
                                   "authorization": request.headers.get("authorization", "")})
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return error_response(401, ("authorization required", None))
        if not key.strip().startswith("SG."):
            return error_response(401, ("The provided authorization grant is invalid, expired, or revoked", None))
        fault = _fault(app, request)
        if fault == "rate_limit":
            reset = int(time.time()) + 1
            return error_response(429, ("too many requests", None), headers={
                "X-RateLimit-Limit": str(RATE_LIMIT), "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset),
                "Retry-After": "1"})
        if fault == "server_error":
            return error_response(500, ("internal server error", None))
        if fault == "unavailable":
            return error_response(503, ("service unavailable", None))
        if fault.startswith("slow"):
            await asyncio.sleep(float(fault.split("-", 1)[1]) if "-" in fault else 2.0)
        return await call_next(request)

    @app.get("/v3/scopes")
    async def scopes() -> dict:
        return {"scopes": list(app.state.scopes)}

    @app.post("/v3/mail/send")
    async def mail_send(request: Request) -> Response:
        if "mail.send" not in app.state.scopes:
            return error_response(403, ("access forbidden", None))
        try:
            body = await request.json()
        except ValueError:
            return error_response(400, ("Bad Request", None))
        errors = validate_mail(body)
        if errors:
            return error_response(400, *errors)
        if ((body.get("mail_settings") or {}).get("sandbox_mode") or {}).get("enable") is True:
            return Response(status_code=200)
        message_id = secrets.token_urlsafe(16)
        app.state.messages.append({"message_id": message_id, "body": body})
        return Response(status_code=202, headers={"X-Message-Id": message_id})

    return app


app = create_app()
