"""Carts for signed-in users and for anonymous devices, merged at login."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Delete,
    Insert,
    Integer,
    Select,
    Table,
    Update,
    bindparam,
    case,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shop_api.core.clock import Clock
from shop_api.core.errors import BadRequest, Conflict, NotFound, Unauthorized
from shop_api.core.typed_sql import table_of
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


class ListingSnapshot(NamedTuple):
    """The listing fields a cart line shows and a checkout prices, read with the line."""

    id: uuid.UUID
    seller_id: uuid.UUID
    category_id: uuid.UUID
    title: str
    price_minor: int
    currency: str
    status: ListingStatus
    stock: int


class Line(NamedTuple):
    item_id: uuid.UUID
    quantity: int
    listing: ListingSnapshot


# Hot paths (every cart call and checkout) use prebuilt statements with bound values:
# nothing to build or to derive a cache key from per request, and plain rows, not entities.
_SNAPSHOT_COLUMNS = (
    Listing.id, Listing.seller_id, Listing.category_id, Listing.title, Listing.price_minor,
    Listing.currency, Listing.status, Listing.stock,
)  # fmt: skip


def _lines_of(cart: Any) -> Select:
    """A cart's lines with their listings, in the order they were added; ``cart`` is the
    condition that picks the cart."""
    return (
        select(CartItem.id, CartItem.quantity, *_SNAPSHOT_COLUMNS)
        .join(Listing, Listing.id == CartItem.listing_id)
        .where(cart)
        .order_by(CartItem.created_at, CartItem.id)
    )


_LINES = _lines_of(CartItem.cart_id == bindparam("cart_id"))
# Checkout knows the buyer, not the cart.
_USER_LINES = _lines_of(
    CartItem.cart_id
    == select(Cart.id).where(Cart.user_id == bindparam("user_id")).scalar_subquery()
)


def _as_lines(rows: Any) -> list[Line]:
    return [Line(row[0], row[1], ListingSnapshot(*row[2:])) for row in rows]


_line_listings = Listing.__table__.alias("line_listing")
_LINE_SNAPSHOT_COLUMNS = tuple(
    _line_listings.c[column.key].label(f"line_{column.key}") for column in _SNAPSHOT_COLUMNS
)


def _add_context(owner_column: Any) -> Select:
    """The listing, the owner's cart and all the cart's lines with their listings, in one
    read: one row per line (one row with null line columns when the cart is empty or
    does not exist), in the order the lines were added."""
    return (
        select(
            *_SNAPSHOT_COLUMNS,
            Cart.id.label("cart_id"),
            CartItem.id.label("item_id"),
            CartItem.quantity.label("item_quantity"),
            *_LINE_SNAPSHOT_COLUMNS,
        )
        .select_from(Listing)
        .outerjoin(Cart, owner_column == bindparam("owner"))
        .outerjoin(CartItem, CartItem.cart_id == Cart.id)
        .outerjoin(_line_listings, _line_listings.c.id == CartItem.listing_id)
        .where(Listing.id == bindparam("listing_id"))
        .order_by(CartItem.created_at, CartItem.id)
    )


_ADD_CONTEXT_BY_USER = _add_context(Cart.user_id)
_ADD_CONTEXT_BY_CLIENT = _add_context(Cart.client_id)
_carts, _cart_items = table_of(Cart), table_of(CartItem)


# INSERT ... ON CONFLICT is the same SQL on both databases; each dialect has the construct.
_DIALECT_INSERTS: dict[str, Callable[[Table], Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def _create_cart(insert: Callable[[Table], Any]) -> Insert:
    """The owner's cart, unless a concurrent request just created it: RETURNING its id,
    or nothing."""
    return insert(_carts).on_conflict_do_nothing().returning(_carts.c.id)


def _add_line(insert: Callable[[Table], Any]) -> Insert:
    """Add units to the cart's line of a listing, creating it if needed, unless the line
    would then hold more than ``cap``: RETURNING the line's id and quantity, or nothing.

    One statement, so concurrent adds of one listing (a double click) each count, and
    the cap holds whatever they read: no lost update, no duplicate line.
    """
    statement = insert(_cart_items)
    total = _cart_items.c.quantity + statement.excluded.quantity
    return statement.on_conflict_do_update(
        index_elements=[_cart_items.c.cart_id, _cart_items.c.listing_id],
        set_={"quantity": total, "modified_at": statement.excluded.modified_at},
        where=total <= bindparam("cap"),
    ).returning(_cart_items.c.id, _cart_items.c.quantity)


def _merge_line(insert: Callable[[Table], Any]) -> Insert:
    """Put units in the cart's line of a listing, adding up with what it holds, at most
    ``cap`` in all (a merge keeps what fits rather than refusing)."""
    statement = insert(_cart_items)
    total = _cart_items.c.quantity + statement.excluded.quantity
    cap = bindparam("cap", type_=Integer)
    capped = case((total > cap, cap), else_=total)
    return statement.on_conflict_do_update(
        index_elements=[_cart_items.c.cart_id, _cart_items.c.listing_id],
        set_={"quantity": capped, "modified_at": statement.excluded.modified_at},
    )


_CREATE_CART = {name: _create_cart(insert) for name, insert in _DIALECT_INSERTS.items()}
_ADD_LINE = {name: _add_line(insert) for name, insert in _DIALECT_INSERTS.items()}
_MERGE_LINE = {name: _merge_line(insert) for name, insert in _DIALECT_INSERTS.items()}
_CART_OF = {
    "user": select(_carts.c.id).where(_carts.c.user_id == bindparam("owner")),
    "client": select(_carts.c.id).where(_carts.c.client_id == bindparam("owner")),
}


def find_cart(session: Session, owner: CartOwner) -> Cart | None:
    if owner.user is not None:
        return session.scalar(select(Cart).where(Cart.user_id == owner.user.id))
    return session.scalar(select(Cart).where(Cart.client_id == owner.client_id))


def _create_or_find_cart(connection: Connection, owner: CartOwner, now: datetime) -> uuid.UUID:
    """The id of the owner's cart, created now unless it exists (or a concurrent request
    creates it meanwhile: no unique violation, its cart is used)."""
    created = connection.execute(
        _CREATE_CART[connection.dialect.name],
        {"id": uuid.uuid4(), "user_id": owner.user.id if owner.user else None,
         "client_id": owner.client_id, "created_at": now, "modified_at": now},
    ).scalar()  # fmt: skip
    if created is not None:
        return created
    if owner.user is not None:
        return connection.execute(_CART_OF["user"], {"owner": owner.user.id}).scalar_one()
    return connection.execute(_CART_OF["client"], {"owner": owner.client_id}).scalar_one()


def cart_lines(session: Session, cart_id: uuid.UUID | None) -> list[Line]:
    """The cart's lines in the order they were added, with their listings as they are now."""
    if cart_id is None:
        return []
    return _as_lines(session.connection().execute(_LINES, {"cart_id": cart_id}))


