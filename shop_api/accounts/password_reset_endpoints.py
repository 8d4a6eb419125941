"""``POST /auth/password-reset`` and ``POST /auth/password-reset/confirm``.

Their own router (tag ``auth``), apart from sign-up and login in ``shop_api.auth``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from shop_api.accounts import password_reset
from shop_api.accounts.schemas import (
    PasswordResetAccepted,
    PasswordResetConfirm,
    PasswordResetRequest,
)
from shop_api.auth.throttle import PasswordResetThrottleDep
from shop_api.core.client_address import client_address
from shop_api.core.deps import ClockDep, PasswordHasherDep, ReadsDep, SettingsDep, WritesDep
from shop_api.core.errors import error_responses

router = APIRouter(prefix="/auth/password-reset", tags=["auth"])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PasswordResetAccepted,
    responses=error_responses(413, 422, 429, 503),
)
async def request_password_reset(
    body: PasswordResetRequest,
    throttle: PasswordResetThrottleDep,
    writes: WritesDep,
    settings: SettingsDep,
    clock: ClockDep,
    request: Request,
    response: Response,
) -> PasswordResetAccepted:
    """E-mail a single-use reset link to the account with this address, if any.

    The answer is the same for every address, so it does not tell who has an account.
    Requests are limited per address asked for and per client address: over a limit, 429
    with ``Retry-After``. Answers carry ``RateLimit-Limit``, ``RateLimit-Remaining`` and
    ``RateLimit-Reset``.
    """
    attempt = await throttle.admit(body.email, client_address(request))
    await writes.run(password_reset.request_reset, settings, clock, body.email)
    response.headers.update(attempt.headers())
    return PasswordResetAccepted()


@router.post(
    "/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(400, 413, 422),
)
async def confirm_password_reset(
    body: PasswordResetConfirm,
    reads: ReadsDep,
    writes: WritesDep,
    hasher: PasswordHasherDep,
    clock: ClockDep,
) -> Response:
    """Set a new password with the e-mailed token; every existing session ends.

    400 when the token is unknown, used or expired; 422 when the password is too weak.
    """
    await password_reset.confirm_reset(reads, writes, hasher, clock, body.token, body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
