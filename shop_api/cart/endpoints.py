from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status

from shop_api.cart import service
from shop_api.cart.schemas import CartItemAdd, CartItemUpdate, CartLine, CartPublic
from shop_api.core.deps import ClockDep, OptionalUser, SessionDep
from shop_api.core.errors import error_responses
from shop_api.models import Listing, ListingStatus
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


def render_cart(session: SessionDep, owner: service.CartOwner) -> CartPublic:
    cart = service.find_cart(session, owner)
    lines = []
    subtotal = 0
    currencies = set()
    for item, listing in service.cart_lines(session, cart):
        available = listing.status == ListingStatus.active and listing.stock >= item.quantity
        line_total = listing.price_minor * item.quantity
        if available:
            subtotal += line_total
            currencies.add(listing.currency)
        lines.append(
            CartLine(
                id=item.id,
                listing_id=listing.id,
                seller_id=listing.seller_id,
                title=listing.title,
                unit_price_minor=listing.price_minor,
                currency=listing.currency,
                quantity=item.quantity,
                line_total_minor=line_total,
                available=available,
                stock=listing.stock,
            )
        )
    return CartPublic(
        id=cart.id if cart else None,
        items=lines,
        item_count=sum(line.quantity for line in lines),
        subtotal_minor=subtotal,
        currency=currencies.pop() if len(currencies) == 1 else None,
    )


@router.get("", response_model=CartPublic, responses=error_responses(400, 401))
def read_cart(owner: OwnerDep, session: SessionDep) -> CartPublic:
    """The caller's cart (signed in, or anonymous by ``X-Client-Id``) at current prices."""
    return render_cart(session, owner)


@router.post(
    "/items",
    status_code=status.HTTP_201_CREATED,
    response_model=CartPublic,
    responses=error_responses(400, 401, 404, 409, 422),
)
def add_to_cart(
    body: CartItemAdd, owner: OwnerDep, session: SessionDep, clock: ClockDep, request: Request
) -> CartPublic:
    """Add a listing; adding it again raises the quantity. Stock is checked, not held."""
    service.add_item(session, clock, owner, body.listing_id, body.quantity)
    listing = session.get(Listing, body.listing_id)
    if listing is not None:
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
    return render_cart(session, owner)


@router.patch(
    "/items/{item_id}",
    response_model=CartPublic,
    responses=error_responses(400, 401, 404, 409, 422),
)
def change_quantity(
    item_id: uuid.UUID, body: CartItemUpdate, owner: OwnerDep, session: SessionDep,
    clock: ClockDep,
) -> CartPublic:  # fmt: skip
    service.update_item(session, clock, owner, item_id, body.quantity)
    return render_cart(session, owner)


@router.delete(
    "/items/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(400, 401, 404, 422),
)
def remove_from_cart(item_id: uuid.UUID, owner: OwnerDep, session: SessionDep) -> Response:
    service.remove_item(session, owner, item_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
