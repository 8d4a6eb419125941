from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status

from shop_api.cart import service, views
from shop_api.cart.schemas import CartItemAdd, CartItemUpdate, CartPublic
from shop_api.core.deps import (
    ClockDep,
    OptionalUser,
    ReadsDep,
    SettingsDep,
    TokenDep,
    WritesDep,
)
from shop_api.core.errors import error_responses
from shop_api.core.responses import model_response
from shop_api.tracking.outbox import to_major
from shop_api.tracking.server_events import listing_item, track

router = APIRouter(prefix="/cart", tags=["cart"])

ClientIdHeader = Annotated[
    str | None,
    Header(
        alias="X-Client-Id",
        max_length=64,
        description="Anonymous device id (the tag.js client_id) when not signed in",
    ),
]


async def cart_owner(user: OptionalUser, client_id: ClientIdHeader = None) -> service.CartOwner:
    return service.owner_from_request(user, client_id)


OwnerDep = Annotated[service.CartOwner, Depends(cart_owner)]


async def cart_call(
    settings: SettingsDep, clock: ClockDep, token: TokenDep, client_id: ClientIdHeader = None
) -> views.CartCall:
    return views.CartCall(settings, clock, token, client_id)


CartCallDep = Annotated[views.CartCall, Depends(cart_call)]


@router.get("", response_model=CartPublic, responses=error_responses(400, 401))
async def read_cart(owner: OwnerDep, reads: ReadsDep) -> CartPublic:
    """The caller's cart (signed in, or anonymous by ``X-Client-Id``) at current prices."""
    return await reads.run(views.read, owner)


@router.post(
    "/items",
    status_code=status.HTTP_201_CREATED,
    response_model=CartPublic,
    responses=error_responses(400, 401, 404, 409, 413, 422),
)
async def add_to_cart(
    body: CartItemAdd, call: CartCallDep, writes: WritesDep, request: Request
) -> Response:
    """Add a listing; adding it again raises the quantity. Stock is checked, not held."""
    cart, listing, owner = await writes.run(views.add, call, body)
    track(
        request,
        "add_to_cart",
        user_id=owner.user.id if owner.user else None,
        params={
            "currency": listing.currency,
            "value": to_major(listing.price_minor * body.quantity),
        },
        items=[listing_item(listing, quantity=body.quantity)],
    )
    return model_response(cart, status.HTTP_201_CREATED)


@router.patch(
    "/items/{item_id}",
    response_model=CartPublic,
    responses=error_responses(400, 401, 404, 409, 413, 422),
)
async def change_quantity(
    item_id: uuid.UUID, body: CartItemUpdate, call: CartCallDep, writes: WritesDep
) -> Response:
    return model_response(await writes.run(views.change, call, item_id, body.quantity))


@router.delete(
    "/items/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(400, 401, 404, 422),
)
async def remove_from_cart(item_id: uuid.UUID, call: CartCallDep, writes: WritesDep) -> Response:
    await writes.run(views.remove, call, item_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