def user_cart_lines(session: Session, user_id: uuid.UUID) -> list[Line]:
    """The lines of a user's cart (none when there is no cart), as ``cart_lines``."""
    return _as_lines(session.connection().execute(_USER_LINES, {"user_id": user_id}))


def add_item(
    session: Session, clock: Clock, owner: CartOwner, listing_id: uuid.UUID, quantity: int
) -> tuple[uuid.UUID, ListingSnapshot, list[Line]]:
    """Put ``quantity`` more of a listing in the cart; returns (cart id, listing, the cart's
    lines after the change). The caller commits.

    The lines come from the same read as the listing, with this change applied, rather
    than from a second read after the write: a cart call is a round trip shorter.
    """
    statement, key = (
        (_ADD_CONTEXT_BY_USER, owner.user.id)
        if owner.user is not None
        else (_ADD_CONTEXT_BY_CLIENT, owner.client_id)
    )
    # Core statements on the session's connection: the ORM's execute adds nothing here.
    connection = session.connection()
    rows = connection.execute(statement, {"owner": key, "listing_id": listing_id}).all()
    if not rows or rows[0].status not in (ListingStatus.active, ListingStatus.sold_out):
        raise NotFound("Listing not found")
    first = rows[0]
    listing = ListingSnapshot(*first[:8])
    if owner.user is not None and listing.seller_id == owner.user.id:
        raise Conflict("You cannot buy your own listing")
    if listing.status != ListingStatus.active:
        raise Conflict("This listing is sold out")
    lines = [
        Line(row.item_id, row.item_quantity, ListingSnapshot(*row[11:]))
        for row in rows
        if row.item_id is not None
    ]
    index = next((i for i, line in enumerate(lines) if line.listing.id == listing_id), None)
    wanted = quantity + (lines[index].quantity if index is not None else 0)
    refused = _too_many(listing, wanted)
    if refused is not None:
        raise refused
    cap = min(listing.stock, MAX_QUANTITY)
    now = clock.now()
    cart_id = first.cart_id or _create_or_find_cart(connection, owner, now)
    added = connection.execute(
        _ADD_LINE[connection.dialect.name],
        {"id": uuid.uuid4(), "cart_id": cart_id, "listing_id": listing_id, "quantity": quantity,
         "created_at": now, "modified_at": now, "cap": cap},
    ).one_or_none()  # fmt: skip
    if added is None:  # concurrent adds took the line to the cap after it was read
        refused = _too_many(listing, cap + 1)
        assert refused is not None
        raise refused
    line = Line(added.id, added.quantity, listing)
    if index is None:
        lines.append(line)
    else:
        lines[index] = line
    return cart_id, listing, lines


