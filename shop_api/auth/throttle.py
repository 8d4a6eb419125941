"""Throttling per account and per client address: failed logins, password-reset requests.

Every attempt is charged to two budgets before its password is checked: the account's
(``login_max_failures_per_account``) and its client address's
(``login_max_failures_per_address``), each a window of ``login_window_seconds`` that opens
at its first charge. The charge is atomic and all-or-nothing, so concurrent attempts can
never pass a budget between a check and an increment; when either budget is spent the
attempt is refused with 429 before any hash is computed, the right password included,
until that window has ended. A successful login clears its account's budget and gives the
address its charge back, so only failures count.

Password-reset requests (``password_reset_policy``) go through the same counters, in
budgets of their own: every request is charged (none is given back), whether or not the
email has an account, so neither the answer nor its headers tell who has one.

The counters live in one place every worker shares: the shop's database (table
``login_throttle``, one conditional upsert per budget) or Redis when ``redis_url`` is set
(one Lua script). Keys are keyed hashes (HMAC with the secret key) of the normalised email
and of the client's address: neither is stored in the clear.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Protocol

import redis.asyncio
import structlog
from fastapi import Depends, Request
from redis.exceptions import RedisError
from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shop_api.auth.service import normalise_email
from shop_api.core.client_address import rate_limit_subject
from shop_api.core.clock import Clock
from shop_api.core.config import Settings
from shop_api.core.deps import WritesDep
from shop_api.core.errors import RateLimited, ServiceUnavailable
from shop_api.core.rate_limit_headers import rate_limit_headers, refused_headers
from shop_api.core.typed_sql import table_of
from shop_api.core.unit_of_work import Writes, statements_only
from shop_api.models import LoginThrottleCounter

log = structlog.get_logger(__name__)

COUNTERS = table_of(LoginThrottleCounter)
PRUNE_EVERY = 256  # charges per process between deletions of ended windows
_charges = itertools.count(1)


@dataclass(frozen=True)
class Budget:
    key: str
    limit: int


@dataclass(frozen=True)
class Count:
    """A budget's state after a charge (or, when refused, as it stands)."""

    key: str
    limit: int
    failures: int
    window_ends_at: datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.failures)


class Counters(Protocol):
    async def charge(
        self, budgets: Sequence[Budget], now: datetime, window: timedelta
    ) -> tuple[bool, list[Count]]:
        """Charge one attempt to every budget, or to none when any is spent."""
        ...

    async def succeeded(self, address: Count, account: Count) -> None:
        """Give the address its charge back (in the same window) and clear the account."""
        ...


@dataclass(frozen=True)
class Attempt:
    """An admitted attempt: its charges to the address and the account budgets."""

    address: Count
    account: Count
    now: datetime

    def headers(self) -> dict[str, str]:
        """Rate-limit headers of the budget closest to running out, this attempt counted."""
        count = min((self.address, self.account), key=lambda count: count.remaining)
        return rate_limit_headers(count.limit, count.remaining, _seconds(count, self.now))


@dataclass(frozen=True)
class Policy:
    """What one throttled action counts: its budgets per account and per client address,
    their window, and the message of a refusal. ``name`` keeps its keys apart from other
    actions' (the login's keys have no prefix)."""

    name: str
    per_account: int
    per_address: int
    window_seconds: int
    refusal: str


def login_policy(settings: Settings) -> Policy:
    return Policy(
        name="",
        per_account=settings.login_max_failures_per_account,
        per_address=settings.login_max_failures_per_address,
        window_seconds=settings.login_window_seconds,
        refusal="Too many failed logins; retry later",
    )


def password_reset_policy(settings: Settings) -> Policy:
    return Policy(
        name="reset-",
        per_account=settings.password_reset_max_per_account,
        per_address=settings.password_reset_max_per_address,
        window_seconds=settings.password_reset_window_seconds,
        refusal="Too many password reset requests; retry later",
    )


