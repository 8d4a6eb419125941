"""Listings as callers see them, and the units of work behind the listing endpoints.

The search page and the listing page are the shop's hottest reads: they go through
``repository`` (one prebuilt statement each, on asyncpg straight to the driver) and are
written as JSON from their rows (``rendering``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from shop_api.catalog.service import find_category
from shop_api.core.clock import Clock
from shop_api.core.config import Settings
from shop_api.core.deps import token_holder
from shop_api.core.errors import NotFound, Unprocessable
from shop_api.core.pagination import PageParams, paginate
from shop_api.core.storage import ObjectStore
from shop_api.core.unit_of_work import statements_only
from shop_api.listings import rendering, repository, service
from shop_api.listings.images import CleanImage
from shop_api.listings.schemas import (
    ImagePublic,
    ListingCreate,
    ListingPage,
    ListingPublic,
    ListingSummary,
    ListingUpdate,
)
from shop_api.models import Listing, ListingImage, ListingStatus, User
from shop_api.search.backends import search_backend_for


def image_public(image: ListingImage, store: ObjectStore) -> ImagePublic:
    return ImagePublic(
        id=image.id,
        url=store.url(image.storage_key),
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        size_bytes=image.size_bytes,
        position=image.position,
    )


def listing_public(
    listing: Listing, images: list[ListingImage], store: ObjectStore
) -> ListingPublic:
    return ListingPublic(
        id=listing.id,
        seller_id=listing.seller_id,
        category_id=listing.category_id,
        title=listing.title,
        description=listing.description,
        price_minor=listing.price_minor,
        currency=listing.currency,
        stock=listing.stock,
        condition=listing.condition,
        attributes=listing.attributes,
        status=listing.status,
        images=[image_public(image, store) for image in images],
        created_at=listing.created_at,
        modified_at=listing.modified_at,
        published_at=listing.published_at,
        rating_count=listing.rating_count,
        rating_average=(
            round(listing.rating_sum / listing.rating_count, 2) if listing.rating_count else None
        ),
    )


def _summaries(session: Session, store: ObjectStore, rows: Sequence[Row]) -> list[ListingSummary]:
    covers = repository.cover_image_keys(session, [row.id for row in rows])
    return [
        ListingSummary(
            **{"score": None, **row._asdict()},
            cover_image_url=store.url(covers[row.id]) if row.id in covers else None,
        )
        for row in rows
    ]


def _with_images(session: Session, listing: Listing, store: ObjectStore) -> ListingPublic:
    images = session.scalars(
        select(ListingImage)
        .where(ListingImage.listing_id == listing.id)
        .order_by(ListingImage.position)
    ).all()
    return listing_public(listing, list(images), store)


def created(
    session: Session,
    clock: Clock,
    settings: Settings,
    seller: User,
    body: ListingCreate,
    store: ObjectStore,
) -> ListingPublic:
    """Create a listing as a draft, or publish it at once."""
    return listing_public(service.create_listing(session, clock, settings, seller, body), [], store)


def updated(
    session: Session,
    clock: Clock,
    actor: User,
    listing_id: uuid.UUID,
    body: ListingUpdate,
    store: ObjectStore,
) -> ListingPublic:
    listing = service.update_listing(session, clock, actor, listing_id, body)
    return _with_images(session, listing, store)


def search_page(
    session: Session,
    caller: Callable[[Session], uuid.UUID | None],
    store: ObjectStore,
    page: PageParams,
    *,
    query: str | None,
    category: str | None,
    filters: dict[str, Any],
) -> tuple[bytes, int, uuid.UUID | None]:
    """A page of search results (JSON), its total, and, for a search with words, the
    signed-in caller (``caller(session)``) for the search event."""
    backend = search_backend_for(session.get_bind().dialect.name)
    search_filters = repository.SearchFilters(query=query, category=category, **filters)
    rows, total = repository.search(
        session, backend, search_filters, limit=page.page_size, offset=page.offset
    )
    # The search itself resolves the category; only an empty result can hide a bad one.
    if not total and category is not None and find_category(session, category) is None:
        raise Unprocessable(
            f"Category {category!r} does not exist",
            details=[{"loc": ["query", "category"], "msg": "unknown category"}],
        )
    body = rendering.search_page_json(store, rows, total, page)
    return body, total, caller(session) if query else None


def listing_page(
    session: Session, actor: User | None, listing_id: uuid.UUID, store: ObjectStore
) -> tuple[Row, bytes]:
    """The listing (for the view_item event) and its page as JSON."""
    rows = repository.readable_page_rows(session, actor, listing_id)
    if not rows:
        raise NotFound("Listing not found")
    return rows[0], rendering.listing_page_json(rows, store)


def own_listings(
    session: Session,
    seller: User,
    store: ObjectStore,
    page: PageParams,
    status: ListingStatus | None,
) -> ListingPage:
    """The seller's own listings in every status (or one), newest first."""
    statement = select(*repository.SUMMARY_COLUMNS).where(Listing.seller_id == seller.id)
    if status is not None:
        statement = statement.where(Listing.status == status)
    rows = paginate(session, statement, page, Listing.created_at.desc(), Listing.id)
    return ListingPage(
        data=_summaries(session, store, rows.items), count=rows.count, page=rows.page,
        page_size=rows.page_size,
    )  # fmt: skip


@dataclass(frozen=True)
class ImageUpload:
    """Who uploads an image to which listing, resolved inside each unit of work."""

    settings: Settings
    clock: Clock
    token: str
    listing_id: uuid.UUID

    def uploader(self, session: Session) -> User:
        return token_holder(session, self.settings, self.clock.now(), self.token)


def check_upload(session: Session, upload: ImageUpload) -> None:
    service.check_room_for_image(
        session, upload.settings, upload.uploader(session), upload.listing_id
    )


@statements_only
def record_upload(
    session: Session, upload: ImageUpload, image: CleanImage, image_id: uuid.UUID, key: str
) -> ListingImage:
    return service.add_image(
        session, upload.clock, upload.settings, upload.uploader(session),
        upload.listing_id, image_id, key, image,
    )  # fmt: skip


def delete_image(
    session: Session,
    store: ObjectStore,
    actor: User,
    listing_id: uuid.UUID,
    image_id: uuid.UUID,
) -> None:
    service.delete_image(session, store, actor, listing_id, image_id)
