"""Carts for signed-in users and for anonymous devices, merged at login."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shop_api.core.clock import Clock
from shop_api.core.errors import BadRequest, Conflict, NotFound, Unauthorized
from shop_api.models import Listing, ListingStatus, User
from shop_api.models.cart import Cart, CartItem

CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
MAX_QUANTITY = 99


@dataclass(frozen=True)
class CartOwner:
    """Whose cart: a user, or an anonymous device by its ``client_id``."""

    user: User | None
    client_id: str | None


def owner_from_request(user: User | None, client_id: str | None) -> CartOwner:
    if user is not None:
        return CartOwner(user=user, client_id=None)
    if client_id is None:
        raise Unauthorized("Sign in, or send X-Client-Id to use an anonymous cart")
    if not CLIENT_ID.match(client_id):
        raise BadRequest("X-Client-Id must be 8-64 characters of letters, digits or ._:-")
    return CartOwner(user=None, client_id=client_id)


def find_cart(session: Session, owner: CartOwner) -> Cart | None:
    if owner.user is not None:
        return session.scalar(select(Cart).where(Cart.user_id == owner.user.id))
    return session.scalar(select(Cart).where(Cart.client_id == owner.client_id))


def get_or_create_cart(session: Session, owner: CartOwner, clock: Clock) -> Cart:
    cart = find_cart(session, owner)
    if cart is None:
        now = clock.now()
        cart = Cart(
            user_id=owner.user.id if owner.user else None,
            client_id=owner.client_id,
            created_at=now,
            modified_at=now,
        )
        session.add(cart)
        session.flush()
    return cart


def cart_lines(session: Session, cart: Cart | None) -> list[tuple[CartItem, Listing]]:
    if cart is None:
        return []
    return list(
        session.execute(
            select(CartItem, Listing)
            .join(Listing, Listing.id == CartItem.listing_id)
            .where(CartItem.cart_id == cart.id)
            .order_by(CartItem.created_at, CartItem.id)
        ).all()
    )


def add_item(
    session: Session, clock: Clock, owner: CartOwner, listing_id: uuid.UUID, quantity: int
) -> tuple[Cart, Listing]:
    """Put ``quantity`` more of a listing in the cart; the caller commits (after it has
    read the cart back in the same transaction)."""
    listing = session.get(Listing, listing_id)
    if listing is None or listing.status not in (ListingStatus.active, ListingStatus.sold_out):
        raise NotFound("Listing not found")
    if owner.user is not None and listing.seller_id == owner.user.id:
        raise Conflict("You cannot buy your own listing")
    if listing.status != ListingStatus.active:
        raise Conflict("This listing is sold out")
    cart = get_or_create_cart(session, owner, clock)
    item = session.scalar(
        select(CartItem).where(CartItem.cart_id == cart.id, CartItem.listing_id == listing_id)
    )
    wanted = quantity + (item.quantity if item else 0)
    if wanted > listing.stock:
        raise Conflict(f"Only {listing.stock} in stock", details={"available": listing.stock})
    if wanted > MAX_QUANTITY:
        raise Conflict(f"At most {MAX_QUANTITY} of one item per cart")
    now = clock.now()
    if item is None:
        item = CartItem(
            cart_id=cart.id, listing_id=listing_id, quantity=quantity, created_at=now,
            modified_at=now,
        )  # fmt: skip
        session.add(item)
    else:
        item.quantity = wanted
        item.modified_at = now
    cart.modified_at = now
    return cart, listing


def _owned_item(session: Session, owner: CartOwner, item_id: uuid.UUID) -> tuple[Cart, CartItem]:
    cart = find_cart(session, owner)
    item = session.get(CartItem, item_id)
    if cart is None or item is None or item.cart_id != cart.id:
        raise NotFound("Cart item not found")
    return cart, item


def update_item(
    session: Session, clock: Clock, owner: CartOwner, item_id: uuid.UUID, quantity: int
) -> Cart:
    """Set a line's quantity; the caller commits."""
    cart, item = _owned_item(session, owner, item_id)
    listing = session.get(Listing, item.listing_id)
    if listing is not None and quantity > listing.stock:
        raise Conflict(f"Only {listing.stock} in stock", details={"available": listing.stock})
    now = clock.now()
    item.quantity = quantity
    item.modified_at = now
    cart.modified_at = now
    return cart


def remove_item(session: Session, clock: Clock, owner: CartOwner, item_id: uuid.UUID) -> None:
    """Take a line out; the caller commits."""
    cart, item = _owned_item(session, owner, item_id)
    session.delete(item)
    cart.modified_at = clock.now()


def merge_anonymous_cart(session: Session, clock: Clock, user: User, client_id: str) -> int:
    """Move a device's cart into the user's at login; quantities add up, capped by stock."""
    if not CLIENT_ID.match(client_id):
        return 0
    anonymous = session.scalar(select(Cart).where(Cart.client_id == client_id))
    if anonymous is None:
        return 0
    target = get_or_create_cart(session, CartOwner(user=user, client_id=None), clock)
    existing = {
        item.listing_id: item
        for item in session.scalars(select(CartItem).where(CartItem.cart_id == target.id))
    }
    moved = 0
    now = clock.now()
    for item, listing in cart_lines(session, anonymous):
        if listing.seller_id == user.id:
            continue
        cap = min(MAX_QUANTITY, max(listing.stock, 1))
        if item.listing_id in existing:
            mine = existing[item.listing_id]
            mine.quantity = min(cap, mine.quantity + item.quantity)
            mine.modified_at = now
        else:
            session.add(
                CartItem(
                    cart_id=target.id, listing_id=item.listing_id,
                    quantity=min(cap, item.quantity), created_at=now, modified_at=now,
                )
            )  # fmt: skip
        moved += 1
    session.execute(delete(CartItem).where(CartItem.cart_id == anonymous.id))
    session.delete(anonymous)
    target.modified_at = now
    session.commit()
    return moved
