from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import select

from shop_api.accounts import erasure, export, service
from shop_api.accounts.schemas import AccountExport, ConsentEventPublic, ProfileUpdate
from shop_api.auth.schemas import UserPublic
from shop_api.core.deps import ClockDep, CurrentUser, PasswordHasherDep, SessionDep
from shop_api.core.errors import error_responses
from shop_api.models import ConsentEvent
from shop_api.payments.deps import CarrierDep

router = APIRouter(prefix="/me", tags=["me"])


@router.get("", response_model=UserPublic, responses=error_responses(401))
def read_me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)


@router.patch("", response_model=UserPublic, responses=error_responses(401, 413, 422))
def update_me(
    body: ProfileUpdate,
    user: CurrentUser,
    session: SessionDep,
    hasher: PasswordHasherDep,
    clock: ClockDep,
) -> UserPublic:
    """Change display name, marketing consent (recorded with its source) or password.

    Changing the password signs out every other session.
    """
    updated = service.update_profile(
        session,
        hasher,
        clock,
        user,
        display_name=body.display_name,
        marketing_consent=body.marketing_consent,
        consent_source=body.consent_source,
        new_password=body.new_password,
        current_password=body.current_password,
    )
    return UserPublic.model_validate(updated)


@router.get("/consents", response_model=list[ConsentEventPublic], responses=error_responses(401))
def consent_history(user: CurrentUser, session: SessionDep) -> list[ConsentEventPublic]:
    """Every consent grant and withdrawal, oldest first."""
    events = session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.user_id == user.id)
        .order_by(ConsentEvent.recorded_at, ConsentEvent.id)
    )
    return [ConsentEventPublic.model_validate(event) for event in events]


@router.get(
    "/export",
    response_model=AccountExport,
    responses={
        200: {"description": "A JSON file (Content-Disposition: attachment)"},
        **error_responses(401),
    },
)
def export_me(
    user: CurrentUser, session: SessionDep, clock: ClockDep, request: Request
) -> Response:
    """Right of access: everything the shop keeps about the caller, as one JSON download
    (account, consents, orders with payments and shipments, questions, reviews, listings,
    notifications, e-mails sent, clickstream events). Only the caller's own data."""
    data = export.export_account(session, request.app.state.tracking, clock, user)
    filename = f"mercado-account-{data.exported_at:%Y%m%dT%H%M%SZ}.json"
    return Response(
        content=data.model_dump_json(),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401))
def erase_me(
    user: CurrentUser, session: SessionDep, clock: ClockDep, carrier: CarrierDep
) -> Response:
    """Right to erasure: personal data anonymised everywhere (the carrier's copy of
    delivery addresses too), the account closed for good."""
    erasure.erase_user(session, user, clock, carrier=carrier)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
