"""Webhook signatures: HMAC-SHA256 over ``"{timestamp}.{payload}"``, with a tolerance window.

The header looks like ``t=1700000000,v1=<hex digest>`` (several ``v1`` entries are
allowed during secret rotation), the scheme Stripe and others use.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

SIGNATURE_HEADER = "Mercado-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The signature is missing, malformed, wrong or outside the tolerance window."""

    def __init__(self, message: str, *, malformed: bool = False) -> None:
        super().__init__(message)
        self.malformed = malformed


def compute_signature(secret: str, timestamp: int, payload: bytes) -> str:
    message = f"{timestamp}.".encode() + payload
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, payload: bytes, at: datetime) -> str:
    timestamp = int(at.timestamp())
    return f"t={timestamp},v1={compute_signature(secret, timestamp, payload)}"


def verify(
    secret: str,
    payload: bytes,
    header: str | None,
    now: datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    if not header:
        raise SignatureError("missing signature header", malformed=True)
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("malformed timestamp", malformed=True) from None
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError("malformed signature header", malformed=True)
    expected = compute_signature(secret, timestamp, payload)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise SignatureError("signature does not match")
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        raise SignatureError("timestamp outside the tolerance window")
