"""Responses for models an endpoint has already built and validated."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Response
from pydantic import BaseModel


def model_response(
    model: BaseModel, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """The model serialised once, as FastAPI would (JSON mode, no exclusions).

    Returning a model makes FastAPI validate it again against the response model before
    serialising it; on hot write paths (cart, checkout) that second pass costs as much as
    building it. The route keeps its ``response_model`` for the OpenAPI schema.
    """
    return Response(
        model.model_dump_json().encode(),
        status_code=status_code,
        headers=dict(headers) if headers else None,
        media_type="application/json",
    )
