from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status
from sqlalchemy.orm import Session

from shop_api.cart import service
from shop_api.cart.schemas import CartItemAdd, CartItemUpdate, CartLine, CartPublic
from shop_api.core.clock import Clock
from shop_api.core.config import Settings
from shop_api.core.deps import (
    ClockDep,
    OptionalUser,
    SessionDep,
    SettingsDep,
    TokenDep,
    WritesDep,
    caller_of,
)
from shop_api.core.errors import error_responses
from shop_api.core.responses import model_response
from shop_api.models import ListingStatus
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


def cart_owner(user: OptionalUser, client_id: ClientIdHeader = None) -> service.CartOwner:
    return service.owner_from_request(user, client_id)


OwnerDep = Annotated[service.CartOwner, Depends(cart_owner)]


def cart_public(session: Session, cart_id: uuid.UUID | None) -> CartPublic:
    """The cart at current prices; unavailable lines are listed but not summed."""
    return cart_view(cart_id, service.cart_lines(session, cart_id))


def cart_view(cart_id: uuid.UUID | None, cart_lines: list[service.Line]) -> CartPublic:
    lines = []
    subtotal = 0
    currencies = set()
    for line in cart_lines:
        listing = line.listing
        available = listing.status == ListingStatus.active and listing.stock >= line.quantity
        line_total = listing.price_minor * line.quantity
        if available:
            subtotal += line_total
            currencies.add(listing.currency)
        lines.append(
            CartLine(
                id=line.item_id,
                listing_id=listing.id,
                seller_id=listing.seller_id,
                title=listing.title,
                unit_price_minor=listing.price_minor,
                currency=listing.currency,
                quantity=line.quantity,
                line_total_minor=line_total,
                available=available,
                stock=listing.stock,
            )
        )
    return CartPublic(
        id=cart_id,
        items=lines,
        item_count=sum(line.quantity for line in lines),
        subtotal_minor=subtotal,
        currency=currencies.pop() if len(currencies) == 1 else None,
    )


@dataclass(frozen=True)
class CartCall:
    """Who calls a cart write, resolved inside its unit of work (see ``Writes``)."""

    settings: Settings
    clock: Clock
    token: str | None
    client_id: str | None

    def owner(self, session: Session) -> service.CartOwner:
        user = caller_of(session, self.settings, self.clock.now(), self.token)
        return service.owner_from_request(user, self.client_id)


async def cart_call(
    settings: SettingsDep, clock: ClockDep, token: TokenDep, client_id: ClientIdHeader = None
) -> CartCall:
    return CartCall(settings, clock, token, client_id)


CartCallDep = Annotated[CartCall, Depends(cart_call)]


@router.get("", response_model=CartPublic, responses=error_responses(400, 401))
def read_cart(owner: OwnerDep, session: SessionDep) -> CartPublic:
    """The caller's cart (signed in, or anonymous by ``X-Client-Id``) at current prices."""
    cart = service.find_cart(session, owner)
    return cart_public(session, cart.id if cart else None)


def _add(
    session: Session, call: CartCall, body: CartItemAdd
) -> tuple[CartPublic, service.ListingSnapshot, service.CartOwner]:
    owner = call.owner(session)
    cart_id, listing, lines = service.add_item(
        session, call.clock, owner, body.listing_id, body.quantity
    )
    session.commit()
    return cart_view(cart_id, lines), listing, owner


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
    cart, listing, owner = await writes.run(_add, call, body)
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


def _change(session: Session, call: CartCall, item_id: uuid.UUID, quantity: int) -> CartPublic:
    cart_id = service.update_item(session, call.clock, call.owner(session), item_id, quantity)
    cart = cart_public(session, cart_id)
    session.commit()
    return cart


@router.patch(
    "/items/{item_id}",
    response_model=CartPublic,
    responses=error_responses(400, 401, 404, 409, 413, 422),
)
async def change_quantity(
    item_id: uuid.UUID, body: CartItemUpdate, call: CartCallDep, writes: WritesDep
) -> Response:
    return model_response(await writes.run(_change, call, item_id, body.quantity))


def _remove(session: Session, call: CartCall, item_id: uuid.UUID) -> None:
    service.remove_item(session, call.clock, call.owner(session), item_id)
    session.commit()


@router.delete(
    "/items/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(400, 401, 404, 422),
)
async def remove_from_cart(item_id: uuid.UUID, call: CartCallDep, writes: WritesDep) -> Response:
    await writes.run(_remove, call, item_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