class Throttle:
    """Charges attempts of one action (``Policy``) to its account and address budgets."""

    def __init__(
        self, settings: Settings, counters: Counters, clock: Clock, policy: Policy
    ) -> None:
        self._counters = counters
        self._clock = clock
        self._policy = policy
        secret = settings.secret_key.get_secret_value().encode()
        self._key = hashlib.sha256(b"mercado-login-throttle\0" + secret).digest()

    def _hashed(self, kind: str, value: str) -> str:
        digest = hmac.new(self._key, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()
        return f"{self._policy.name}{kind}:{digest}"

    async def admit(self, email: str, address: str) -> Attempt:
        """Charge an attempt to the budgets of ``email`` (normalised) and of ``address``
        (for IPv6, its /64); raises RateLimited (429, ``Retry-After``) when either is spent.
        The email's budget is the same whether or not it has an account."""
        policy = self._policy
        budgets = (  # always the address first: every writer locks rows in this order
            Budget(self._hashed("address", rate_limit_subject(address)), policy.per_address),
            Budget(self._hashed("account", normalise_email(email)), policy.per_account),
        )
        now = self._clock.now()
        try:
            admitted, counts = await self._counters.charge(
                budgets, now, timedelta(seconds=policy.window_seconds)
            )
        except RedisError as exc:
            raise _unavailable() from exc
        if not admitted:
            # The spent budget that stays closed longest.
            spent = max(counts, key=lambda count: (count.remaining == 0, count.window_ends_at))
            raise RateLimited(
                policy.refusal, headers=refused_headers(spent.limit, 0, _seconds(spent, now))
            )
        return Attempt(address=counts[0], account=counts[1], now=now)

    async def succeeded(self, attempt: Attempt) -> dict[str, str]:
        """Record a successful login; returns the rate-limit headers of its answer."""
        try:
            await self._counters.succeeded(attempt.address, attempt.account)
        except RedisError as exc:  # the login stands; its charges stay until the window ends
            log.warning("login_throttle_not_settled", error=str(exc)[:200])
        address = Count(
            attempt.address.key,
            attempt.address.limit,
            attempt.address.failures - 1,
            attempt.address.window_ends_at,
        )
        window = timedelta(seconds=self._policy.window_seconds)
        account = Count(attempt.account.key, attempt.account.limit, 0, attempt.now + window)
        return Attempt(address, account, attempt.now).headers()


def _seconds(count: Count, now: datetime) -> float:
    return (count.window_ends_at - now).total_seconds()


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "This is unavailable for a moment; retry later", headers={"Retry-After": "5"}
    )


# -- the database ----------------------------------------------------------------------


def _charge_statement(dialect: str, budget: Budget, now: datetime, window: timedelta) -> Any:
    """Insert the budget's row, or add one to it: only while its window is open and not
    spent, or anew when the window has ended. Returns no row when the budget is spent."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(COUNTERS).values(key=budget.key, failures=1, window_ends_at=now + window)
    ended = COUNTERS.c.window_ends_at <= now
    return statement.on_conflict_do_update(
        index_elements=[COUNTERS.c.key],
        set_={
            "failures": case((ended, 1), else_=COUNTERS.c.failures + 1),
            "window_ends_at": case(
                (ended, statement.excluded.window_ends_at), else_=COUNTERS.c.window_ends_at
            ),
        },
        where=or_(ended, COUNTERS.c.failures < budget.limit),
    ).returning(COUNTERS.c.failures, COUNTERS.c.window_ends_at)


@statements_only
def charge_in_database(
    session: Session, budgets: Sequence[Budget], now: datetime, window: timedelta
) -> tuple[bool, list[Count]]:
    dialect = session.get_bind().dialect.name
    counts = []
    for budget in budgets:
        row = session.execute(_charge_statement(dialect, budget, now, window)).one_or_none()
        if row is None:
            session.rollback()  # nothing charged to any budget
            return False, _standing(session, budgets, now, window)
        counts.append(Count(budget.key, budget.limit, row.failures, row.window_ends_at))
    session.commit()
    return True, counts


def _standing(
    session: Session, budgets: Sequence[Budget], now: datetime, window: timedelta
) -> list[Count]:
    rows = {
        row.key: row
        for row in session.execute(
            select(COUNTERS.c.key, COUNTERS.c.failures, COUNTERS.c.window_ends_at).where(
                COUNTERS.c.key.in_([budget.key for budget in budgets])
            )
        )
    }
    session.rollback()
    counts = []
    for budget in budgets:
        row = rows.get(budget.key)
        if row is None or row.window_ends_at <= now:
            counts.append(Count(budget.key, budget.limit, 0, now + window))
        else:
            counts.append(Count(budget.key, budget.limit, row.failures, row.window_ends_at))
    return counts


@statements_only
def succeeded_in_database(session: Session, address: Count, account: Count) -> None:
    session.execute(
        update(COUNTERS)
        .where(
            COUNTERS.c.key == address.key,
            COUNTERS.c.window_ends_at == address.window_ends_at,
            COUNTERS.c.failures > 0,
        )
        .values(failures=COUNTERS.c.failures - 1)
    )
    session.execute(delete(COUNTERS).where(COUNTERS.c.key == account.key))
    session.commit()


@statements_only
def prune_in_database(session: Session, now: datetime) -> None:
    """Delete ended windows; best effort (another worker may be doing the same)."""
    try:
        session.execute(delete(COUNTERS).where(COUNTERS.c.window_ends_at <= now))
        session.commit()
    except DBAPIError:  # e.g. a deadlock with a concurrent prune: next time
        session.rollback()


class DatabaseCounters:
    """Counters in the shop's database, written through the request's ``Writes`` (on
    SQLite behind the write gate, briefly: no hashing happens there)."""

    def __init__(self, writes: Writes) -> None:
        self._writes = writes

    async def charge(
        self, budgets: Sequence[Budget], now: datetime, window: timedelta
    ) -> tuple[bool, list[Count]]:
        result = await self._writes.run(charge_in_database, budgets, now, window)
        if next(_charges) % PRUNE_EVERY == 0:
            await self._writes.run(prune_in_database, now)
        return result

    async def succeeded(self, address: Count, account: Count) -> None:
        await self._writes.run(succeeded_in_database, address, account)


# -- Redis -----------------------------------------------------------------------------

# KEYS: the budgets' keys; ARGV: now (ms), window (ms), then each budget's limit.
# Returns {admitted (0/1), failures_1, ends_1, failures_2, ends_2, ...}.
CHARGE_SCRIPT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local failures, ends = {}, {}
local admitted = 1
for i, key in ipairs(KEYS) do
  failures[i] = tonumber(redis.call('HGET', key, 'failures') or '0')
  ends[i] = tonumber(redis.call('HGET', key, 'ends') or '0')
  if ends[i] <= now then
    failures[i] = 0
    ends[i] = now + window
  end
  if failures[i] >= tonumber(ARGV[2 + i]) then admitted = 0 end
end
local result = {admitted}
for i, key in ipairs(KEYS) do
  if admitted == 1 then
    failures[i] = failures[i] + 1
    redis.call('HSET', key, 'failures', failures[i], 'ends', ends[i])
    redis.call('PEXPIRE', key, ends[i] - now)
  end
  table.insert(result, failures[i])
  table.insert(result, ends[i])
end
return result
"""

