"""Cross-origin requests from browser front ends on other origins (``MERCADO_CORS_ORIGINS``).

Starlette's ``CORSMiddleware`` answers preflights and marks responses for the listed
origins only; with none listed (the default) it is not installed and browsers keep
cross-origin pages out. Credentials mode stays off: callers authenticate with a bearer
token and name an anonymous device with ``X-Client-Id``, both plain request headers.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

ALLOWED_METHODS = ("GET", "POST", "PATCH", "DELETE")
# Beyond the CORS-safelisted ones: what the API reads from a browser's requests.
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "X-Client-Id",
    "X-Request-Id",
)
# Beyond the safelisted ones (Content-Type, Cache-Control, ...): what a front end reads.
# RateLimit names both the current draft's fields and the earlier drafts' three.
EXPOSED_HEADERS = (
    "Retry-After",
    "RateLimit",
    "RateLimit-Policy",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Idempotent-Replayed",
    "X-Request-Id",
)
PREFLIGHT_CACHE_SECONDS = 600


def add_cors(app: FastAPI, origins: list[str]) -> None:
    """Allow ``origins``; call it after every other middleware, so that it is the
    outermost one and error responses (413, 429, ...) carry its headers too."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=ALLOWED_METHODS,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        max_age=PREFLIGHT_CACHE_SECONDS,
    )
