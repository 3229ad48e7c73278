"""POST /api/v1/leads/import: a CSV or JSON-lines file of leads, answered with a report."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from crystal_bay.api.deps import Caller, media_type, read_body, require_scope
from crystal_bay.api.errors import ApiError
from crystal_bay.api.v1_leads import ERRORS
from crystal_bay.db import session_scope
from crystal_bay.services import intake_import
from crystal_bay.services.audit import Actor

router = APIRouter(prefix="/api/v1", tags=["leads"])

FILE_TYPES = ("text/csv", "application/csv", "text/plain", "application/x-ndjson", "application/jsonl",
              "application/x-jsonlines", "application/json-lines", "application/jsonlines", "multipart/form-data",
              "application/octet-stream")
IMPORT_DOC = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}, "example": "Имя;Телефон;Сообщение\nАйгерим;8 701 123 45 67;Вьетнам"},
    "application/x-ndjson": {"schema": {"type": "string"}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string",
                                                                                 "format": "binary"}}}},
}}}


def _mapping(value: str | None) -> dict[str, str | None] | None:
    if value is None:
        return None
    try:
        mapping = json.loads(value)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                                for k, v in mapping.items()):
        raise ApiError(422, "invalid_mapping", 'mapping is a JSON object {"column": "field" or null}.',
                       field="mapping")
    return mapping


async def _file_from_form(request: Request, body: bytes) -> tuple[bytes, str | None]:
    async def replay() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=10,
                                                         max_part_size=intake_import.MAX_BYTES)
    except Exception as exc:  # noqa: BLE001 - python-multipart's parse errors
        raise ApiError(400, "malformed_multipart", f"Cannot read the form: {exc}") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(422, "file_required", "Send the file in a form field named 'file'.", field="file")
    return await upload.read(), upload.content_type


def _run_import(content: bytes, content_type: str | None, mapping: dict | None, source: str, actor: Actor) -> dict:
    with session_scope() as session:
        report = intake_import.import_file(session=session, content=content, content_type=content_type,
                                           mapping=mapping, default_source=source, actor=actor)
    return report.as_dict()


@router.post("/leads/import", responses=ERRORS, summary="Import leads (CSV or JSON lines)", openapi_extra=IMPORT_DOC)
async def import_leads(
    request: Request,
    caller: Annotated[Caller, Depends(require_scope("leads:write"))],
    source: Annotated[str, Query(max_length=20, description="Source of rows without a source column")] = "api",
    mapping: Annotated[str | None, Query(max_length=4000,
                                         description='JSON {"CSV column": "field" or null}')] = None,
) -> dict:
    """Up to 100,000 rows, each validated like POST /leads. Answers counts of imported, merged (added to an
    open lead), duplicate (imported before) and rejected rows, with the reason for each rejected row."""
    kind = media_type(request)
    if kind not in FILE_TYPES:
        raise ApiError(415, "unsupported_media_type", "Send text/csv, application/x-ndjson or a multipart 'file'.")
    parsed_mapping = _mapping(mapping)
    body = await read_body(request, intake_import.MAX_BYTES)
    content, content_type = (await _file_from_form(request, body)) if kind == "multipart/form-data" else (body, kind)
    if not content.strip():
        raise ApiError(422, "empty_file", "The file is empty.", field="file")
    return await run_in_threadpool(_run_import, content, content_type, parsed_mapping, source, caller.actor)
