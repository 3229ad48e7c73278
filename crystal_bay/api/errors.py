"""One error shape for every API answer that is not a success, and the handlers that produce it.

    {"error": {"code": "invalid_phone", "message": "Not a valid phone number.", "field": "phone"}}

A 422 also lists every problem: `"errors": [{"field": ..., "code": ..., "message": ...}, ...]`.
Domain refusals keep their status (404, 409, 422 ...); database contention is a 409/503 the client
may retry; anything else is a bug: logged with its traceback and answered with a plain 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from crystal_bay.services.errors import DomainError

log = logging.getLogger("crystal_bay.api")

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 406: "not_acceptable", 413: "payload_too_large",
              415: "unsupported_media_type", 422: "validation_failed", 429: "rate_limited"}


class ApiError(Exception):
    """A refusal raised by the API layer itself (auth, size, media type, rate limit, body syntax)."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None,
                 errors: list[dict] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.errors, self.headers = errors, headers


def error_body(code: str, message: str, field: str | None = None, errors: list[dict] | None = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": message, "field": field}
    if errors is not None:
        body["errors"] = errors
    return {"error": body}


def error_response(status: int, code: str, message: str, *, field: str | None = None,
                   errors: list[dict] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, field, errors), status_code=status, headers=headers)


def _field_name(loc: tuple, ctx: dict | None) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    if parts:
        return ".".join(parts)
    return (ctx or {}).get("field")


def field_errors(errors: list[dict]) -> list[dict]:
    """Pydantic's errors as [{"field", "code", "message"}] (no input values echoed back)."""
    return [{"field": _field_name(tuple(e.get("loc", ())), e.get("ctx")), "code": e.get("type", "invalid"),
             "message": str(e.get("msg", "Invalid value."))} for e in errors]


def validation_error(errors: list[dict]) -> ApiError:
    """400 for a body that is not JSON, else 422 naming every field and problem."""
    if any(e.get("type") == "json_invalid" for e in errors):
        return ApiError(400, "malformed_json", "The body is not valid JSON (UTF-8).")
    listed = field_errors(errors)
    first = listed[0] if listed else {"field": None, "code": "invalid", "message": "Invalid request."}
    return ApiError(422, first["code"], first["message"], field=first["field"], errors=listed)


def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, field=exc.field, errors=exc.errors, headers=exc.headers)


def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
    errors = [{"field": exc.field, "code": exc.code, "message": exc.message}] if exc.status_code == 422 else None
    return error_response(exc.status_code, exc.code, exc.message, field=exc.field, errors=errors)


def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    return _api_error(request, validation_error(list(exc.errors())))


def _pydantic_validation(request: Request, exc: ValidationError) -> JSONResponse:
    return _api_error(request, validation_error(exc.errors(include_input=False)))


def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))


def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
    log.warning("conflict on %s %s: %s", request.method, request.url.path, str(exc.orig)[:300])
    return error_response(409, "conflict", "A concurrent request changed the same data; retry the request.")


def _operational(request: Request, exc: OperationalError) -> JSONResponse:
    log.error("database unavailable on %s %s: %s", request.method, request.url.path, str(exc.orig)[:300])
    return error_response(503, "database_unavailable", "The database is busy or unreachable; retry shortly.",
                          headers={"Retry-After": "1"})


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "An unexpected error occurred; it has been logged.")


def install(api: FastAPI) -> None:
    """Register the handlers on the API app."""
    api.add_exception_handler(ApiError, _api_error)
    api.add_exception_handler(DomainError, _domain_error)
    api.add_exception_handler(RequestValidationError, _request_validation)
    api.add_exception_handler(ValidationError, _pydantic_validation)
    api.add_exception_handler(StarletteHTTPException, _http_error)
    api.add_exception_handler(IntegrityError, _integrity)
    api.add_exception_handler(OperationalError, _operational)
    api.add_exception_handler(Exception, _unexpected)