# KEYS: address, account; ARGV: the address's window end (ms) when it was charged.
SUCCEEDED_SCRIPT = """
local ends = tonumber(redis.call('HGET', KEYS[1], 'ends') or '0')
local failures = tonumber(redis.call('HGET', KEYS[1], 'failures') or '0')
if ends == tonumber(ARGV[1]) and failures > 0 then
  redis.call('HINCRBY', KEYS[1], 'failures', -1)
end
redis.call('DEL', KEYS[2])
return 1
"""

REDIS_PREFIX = "mercado:login-throttle:"
REDIS_TIMEOUT = 5.0  # seconds; then the login answers 503 rather than hang


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


class RedisCounters:
    """Counters in Redis. Windows follow the app's clock (a simulated clock works too);
    Redis's own expiry only removes keys whose window has ended."""

    def __init__(self, url: str) -> None:
        self._url = url
        # asyncio connections belong to the loop that opened them: one client per loop.
        self._clients: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

    def _scripts(self) -> tuple[Any, Any, Any]:
        loop = asyncio.get_running_loop()
        found = self._clients.get(loop)
        if found is None:
            client = redis.asyncio.Redis.from_url(
                self._url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
            )
            found = self._clients[loop] = (
                client,
                client.register_script(CHARGE_SCRIPT),
                client.register_script(SUCCEEDED_SCRIPT),
            )
        return found

    async def charge(
        self, budgets: Sequence[Budget], now: datetime, window: timedelta
    ) -> tuple[bool, list[Count]]:
        _client, charge, _succeeded = self._scripts()
        window_ms = round(window.total_seconds() * 1000)
        result = await charge(
            keys=[REDIS_PREFIX + budget.key for budget in budgets],
            args=[_ms(now), window_ms, *(budget.limit for budget in budgets)],
        )
        counts = [
            Count(
                budget.key, budget.limit, int(result[1 + 2 * i]), _from_ms(int(result[2 + 2 * i]))
            )
            for i, budget in enumerate(budgets)
        ]
        return bool(result[0]), counts

    async def succeeded(self, address: Count, account: Count) -> None:
        _client, _charge, succeeded = self._scripts()
        await succeeded(
            keys=[REDIS_PREFIX + address.key, REDIS_PREFIX + account.key],
            args=[_ms(address.window_ends_at)],
        )

    async def close(self) -> None:
        """Close this loop's connections (at the app's shutdown)."""
        found = self._clients.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found[0].aclose()


def _counters(request: Request, writes: Writes) -> Counters:
    state = request.app.state
    settings: Settings = state.settings
    if not settings.redis_url:
        return DatabaseCounters(writes)
    counters = getattr(state, "login_redis_counters", None) or RedisCounters(settings.redis_url)
    state.login_redis_counters = counters
    return counters


async def get_login_throttle(request: Request, writes: WritesDep) -> Throttle:
    state = request.app.state
    policy = login_policy(state.settings)
    return Throttle(state.settings, _counters(request, writes), state.clock, policy)


async def get_password_reset_throttle(request: Request, writes: WritesDep) -> Throttle:
    state = request.app.state
    policy = password_reset_policy(state.settings)
    return Throttle(state.settings, _counters(request, writes), state.clock, policy)


LoginThrottleDep = Annotated[Throttle, Depends(get_login_throttle)]
PasswordResetThrottleDep = Annotated[Throttle, Depends(get_password_reset_throttle)]
