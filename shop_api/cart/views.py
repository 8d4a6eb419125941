"""The cart as its owner sees it, and the units of work of the cart endpoints.

The writes are ``statements_only`` (see ``core.unit_of_work``) and look their caller up
in their own session (``CartCall``), so that authentication and the work share one
session and one round of scheduling.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from shop_api.cart import service
from shop_api.cart.schemas import CartItemAdd, CartLine, CartPublic
from shop_api.core.clock import Clock
from shop_api.core.config import Settings
from shop_api.core.deps import caller_of
from shop_api.core.unit_of_work import statements_only
from shop_api.models import ListingStatus


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
    """Who calls a cart write, resolved inside its unit of work."""

    settings: Settings
    clock: Clock
    token: str | None
    client_id: str | None

    def owner(self, session: Session) -> service.CartOwner:
        user = caller_of(session, self.settings, self.clock.now(), self.token)
        return service.owner_from_request(user, self.client_id)


def read(session: Session, owner: service.CartOwner) -> CartPublic:
    """The owner's cart (signed in, or anonymous by device id) at current prices."""
    cart = service.find_cart(session, owner)
    return cart_public(session, cart.id if cart else None)


@statements_only
def add(
    session: Session, call: CartCall, body: CartItemAdd
) -> tuple[CartPublic, service.ListingSnapshot, service.CartOwner]:
    """Add a listing (again: a higher quantity); the cart, the listing and its owner."""
    owner = call.owner(session)
    cart_id, listing, lines = service.add_item(
        session, call.clock, owner, body.listing_id, body.quantity
    )
    session.commit()
    return cart_view(cart_id, lines), listing, owner


@statements_only
def change(session: Session, call: CartCall, item_id: uuid.UUID, quantity: int) -> CartPublic:
    cart_id = service.update_item(session, call.clock, call.owner(session), item_id, quantity)
    cart = cart_public(session, cart_id)
    session.commit()
    return cart


@statements_only
def remove(session: Session, call: CartCall, item_id: uuid.UUID) -> None:
    service.remove_item(session, call.clock, call.owner(session), item_id)
    session.commit()
