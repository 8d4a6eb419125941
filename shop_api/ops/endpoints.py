from __future__ import annotations

import os
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from shop_api.core.migrations import is_at_head

router = APIRouter(tags=["ops"])


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str] = Field(description="database and migrations: ok, or what failed")
    process: int = Field(description="The answering worker's process id")


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready"}},
)
def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers and its schema is at the latest migration.

    ``process`` is the answering worker's process id: a load balancer or a benchmark
    that starts several workers can tell when every one of them is serving."""
    engine = request.app.state.database.engine
    checks: dict[str, str] = {}
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
        checks["migrations"] = "ok" if is_at_head(engine) else "pending"
    except Exception as exc:  # readiness reports failures, it never raises them
        checks["database"] = f"error: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    readiness = Readiness(
        status="ready" if ready else "not_ready", checks=checks, process=os.getpid()
    )
    return JSONResponse(readiness.model_dump(), status_code=200 if ready else 503)
