"""The API app plus one bench-only route, for bench/intake.py: `uvicorn bench.ceiling_app:app`.

`POST /bench/insert` inserts one row (a webhook_events row) and answers 201: the same server, stack
and database as POST /api/v1/leads, minus the work of lead intake — the ceiling to compare with.
Never mounted by the real app.
"""

from __future__ import annotations

import uuid

from fastapi.responses import JSONResponse

from crystal_bay.api.app import create_api
from crystal_bay.db import session_scope
from crystal_bay.models import WebhookEvent

app = create_api()


@app.post("/bench/insert", status_code=201, include_in_schema=False)
def bench_insert() -> JSONResponse:
    """Insert one row, commit, answer its id."""
    with session_scope() as session:
        row = WebhookEvent(source="bench", event_key=uuid.uuid4().hex)
        session.add(row)
        session.flush()
        row_id = row.id
    return JSONResponse({"id": row_id}, status_code=201)
