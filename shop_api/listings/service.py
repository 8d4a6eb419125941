"""Listing rules: who may publish and edit, the status machine, stock and images."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from shop_api.catalog.service import find_category
from shop_api.core.clock import Clock
from shop_api.core.config import Settings
from shop_api.core.errors import Conflict, NotFound, NotPermitted, Unprocessable
from shop_api.core.storage import ObjectStore
from shop_api.listings import repository
from shop_api.listings.images import CleanImage
from shop_api.listings.schemas import ListingCreate, ListingUpdate
from shop_api.models import Category, Listing, ListingImage, ListingStatus, User, UserRole

# Statuses a seller may move a listing to; sold_out is only ever set by stock running out.
ALLOWED_TRANSITIONS: dict[ListingStatus, frozenset[ListingStatus]] = {
    ListingStatus.draft: frozenset({ListingStatus.active}),
    ListingStatus.active: frozenset({ListingStatus.paused}),
    ListingStatus.paused: frozenset({ListingStatus.active}),
    ListingStatus.sold_out: frozenset({ListingStatus.paused}),
}


def _category_from_body(session: Session, slug_or_id: str) -> Category:
    category = find_category(session, slug_or_id)
    if category is None:
        raise Unprocessable(
            f"Category {slug_or_id!r} does not exist",
            details=[{"loc": ["body", "category"], "msg": "unknown category"}],
        )
    return category


def create_listing(
    session: Session, clock: Clock, settings: Settings, seller: User, body: ListingCreate
) -> Listing:
    if seller.role != UserRole.seller:
        raise NotPermitted("Only seller accounts can publish listings")
    category = _category_from_body(session, body.category)
    now = clock.now()
    listing = Listing(
        seller_id=seller.id,
        category_id=category.id,
        title=body.title.strip(),
        description=body.description,
        price_minor=body.price_minor,
        currency=body.currency or settings.default_currency,
        stock=body.stock,
        condition=body.condition,
        attributes=body.attributes,
        status=ListingStatus.draft,
        created_at=now,
        modified_at=now,
    )
    if body.status == "active":
        _change_status(listing, ListingStatus.active, clock)
    session.add(listing)
    session.commit()
    return listing


def get_editable_listing(
    session: Session, actor: User, listing_id: uuid.UUID, *, for_update: bool = False
) -> Listing:
    """404 when the caller cannot see it, 403 when they can see but not change it.
    ``for_update`` locks its row until the transaction ends."""
    listing = repository.get_readable(session, actor, listing_id, for_update=for_update)
    if listing is None:
        raise NotFound("Listing not found")
    if actor.role != UserRole.staff and listing.seller_id != actor.id:
        raise NotPermitted("Only the listing's seller can change it")
    return listing


def _change_status(listing: Listing, target: ListingStatus, clock: Clock) -> None:
    if target == listing.status:
        return
    if target not in ALLOWED_TRANSITIONS[listing.status]:
        raise Conflict(
            f"A {listing.status.value} listing cannot become {target.value}",
            details={"from": listing.status.value, "to": target.value},
        )
    if target == ListingStatus.active and listing.stock == 0:
        raise Conflict("A listing without stock cannot be published")
    listing.status = target
    if target == ListingStatus.active and listing.published_at is None:
        listing.published_at = clock.now()


def _follow_stock(listing: Listing) -> None:
    if listing.status == ListingStatus.active and listing.stock == 0:
        listing.status = ListingStatus.sold_out
    elif listing.status == ListingStatus.sold_out and listing.stock > 0:
        listing.status = ListingStatus.active


def update_listing(
    session: Session, clock: Clock, actor: User, listing_id: uuid.UUID, body: ListingUpdate
) -> Listing:
    listing = get_editable_listing(session, actor, listing_id)
    changes = body.model_dump(exclude_unset=True)
    if "category" in changes and changes["category"] is not None:
        listing.category_id = _category_from_body(session, changes.pop("category")).id
    target_status = changes.pop("status", None)
    for field in (
        "title",
        "description",
        "price_minor",
        "currency",
        "stock",
        "condition",
        "attributes",
    ):
        if field in changes and changes[field] is not None:
            setattr(listing, field, changes[field])
    # Stock first, so a sold-out listing restocked in the same request is active again.
    _follow_stock(listing)
    if target_status is not None:
        _change_status(listing, ListingStatus(target_status), clock)
    _follow_stock(listing)
    listing.modified_at = clock.now()
    session.commit()
    return listing


def check_room_for_image(
    session: Session, settings: Settings, actor: User, listing_id: uuid.UUID
) -> None:
    """What ``add_image`` would refuse (404, 403, 409), checked before an upload is
    decoded, so that refused uploads cost no decoding."""
    listing = get_editable_listing(session, actor, listing_id)
    _check_image_count(session, settings, listing)


def _check_image_count(session: Session, settings: Settings, listing: Listing) -> int:
    """The next free position; Conflict when the listing has all the images it may."""
    count, position = repository.count_images(session, listing.id)
    if count >= settings.max_images_per_listing:
        raise Conflict(f"A listing has at most {settings.max_images_per_listing} images")
    return position


def add_image(
    session: Session,
    clock: Clock,
    settings: Settings,
    actor: User,
    listing_id: uuid.UUID,
    image_id: uuid.UUID,
    storage_key: str,
    image: CleanImage,
) -> ListingImage:
    """Records an image already cleaned and stored (``clean_image``, then the object
    store: both slow, so both happen before this short transaction). The listing's row
    is locked while its images are counted, so two uploads cannot take one position."""
    listing = get_editable_listing(session, actor, listing_id, for_update=True)
    position = _check_image_count(session, settings, listing)
    now = clock.now()
    row = ListingImage(
        id=image_id,
        listing_id=listing.id,
        storage_key=storage_key,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        size_bytes=len(image.data),
        sha256=image.sha256,
        position=position,
        created_at=now,
        modified_at=now,
    )
    session.add(row)
    listing.modified_at = now
    session.commit()
    return row


def delete_image(
    session: Session, store: ObjectStore, actor: User, listing_id: uuid.UUID, image_id: uuid.UUID
) -> None:
    listing = get_editable_listing(session, actor, listing_id)
    image = session.get(ListingImage, image_id)
    if image is None or image.listing_id != listing.id:
        raise NotFound("Image not found")
    key = image.storage_key
    session.delete(image)
    session.commit()
    store.delete(key)
