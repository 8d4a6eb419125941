"""The shop's error hierarchy and the handlers that render the contract's JSON envelope.

Services raise these; handlers turn every failure, including framework ones, into
``{"error": {"code", "message", "details"}}`` with the right status code.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shop_api.core.security_headers import add_security_headers

log = structlog.get_logger(__name__)


class MercadoError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers


class BadRequest(MercadoError):
    status_code, code = 400, "bad_request"


class Unauthorized(MercadoError):
    status_code, code = 401, "unauthorized"

    def __init__(self, message: str = "Not authenticated", **kwargs: Any):
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kwargs)


class NotPermitted(MercadoError):
    status_code, code = 403, "forbidden"


class NotFound(MercadoError):
    status_code, code = 404, "not_found"


class Conflict(MercadoError):
    status_code, code = 409, "conflict"


class PayloadTooLarge(MercadoError):
    status_code, code = 413, "payload_too_large"


class UnsupportedMediaType(MercadoError):
    status_code, code = 415, "unsupported_media_type"


class Unprocessable(MercadoError):
    status_code, code = 422, "validation_error"


class RateLimited(MercadoError):
    """429; pass ``headers={"Retry-After": seconds}``."""

    status_code, code = 429, "rate_limited"


class ServiceUnavailable(MercadoError):
    status_code, code = 503, "unavailable"


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    """The JSON shape of every error response."""

    error: ErrorBody


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the envelope for the given codes."""
    return {code: {"model": ErrorEnvelope} for code in status_codes}


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def error_response(
    status_code: int, code: str, message: str, details: Any = None, headers: dict | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": jsonable_encoder(details)}}
    return JSONResponse(body, status_code=status_code, headers=headers)


async def _mercado_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MercadoError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI says 400 for a JSON body that is not UTF-8, 422 for any other bad JSON.
        details = [{"loc": ["body"], "msg": "JSON body is not valid UTF-8", "type": "json_invalid"}]
        return error_response(422, "validation_error", "Request is invalid", details)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
    return error_response(exc.status_code, code, message, headers=headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method a route of the app answers on the request's path. (Starlette's 405
    names the methods of the first route whose path matched only.)"""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL
               for route in routes)
    ]  # fmt: skip


def _describe_validation_errors(errors: Any) -> list[dict[str, Any]]:
    described = []
    for error in errors:
        described.append(
            {
                "loc": list(error.get("loc", ())),
                "msg": error.get("msg", ""),
                "type": error.get("type", ""),
            }
        )
    return described


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(
        422, "validation_error", "Request is invalid", _describe_validation_errors(exc.errors())
    )


async def _value_refused_by_database(_request: Request, exc: Exception) -> JSONResponse:
    """Input the validators let through but the database cannot store, e.g. a NUL
    character in text on PostgreSQL: the request is at fault, not the server."""
    log.warning("value_refused_by_database", error=str(getattr(exc, "orig", exc))[:200])
    return error_response(422, "validation_error", "Request contains a value that cannot be stored")


def _sqlstate(exc: DBAPIError) -> str:
    """The PostgreSQL SQLSTATE of a driver error (psycopg and asyncpg both carry one)."""
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        state = getattr(error, "sqlstate", None)
        if isinstance(state, str):
            return state
    return ""


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A driver error that SQLAlchemy did not classify further (asyncpg reports a NUL in
    text as a plain error): SQLSTATE class 22, data exception, is the request's fault."""
    if isinstance(exc, DBAPIError) and _sqlstate(exc).startswith("22"):
        return await _value_refused_by_database(request, exc)
    return await _unexpected_error(request, exc)


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", error_type=type(exc).__name__)
    response = error_response(500, "internal_error", "Internal server error")
    # Rendered outside every middleware (Starlette's outermost one calls this handler).
    add_security_headers(response.headers)
    return response


def register_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(MercadoError, _mercado_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DataError, _value_refused_by_database)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)
