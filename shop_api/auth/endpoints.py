from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm

from shop_api.accounts.password_policy import check_password
from shop_api.auth import service
from shop_api.auth.schemas import SignupRequest, Token, UserPublic
from shop_api.auth.throttle import LoginThrottleDep
from shop_api.core.client_address import client_address
from shop_api.core.deps import (
    ClockDep,
    PasswordHasherDep,
    ReadsDep,
    SettingsDep,
    WritesDep,
)
from shop_api.core.errors import Unauthorized, error_responses
from shop_api.core.security import create_access_token
from shop_api.models import UserRole
from shop_api.tracking.server_events import track

router = APIRouter(prefix="/auth", tags=["auth"])

# Endpoints that hash passwords are ``async``: the hash runs in a worker thread once a
# hashing slot is free, holding no transaction and (on SQLite) not the write gate, which
# their short units of work take only around their statements (``WritesDep``).


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses=error_responses(409, 413, 422),
)
async def signup(
    body: SignupRequest,
    writes: WritesDep,
    hasher: PasswordHasherDep,
    clock: ClockDep,
    request: Request,
) -> UserPublic:
    """Create a shopper or seller account, recording the choice for each ad purpose
    (ad_user_data, ad_personalization) and an optional phone (stored in E.164)."""
    # The strength estimate is CPU work: off the event loop, like the hash.
    await run_in_threadpool(
        check_password, body.password, email=body.email, display_names=[body.display_name]
    )
    password_hash = await hasher.hash_async(body.password)
    user = await writes.run(
        service.insert_user,
        clock,
        email=body.email,
        password_hash=password_hash,
        display_name=body.display_name,
        role=UserRole(body.role),
        phone=body.phone,
        ad_user_data_consent=body.ad_user_data_consent,
        ad_personalization_consent=body.ad_personalization_consent,
        consent_source=body.consent_source,
    )
    track(request, "sign_up", user_id=user.id, params={"method": "password", "role": body.role})
    return UserPublic.model_validate(user)


@router.post(
    "/token", response_model=Token, responses=error_responses(400, 401, 413, 422, 429, 503)
)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    throttle: LoginThrottleDep,
    reads: ReadsDep,
    writes: WritesDep,
    hasher: PasswordHasherDep,
    clock: ClockDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    client_id: Annotated[
        str | None,
        Header(
            alias="X-Client-Id",
            description="The device's anonymous id: its cart is merged into the user's",
        ),
    ] = None,
) -> Token:
    """OAuth2 password flow: the email goes in ``username``.

    Failed logins are limited per account and per client address: over a limit, 429 with
    ``Retry-After`` (the right password too) until the window has passed. Answers carry
    ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``."""
    attempt = await throttle.admit(form.username, client_address(request))
    found = await reads.run(service.find_credentials, form.username)
    valid, new_hash = await hasher.verify_async(
        form.password, found.password_hash if found else None
    )
    if found is None or not valid or not found.is_active:
        raise Unauthorized(
            "Incorrect email or password",
            headers={"WWW-Authenticate": "Bearer", **attempt.headers()},
        )
    signed_in = await writes.run(service.record_login, clock, found.user_id, new_hash, client_id)
    response.headers.update(await throttle.succeeded(attempt))
    token = create_access_token(settings, signed_in.user_id, signed_in.token_version, clock.now())
    track(request, "login", user_id=signed_in.user_id, params={"method": "password"})
    return Token(access_token=token, expires_in=settings.access_token_minutes * 60)
