from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from shop_api.core.deps import (
    ClockDep,
    CurrentSeller,
    CurrentUser,
    ObjectStoreDep,
    OptionalUser,
    ReadsDep,
    SettingsDep,
    TokenDep,
    WritesDep,
)
from shop_api.core.errors import PayloadTooLarge, Unauthorized, Unprocessable, error_responses
from shop_api.core.pagination import PageDep
from shop_api.core.responses import model_response
from shop_api.listings import rendering, views
from shop_api.listings.images import clean_image
from shop_api.listings.schemas import (
    ImagePublic,
    ListingCreate,
    ListingPage,
    ListingPublic,
    ListingUpdate,
    SearchQuery,
)
from shop_api.models import ListingStatus
from shop_api.tracking.outbox import to_major
from shop_api.tracking.server_events import caller_id, listing_item, track

router = APIRouter(prefix="/listings", tags=["listings"])
me_router = APIRouter(prefix="/me", tags=["me"])

# The search page and the listing page are ``async``: their reads run in the event loop
# (see ``core.unit_of_work``) and their JSON is written once, from the rows
# (``listings.rendering``), rather than validated as a model in a second thread hop.


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ListingPublic,
    responses=error_responses(401, 403, 413, 422),
)
async def create_listing(
    body: ListingCreate,
    seller: CurrentSeller,
    writes: WritesDep,
    clock: ClockDep,
    settings: SettingsDep,
    store: ObjectStoreDep,
) -> ListingPublic:
    """Create a listing as a draft, or publish it at once with ``status: active``."""
    return await writes.run(views.created, clock, settings, seller, body, store)


@router.get("", response_model=ListingPage, responses=error_responses(422))
async def search_listings(
    request: Request, reads: ReadsDep, params: Annotated[SearchQuery, Query()]
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

    def caller(session: Session) -> uuid.UUID | None:
        return caller_id(request, session)

    body, total, user_id = await reads.run(
        views.search_page,
        caller,
        request.app.state.object_store,
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


@router.get("/{listing_id}", response_model=ListingPublic, responses=error_responses(404, 422))
async def read_listing(
    listing_id: uuid.UUID,
    reads: ReadsDep,
    actor: OptionalUser,
    store: ObjectStoreDep,
    request: Request,
) -> Response:
    listing, body = await reads.run(views.listing_page, actor, listing_id, store)
    track(
        request,
        "view_item",
        user_id=actor.id if actor else None,
        params={"currency": listing.currency, "value": to_major(listing.price_minor)},
        items=[listing_item(listing)],
    )
    return rendering.json_response(body)


@router.patch(
    "/{listing_id}",
    response_model=ListingPublic,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
async def update_listing(
    listing_id: uuid.UUID,
    body: ListingUpdate,
    actor: CurrentUser,
    writes: WritesDep,
    clock: ClockDep,
    store: ObjectStoreDep,
) -> ListingPublic:
    """Edit a listing (its seller, or staff for moderation). Status: draft → active ⇄ paused."""
    return await writes.run(views.updated, clock, actor, listing_id, body, store)


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
    reads: ReadsDep,
    writes: WritesDep,
    clock: ClockDep,
    settings: SettingsDep,
    store: ObjectStoreDep,
) -> Response:
    """Add an image; metadata such as EXIF location is removed before it is stored.

    The picture is decoded, cleaned and stored holding no lock (a large one takes
    seconds); only then does a short write transaction record it. The caller and the
    listing are checked before the decoding (by a read) and again in that transaction."""
    if token is None:
        raise Unauthorized()
    upload = views.ImageUpload(settings, clock, token, listing_id)
    await reads.run(views.check_upload, upload)
    data = await file.read(settings.max_image_bytes + 1)
    if len(data) > settings.max_image_bytes:
        raise PayloadTooLarge(f"Images are limited to {settings.max_image_bytes} bytes")
    image = await run_in_threadpool(clean_image, data, max_pixels=settings.max_image_pixels)
    image_id = uuid.uuid4()
    key = f"listings/{listing_id}/{image_id}.{image.extension}"
    await run_in_threadpool(store.put, key, image.data, image.content_type)
    try:
        row = await writes.run(views.record_upload, upload, image, image_id, key)
    except BaseException:
        await run_in_threadpool(store.delete, key)  # no object without its row
        raise
    return model_response(views.image_public(row, store), status.HTTP_201_CREATED)


@router.delete(
    "/{listing_id}/images/{image_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404, 422),
)
async def delete_image(
    listing_id: uuid.UUID,
    image_id: uuid.UUID,
    actor: CurrentUser,
    writes: WritesDep,
    store: ObjectStoreDep,
) -> Response:
    await writes.run(views.delete_image, store, actor, listing_id, image_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me_router.get("/listings", response_model=ListingPage, responses=error_responses(401, 403))
async def my_listings(
    seller: CurrentSeller,
    reads: ReadsDep,
    store: ObjectStoreDep,
    page: PageDep,
    status_filter: Annotated[ListingStatus | None, Query(alias="status")] = None,
) -> ListingPage:
    """The caller's own listings in every status, newest first."""
    return await reads.run(views.own_listings, seller, store, page, status_filter)
