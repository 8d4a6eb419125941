from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from shop_api.auth import service
from shop_api.auth.schemas import SignupRequest, Token, UserPublic
from shop_api.cart.service import merge_anonymous_cart
from shop_api.core.deps import ClockDep, PasswordHasherDep, SessionDep, SettingsDep
from shop_api.core.errors import error_responses
from shop_api.core.security import create_access_token
from shop_api.models import UserRole
from shop_api.tracking.server_events import track

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses=error_responses(409, 413, 422),
)
def signup(
    body: SignupRequest,
    session: SessionDep,
    hasher: PasswordHasherDep,
    clock: ClockDep,
    request: Request,
) -> UserPublic:
    """Create a shopper or seller account, recording the marketing-consent choice."""
    user = service.create_user(
        session,
        hasher,
        clock,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        role=UserRole(body.role),
        marketing_consent=body.marketing_consent,
        consent_source=body.consent_source,
    )
    track(request, "sign_up", user_id=user.id, params={"method": "password", "role": body.role})
    return UserPublic.model_validate(user)


@router.post("/token", response_model=Token, responses=error_responses(400, 401, 413, 422))
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    hasher: PasswordHasherDep,
    clock: ClockDep,
    settings: SettingsDep,
    request: Request,
    client_id: Annotated[
        str | None,
        Header(
            alias="X-Client-Id",
            description="The device's anonymous id: its cart is merged into the user's",
        ),
    ] = None,
) -> Token:
    """OAuth2 password flow: the email goes in ``username``."""
    user = service.authenticate(session, hasher, clock, form.username, form.password)
    if client_id:
        merge_anonymous_cart(session, clock, user, client_id)
    token = create_access_token(settings, user.id, user.token_version, clock.now())
    track(request, "login", user_id=user.id, params={"method": "password"})
    return Token(access_token=token, expires_in=settings.access_token_minutes * 60)
