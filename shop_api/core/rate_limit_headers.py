"""The rate-limit response fields every limited endpoint sends (``POST /auth/token``,
``POST /collect``): ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``
(seconds), as in the IETF httpapi draft's separate-field form, plus ``Retry-After`` on
a 429."""

from __future__ import annotations

import math


def seconds_header(seconds: float) -> str:
    """Whole seconds, rounded up, at least 1: a client that waits that long is admitted."""
    return str(max(1, math.ceil(seconds)))


def rate_limit_headers(limit: int, remaining: int, reset_seconds: float) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(max(0, remaining)),
        "RateLimit-Reset": seconds_header(reset_seconds),
    }


def refused_headers(limit: int, remaining: int, retry_after: float) -> dict[str, str]:
    """The headers of a 429: when to come back, in both vocabularies."""
    return {"Retry-After": seconds_header(retry_after)} | rate_limit_headers(
        limit, remaining, retry_after
    )
