"""POST /api/webhooks/sendgrid/inbound: SendGrid Inbound Parse (multipart form) → a lead.

Protected by the inbound secret of the SendGrid settings (SENDGRID_INBOUND_SECRET in the environment
wins, else the value saved in the settings panel), given either in the URL (`?secret=...`) or as the
password of HTTP basic auth (`https://parse:<secret>@host/api/webhooks/sendgrid/inbound`; any user
name). Unconfigured → 503 (SendGrid keeps retrying for three days, so no mail is lost while you set
it up); wrong secret → 401. A repeated Message-ID answers 200 and writes nothing.

The form is read as bytes (`read_form`), not through Starlette's form parser: Starlette decodes
every field as UTF-8 (Latin-1 when that fails), but SendGrid posts each field in the mail's own
charset and names it in the `charsets` field, so `email_inbound.from_parse_form` decodes them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from crystal_bay.api.deps import media_type, read_body
from crystal_bay.api.errors import ApiError
from crystal_bay.db import session_scope
from crystal_bay.services import email_inbound, integrations
from crystal_bay.services.audit import Actor

router = APIRouter(tags=["webhooks"])
log = logging.getLogger(__name__)

MAX_INBOUND_BYTES = 35 * 1024 * 1024  # SendGrid posts mails up to 30 MB
MAX_FIELDS = 1000
MAX_FILES = 100
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


def configured_secret() -> str:
    """The inbound secret through the settings loader (environment, else the encrypted panel value); '' if unset.
    Only this field is read: a wrong sending key or from-address must not stop inbound mail."""
    with session_scope() as session:
        value = integrations.effective_value(session=session, slug="sendgrid", field="inbound_secret")
    if value is None:
        return ""
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


async def check_secret(request: Request, given: str | None) -> None:
    """503 when no secret is configured, 401 unless the URL secret or the basic-auth password matches."""
    expected = await run_in_threadpool(configured_secret)
    if not expected:
        raise ApiError(503, "not_configured", "The SendGrid inbound secret is not set (SENDGRID_INBOUND_SECRET or "
                       "the settings panel).", headers={"Retry-After": "3600"})
    offered = given or _basic_password(request) or ""
    if not hmac.compare_digest(offered.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "Wrong or missing inbound secret.",
                       headers={"WWW-Authenticate": 'Basic realm="sendgrid-inbound"'})


class _MultipartReader:
    """python-multipart callbacks collecting each field's raw bytes and each file part's name and type."""

    def __init__(self) -> None:
        self.fields: dict[str, bytes] = {}
        self.files: list[tuple[bytes, str]] = []
        self._headers: dict[bytes, bytes] = {}
        self._header_name = self._header_value = b""
        self._data = bytearray()
        self._options: dict[bytes, bytes] = {}

    def callbacks(self) -> dict:
        return {"on_part_begin": self._begin, "on_part_data": self._part_data, "on_part_end": self._end,
                "on_header_field": self._header_field, "on_header_value": self._header_value_data,
                "on_header_end": self._header_end, "on_headers_finished": self._headers_finished}

    def _begin(self) -> None:
        self._headers, self._data, self._options = {}, bytearray(), {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        self._options = parse_options_header(self._headers.get(b"content-disposition", b"").decode("latin-1"))[1]

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if b"filename" not in self._options:  # file contents are not kept, only their names
            self._data += data[start:end]

    def _end(self) -> None:
        options = self._options
        if b"name" not in options:
            raise ApiError(400, "malformed_form", "A form part has no name.")
        if b"filename" in options:
            if len(self.files) >= MAX_FILES:
                raise ApiError(400, "malformed_form", f"More than {MAX_FILES} files.")
            kind = self._headers.get(b"content-type", b"").decode("latin-1").split(";", 1)[0].strip().lower()
            self.files.append((options[b"filename"], kind[:100]))
            return
        if len(self.fields) >= MAX_FIELDS:
            raise ApiError(400, "malformed_form", f"More than {MAX_FIELDS} fields.")
        self.fields[options[b"name"].decode("utf-8", errors="replace")] = bytes(self._data)


def read_form(body: bytes, content_type: str) -> tuple[dict[str, bytes], list[tuple[bytes, str]]]:
    """The form's fields as raw bytes (the charset is decided later, per field) and its file parts as
    (filename bytes, content type); file contents are dropped. 400 when the form cannot be read."""
    kind, params = parse_options_header(content_type)
    if kind == b"application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="latin-1",
                              max_num_fields=MAX_FIELDS)
        except ValueError as exc:
            raise ApiError(400, "malformed_form", f"Cannot read the form: {exc}") from None
        return {k.encode("latin-1").decode("utf-8", "replace"): v.encode("latin-1") for k, v in pairs}, []
    boundary = params.get(b"boundary")
    if not boundary:
        raise ApiError(400, "malformed_form", "The multipart body has no boundary.")
    reader = _MultipartReader()
    try:
        parser = MultipartParser(boundary, reader.callbacks())
        parser.write(body)
        parser.finalize()
    except (FormParserError, ValueError) as exc:
        raise ApiError(400, "malformed_form", f"Cannot read the form: {exc}") from None
    return reader.fields, reader.files


def _receive(mail: email_inbound.InboundEmail) -> dict:
    with session_scope() as session:
        result = email_inbound.receive(session=session, mail=mail, actor=ACTOR)
    return {"status": "duplicate" if result.replayed else "processed", **result.public()}


@router.post("/api/webhooks/sendgrid/inbound", summary="SendGrid Inbound Parse")
async def sendgrid_inbound(
    request: Request,
    secret: Annotated[str | None, Query(max_length=200, description="The inbound secret (or basic auth)")] = None,
) -> dict:
    """Create or attach a lead from an inbound e-mail (sender, subject, new text; attachment names kept).
    Fields are decoded with the charsets SendGrid names; the raw-MIME mode (`email` field) is read too."""
    await check_secret(request, secret)
    if media_type(request) not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise ApiError(415, "unsupported_media_type", "SendGrid posts multipart/form-data.")
    body = await read_body(request, MAX_INBOUND_BYTES)
    fields, files = await run_in_threadpool(read_form, body, request.headers.get("content-type", ""))
    mail = await run_in_threadpool(email_inbound.from_parse_form, fields, files)
    return await run_in_threadpool(_receive, mail)
