from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from shop_api.accounts import erasure, export, service
from shop_api.accounts.password_policy import check_password
from shop_api.accounts.schemas import AccountExport, ConsentEventPublic, ProfileUpdate
from shop_api.auth.schemas import UserPublic
from shop_api.core.deps import (
    ClockDep,
    CurrentUser,
    OptionalUser,
    PasswordHasherDep,
    ReadsDep,
    WritesDep,
)
from shop_api.core.errors import Unauthorized, error_responses
from shop_api.payments.deps import CarrierDep

router = APIRouter(prefix="/me", tags=["me"])


@router.get("", response_model=UserPublic, responses=error_responses(401))
async def read_me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)


@router.patch("", response_model=UserPublic, responses=error_responses(401, 409, 413, 422))
async def update_me(
    body: ProfileUpdate,
    reader: OptionalUser,
    writes: WritesDep,
    hasher: PasswordHasherDep,
    clock: ClockDep,
) -> UserPublic:
    """Change display name, phone (null removes it), consents (ad_user_data,
    ad_personalization, personalised recommendations; each recorded with its source)
    or password.

    Changing the password signs out every other session. The password checks and the
    hash run before the change's short transaction, holding no lock (nor, on SQLite,
    the write gate), like a login's.
    """
    if reader is None:
        raise Unauthorized()
    new_password_hash = None
    if body.new_password is not None:
        names = [reader.display_name, body.display_name or ""]
        await run_in_threadpool(
            check_password, body.new_password, email=reader.email, display_names=names,
            field="new_password",
        )  # fmt: skip
        valid, _ = await hasher.verify_async(body.current_password or "", reader.password_hash)
        if not valid:
            raise Unauthorized("Current password is incorrect")
        new_password_hash = await hasher.hash_async(body.new_password)
    updated = await writes.run(
        service.update_profile,
        clock,
        reader.id,
        display_name=body.display_name,
        set_phone="phone" in body.model_fields_set,
        phone=body.phone,
        ad_user_data_consent=body.ad_user_data_consent,
        ad_personalization_consent=body.ad_personalization_consent,
        personalised_recommendations=body.personalised_recommendations,
        consent_source=body.consent_source,
        new_password_hash=new_password_hash,
        verified_hash=reader.password_hash,
    )
    return UserPublic.model_validate(updated)


@router.get("/consents", response_model=list[ConsentEventPublic], responses=error_responses(401))
async def consent_history(user: CurrentUser, reads: ReadsDep) -> list[ConsentEventPublic]:
    """Every consent grant and withdrawal, oldest first."""
    events = await reads.run(service.consent_history, user.id)
    return [ConsentEventPublic.model_validate(event) for event in events]


@router.get(
    "/export",
    response_model=AccountExport,
    responses={
        200: {"description": "A JSON file (Content-Disposition: attachment)"},
        **error_responses(401),
    },
)
async def export_me(
    user: CurrentUser, reads: ReadsDep, clock: ClockDep, request: Request
) -> Response:
    """Right of access: everything the shop keeps about the caller, as one JSON download
    (account, consents, orders with payments and shipments, questions, reviews, listings,
    notifications, e-mails sent, clickstream events). Only the caller's own data."""
    data = await export.export_account(reads, request.app.state.tracking, clock, user)
    filename = f"mercado-account-{data.exported_at:%Y%m%dT%H%M%SZ}.json"
    return Response(
        content=data.model_dump_json(),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401))
async def erase_me(
    user: CurrentUser, writes: WritesDep, clock: ClockDep, carrier: CarrierDep
) -> Response:
    """Right to erasure: personal data anonymised everywhere (the carrier's copy of
    delivery addresses too), the account closed for good."""
    await writes.run(erasure.erase_account, user.id, clock, carrier=carrier)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
