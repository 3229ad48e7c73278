"""GET /api/health: is the service up and can it reach its database?"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from crystal_bay import __version__
from crystal_bay.db import get_engine

router = APIRouter(tags=["health"])


def check_database() -> str:
    """'ok', or a short description of why the database cannot be reached."""
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure is reported, never raised
        return f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}".rstrip(": ")


@router.get("/api/health", summary="Health check")
def health() -> JSONResponse:
    """200 when the database answers; 503 naming the failing part otherwise."""
    database = check_database()
    ok = database == "ok"
    body = {"status": "ok" if ok else "error", "database": database, "version": __version__}
    return JSONResponse(body, status_code=200 if ok else 503)
