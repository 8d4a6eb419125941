"""Password hashing (Argon2 via pwdlib) and signed access tokens (JWT, HS256)."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar

import anyio.to_thread
import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from shop_api.core.config import Settings

ALGORITHM = "HS256"


P = ParamSpec("P")
T = TypeVar("T")


class HashingSlots:
    """At most ``size`` Argon2 computations at once in this process.

    Each one holds ``argon2_memory_kib`` of memory for its duration, so unbounded, a burst
    of concurrent (failed) logins alone could exhaust the server's memory. Synchronous callers
    wait for a slot in their thread (``held``); ``run`` waits in the event loop and takes
    a worker thread only once it has a slot, so queued logins tie up no thread that other
    requests need.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._semaphore = threading.BoundedSemaphore(size)
        self._loop_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._loop_slots = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Callers waiting for a slot right now."""
        return self._waiting

    def _queued(self, change: int) -> None:
        with self._lock:
            self._waiting += change

    @contextmanager
    def held(self) -> Iterator[None]:
        if not self._semaphore.acquire(blocking=False):
            self._queued(+1)
            try:
                self._semaphore.acquire()
            finally:
                self._queued(-1)
        try:
            yield
        finally:
            self._semaphore.release()

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``function`` in a worker thread once this event loop's share of slots allows."""
        loop = asyncio.get_running_loop()
        slots = self._loop_slots.get(loop)
        if slots is None:
            slots = self._loop_slots[loop] = asyncio.Semaphore(self.size)
        if slots.locked():
            self._queued(+1)
            try:
                await slots.acquire()
            finally:
                self._queued(-1)
        else:
            await slots.acquire()
        try:
            return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))
        finally:
            slots.release()


class PasswordHasher:
    """Hashes with Argon2id; a hash made with older parameters is upgraded on verify.

    Every computation takes one of ``max_concurrent_hashes`` slots. Endpoints use the
    ``*_async`` forms, after leaving any transaction and the SQLite write gate: a hash
    takes tens of milliseconds of CPU, and nothing should wait for it but its caller.
    """

    def __init__(self, settings: Settings) -> None:
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=settings.argon2_time_cost,
                    memory_cost=settings.argon2_memory_kib,
                ),
            )
        )
        self._slots = HashingSlots(settings.max_concurrent_hashes)
        # Verifying against this when the account is unknown keeps timing the same.
        self._dummy_hash = self._hash.hash(uuid.uuid4().hex)

    @property
    def waiting(self) -> int:
        """Hashes queued for a slot right now."""
        return self._slots.waiting

    def hash(self, password: str) -> str:
        with self._slots.held():
            return self._hash.hash(password)

    def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """Return (valid, new_hash); new_hash is set when the stored hash should be upgraded."""
        with self._slots.held():
            if password_hash is None:
                self._hash.verify(password, self._dummy_hash)
                return False, None
            try:
                return self._hash.verify_and_update(password, password_hash)
            except Exception:  # unknown or corrupt hash format: treat as a failed login
                return False, None

    async def hash_async(self, password: str) -> str:
        """``hash`` in a worker thread; waits for a slot in the event loop."""
        return await self._slots.run(self.hash, password)

    async def verify_async(
        self, password: str, password_hash: str | None
    ) -> tuple[bool, str | None]:
        """``verify`` in a worker thread; waits for a slot in the event loop."""
        return await self._slots.run(self.verify, password, password_hash)


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
