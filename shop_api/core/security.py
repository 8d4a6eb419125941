"""Password hashing (Argon2 via pwdlib) and signed access tokens (JWT, HS256)."""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from shop_api.core.config import Settings

ALGORITHM = "HS256"


class PasswordHasher:
    """Hashes with Argon2id; a hash made with older parameters is upgraded on verify."""

    def __init__(self, settings: Settings) -> None:
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=settings.argon2_time_cost,
                    memory_cost=settings.argon2_memory_kib,
                ),
            )
        )
        # Verifying against this when the account is unknown keeps timing the same.
        self._dummy_hash = self._hash.hash(uuid.uuid4().hex)

    def hash(self, password: str) -> str:
        return self._hash.hash(password)

    def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """Return (valid, new_hash); new_hash is set when the stored hash should be upgraded."""
        if password_hash is None:
            self._hash.verify(password, self._dummy_hash)
            return False, None
        try:
            return self._hash.verify_and_update(password, password_hash)
        except Exception:  # unknown or corrupt hash format: treat as a failed login
            return False, None


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    token_version: int


def create_access_token(
    settings: Settings, user_id: uuid.UUID, token_version: int, now: datetime
) -> str:
    payload = {
        "sub": str(user_id),
        "ver": token_version,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=settings.access_token_minutes)).timestamp()),
    }
    return jwt.encode(payload, settings.secret_key.get_secret_value(), algorithm=ALGORITHM)


def decode_access_token(
    settings: Settings, token: str, now: datetime | None = None
) -> TokenClaims | None:
    """The token's claims, or None when it is invalid or expired. Expiry is judged at
    ``now`` (the app's clock, so a simulated clock works too); wall time when omitted."""
    verified = _verified_claims(settings.secret_key.get_secret_value(), token)
    if verified is None:
        return None
    claims, issued_at, expires_at = verified
    moment = now.timestamp() if now is not None else time.time()
    if expires_at <= moment or (now is None and issued_at > moment + IAT_LEEWAY_SECONDS):
        return None
    return claims


IAT_LEEWAY_SECONDS = 5


@functools.lru_cache(maxsize=8192)
def _verified_claims(secret: str, token: str) -> tuple[TokenClaims, int, int] | None:
    """(claims, iat, exp) of a token whose signature holds; None when it does not.

    Cached: a client sends the same token with every request, and checking its signature
    and parsing it cost more than the rest of authentication. Only the signature check
    is cached; expiry is judged at each use, and the caller still looks the user up
    (so revocation by token version is immediate).
    """
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "ver"], "verify_exp": False, "verify_iat": False},
        )
        claims = TokenClaims(user_id=uuid.UUID(payload["sub"]), token_version=int(payload["ver"]))
        return claims, int(payload.get("iat", 0)), int(payload["exp"])
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        return None
