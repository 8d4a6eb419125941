from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from shop_api.catalog.service import find_category
from shop_api.core.clock import Clock
from shop_api.core.config import Settings
from shop_api.core.deps import (
    ClockDep,
    CurrentSeller,
    CurrentUser,
    ObjectStoreDep,
    OptionalReader,
    ReadOnlyReadsDep,
    SessionDep,
    SettingsDep,
    TokenDep,
    WritesDep,
    token_holder,
)
from shop_api.core.errors import (
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unprocessable,
    error_responses,
)
from shop_api.core.pagination import PageDep, PageParams
from shop_api.core.responses import model_response
from shop_api.core.storage import ObjectStore
from shop_api.listings import rendering, repository, service
from shop_api.listings.images import CleanImage, clean_image
from shop_api.listings.schemas import (
    ImagePublic,
    ListingCreate,
    ListingPage,
    ListingPublic,
    ListingSummary,
    ListingUpdate,
    SearchQuery,
)
from shop_api.models import Listing, ListingImage, ListingStatus, User
from shop_api.search.backends import SearchBackend
from shop_api.tracking.outbox import to_major
from shop_api.tracking.server_events import caller_id, listing_item, track

router = APIRouter(prefix="/listings", tags=["listings"])
me_router = APIRouter(prefix="/me", tags=["me"])


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


def _summaries(
    session: SessionDep, store: ObjectStore, rows: Sequence[Row]
) -> list[ListingSummary]:
    covers = repository.cover_image_keys(session, [row.id for row in rows])
    return [
        ListingSummary(
            **{"score": None, **row._asdict()},
            cover_image_url=store.url(covers[row.id]) if row.id in covers else None,
        )
        for row in rows
    ]


def _with_images(session: SessionDep, listing: Listing, store: ObjectStore) -> ListingPublic:
    images = session.scalars(
        select(ListingImage)
        .where(ListingImage.listing_id == listing.id)
        .order_by(ListingImage.position)
    ).all()
    return listing_public(listing, list(images), store)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ListingPublic,
    responses=error_responses(401, 403, 413, 422),
)
def create_listing(
    body: ListingCreate,
    seller: CurrentSeller,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    store: ObjectStoreDep,
) -> ListingPublic:
    """Create a listing as a draft, or publish it at once with ``status: active``."""
    listing = service.create_listing(session, clock, settings, seller, body)
    return listing_public(listing, [], store)


@router.get("", response_model=ListingPage, responses=error_responses(422))
async def search_listings(
    request: Request, reads: ReadOnlyReadsDep, params: Annotated[SearchQuery, Query()]
) -> Response:
    """Search active listings: every word must match, best matches first."""
    low, high = params.min_price, params.max_price
    if low is not None and high is not None and low > high:
        raise Unprocessable(
            "min_price is greater than max_price",
            details=[{"loc": ["query", "min_price"], "msg": "greater than max_price"}],
        )
    query = params.q.strip() if params.q else None
    page = params.page_params
    # Like the listing page, one short read (see ShortReads) rather than a def endpoint.
    state = request.app.state
    body, total, user_id = await reads.run(
        _search_page,
        request,
        state.search_backend,
        state.object_store,
        page,
        query=query,
        category=params.category,
        filters=dict(
            min_price=params.min_price,
            max_price=params.max_price,
            condition=params.condition,
            seller_id=params.seller_id,
            sort=params.sort,
        ),
    )
    if query:
        track(
            request,
            "search",
            user_id=user_id,
            params={"search_term": query, "result_count": total, "page": page.page,
                    "category": params.category, "sort": params.sort},
        )  # fmt: skip
    return rendering.json_response(body)


def _search_page(
    session: Session,
    request: Request,
    backend: SearchBackend,
    store: ObjectStore,
    page: PageParams,
    *,
    query: str | None,
    category: str | None,
    filters: dict[str, Any],
) -> tuple[bytes, int, uuid.UUID | None]:
    """A page of search results (JSON), its total, and the signed-in caller for the search
    event."""
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
    return body, total, caller_id(request, session) if query else None


@router.get("/{listing_id}", response_model=ListingPublic, responses=error_responses(404, 422))
async def read_listing(
    listing_id: uuid.UUID,
    reads: ReadOnlyReadsDep,
    actor: OptionalReader,
    store: ObjectStoreDep,
    request: Request,
) -> Response:
    # The hottest page of the shop: ``async`` with its query as a short read, rather than
    # a ``def`` endpoint whose response FastAPI then validates in a second thread hop.
    listing, body = await reads.run(_readable_listing_page, actor, listing_id, store)
    track(
        request,
        "view_item",
        user_id=actor.id if actor else None,
        params={"currency": listing.currency, "value": to_major(listing.price_minor)},
        items=[listing_item(listing)],
    )
    return rendering.json_response(body)