def _too_many(listing: ListingSnapshot, wanted: int) -> Conflict | None:
    """The refusal of a line of more units than are in stock, or than a cart may hold."""
    if wanted > listing.stock:
        return Conflict(f"Only {listing.stock} in stock", details={"available": listing.stock})
    if wanted > MAX_QUANTITY:
        return Conflict(f"At most {MAX_QUANTITY} of one item per cart")
    return None


def _owned_item(session: Session, owner: CartOwner, item_id: uuid.UUID) -> tuple[Cart, CartItem]:
    cart = find_cart(session, owner)
    item = session.get(CartItem, item_id)
    if cart is None or item is None or item.cart_id != cart.id:
        raise NotFound("Cart item not found")
    return cart, item


def update_item(
    session: Session, clock: Clock, owner: CartOwner, item_id: uuid.UUID, quantity: int
) -> uuid.UUID:
    """Set a line's quantity; the caller commits. A line removed meanwhile (by a
    concurrent request) is not found, as it would be afterwards."""
    cart, item = _owned_item(session, owner, item_id)
    listing = session.get(Listing, item.listing_id)
    if listing is not None and quantity > listing.stock:
        raise Conflict(f"Only {listing.stock} in stock", details={"available": listing.stock})
    _still_there(
        session,
        update(CartItem)
        .where(CartItem.id == item.id)
        .values(quantity=quantity, modified_at=clock.now()),
    )
    return cart.id


def remove_item(session: Session, clock: Clock, owner: CartOwner, item_id: uuid.UUID) -> None:
    """Take a line out; the caller commits. The cart's ``modified_at`` records it: a
    removed line leaves no row of its own for the warehouse's incremental loads to see.
    Of concurrent removals of one line, one removes it; the others do not find it."""
    cart, item = _owned_item(session, owner, item_id)
    _still_there(session, delete(CartItem).where(CartItem.id == item.id))
    cart.modified_at = clock.now()


def _still_there(session: Session, statement: Update | Delete) -> None:
    """Change the line, or find out that a concurrent request removed it first (404)."""
    changed = session.execute(
        statement.returning(CartItem.id).execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if changed is None:
        raise NotFound("Cart item not found")


def merge_anonymous_cart(session: Session, clock: Clock, user: User, client_id: str) -> int:
    """Move a device's cart into the user's at login; quantities add up, capped by stock.

    The device's cart is locked before it is read: of concurrent logins from one device
    one merges it, and the others, let in once it is gone, find nothing to merge. Lines
    go into the account's cart as adding does (one INSERT ... ON CONFLICT each), so a
    concurrent add from another device is neither lost nor a duplicate line.
    """
    if not CLIENT_ID.match(client_id):
        return 0
    anonymous = session.scalar(
        select(Cart)
        .where(Cart.client_id == client_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if anonymous is None:
        return 0
    now = clock.now()
    connection = session.connection()
    target = _create_or_find_cart(connection, CartOwner(user=user, client_id=None), now)
    moved = 0
    for line in cart_lines(session, anonymous.id):
        listing = line.listing
        if listing.seller_id == user.id:
            continue
        cap = min(MAX_QUANTITY, max(listing.stock, 1))
        connection.execute(
            _MERGE_LINE[connection.dialect.name],
            {"id": uuid.uuid4(), "cart_id": target, "listing_id": listing.id,
             "quantity": min(cap, line.quantity), "created_at": now, "modified_at": now,
             "cap": cap},
        )  # fmt: skip
        moved += 1
    session.execute(delete(CartItem).where(CartItem.cart_id == anonymous.id))
    session.delete(anonymous)
    session.execute(
        update(Cart)
        .where(Cart.id == target)
        .values(modified_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return moved