def _readable_listing_page(
    session: Session, actor: User | None, listing_id: uuid.UUID, store: ObjectStore
) -> tuple[Row, bytes]:
    """The listing (for the view_item event) and its page as JSON."""
    rows = repository.readable_page_rows(session, actor, listing_id)
    if not rows:
        raise NotFound("Listing not found")
    return rows[0], rendering.listing_page_json(rows, store)


@router.patch(
    "/{listing_id}",
    response_model=ListingPublic,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
def update_listing(
    listing_id: uuid.UUID,
    body: ListingUpdate,
    actor: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    store: ObjectStoreDep,
) -> ListingPublic:
    """Edit a listing (its seller, or staff for moderation). Status: draft → active ⇄ paused."""
    listing = service.update_listing(session, clock, actor, listing_id, body)
    return _with_images(session, listing, store)


@dataclass(frozen=True)
class ImageUpload:
    """Who uploads an image to which listing, resolved inside each unit of work."""

    settings: Settings
    clock: Clock
    token: str
    listing_id: uuid.UUID

    def uploader(self, session: Session) -> User:
        return token_holder(session, self.settings, self.clock.now(), self.token)


def _check_upload(session: Session, upload: ImageUpload) -> None:
    service.check_room_for_image(
        session, upload.settings, upload.uploader(session), upload.listing_id
    )


def _record_upload(
    session: Session, upload: ImageUpload, image: CleanImage, image_id: uuid.UUID, key: str
) -> ListingImage:
    return service.add_image(
        session, upload.clock, upload.settings, upload.uploader(session),
        upload.listing_id, image_id, key, image,
    )  # fmt: skip


@router.post(
    "/{listing_id}/images",
    status_code=status.HTTP_201_CREATED,
    response_model=ImagePublic,
    responses=error_responses(400, 401, 403, 404, 409, 413, 415, 422),
)
async def upload_image(
    listing_id: uuid.UUID,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP")],
    token: TokenDep,
    reads: ReadOnlyReadsDep,
    writes: WritesDep,
    clock: ClockDep,
    settings: SettingsDep,
    store: ObjectStoreDep,
) -> Response:
    """Add an image; metadata such as EXIF location is removed before it is stored.

    The picture is decoded, cleaned and stored holding no lock (a large one takes
    seconds); only then does a short write transaction record it. The caller and the
    listing are checked before the decoding (by a read of its own: a request session for
    a POST would hold SQLite's write gate throughout) and again in that transaction."""
    if token is None:
        raise Unauthorized()
    upload = ImageUpload(settings, clock, token, listing_id)
    await reads.run(_check_upload, upload)
    data = await file.read(settings.max_image_bytes + 1)
    if len(data) > settings.max_image_bytes:
        raise PayloadTooLarge(f"Images are limited to {settings.max_image_bytes} bytes")
    image = await run_in_threadpool(clean_image, data, max_pixels=settings.max_image_pixels)
    image_id = uuid.uuid4()
    key = f"listings/{listing_id}/{image_id}.{image.extension}"
    await run_in_threadpool(store.put, key, image.data, image.content_type)
    try:
        row = await writes.run(_record_upload, upload, image, image_id, key)
    except BaseException:
        await run_in_threadpool(store.delete, key)  # no object without its row
        raise
    return model_response(image_public(row, store), status.HTTP_201_CREATED)


@router.delete(
    "/{listing_id}/images/{image_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404, 422),
)
def delete_image(
    listing_id: uuid.UUID,
    image_id: uuid.UUID,
    actor: CurrentUser,
    session: SessionDep,
    store: ObjectStoreDep,
) -> Response:
    service.delete_image(session, store, actor, listing_id, image_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me_router.get("/listings", response_model=ListingPage, responses=error_responses(401, 403))
def my_listings(
    seller: CurrentSeller,
    session: SessionDep,
    store: ObjectStoreDep,
    page: PageDep,
    status_filter: Annotated[ListingStatus | None, Query(alias="status")] = None,
) -> ListingPage:
    """The caller's own listings in every status, newest first."""
    statement = select(*repository.SUMMARY_COLUMNS).where(Listing.seller_id == seller.id)
    if status_filter is not None:
        statement = statement.where(Listing.status == status_filter)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.execute(
        statement.order_by(Listing.created_at.desc(), Listing.id)
        .limit(page.page_size)
        .offset(page.offset)
    ).all()
    return ListingPage(
        data=_summaries(session, store, rows), count=total, page=page.page, page_size=page.page_size
    )
