"""``GET /recommendations``, ``GET /listings/{id}/similar``, ``GET /listings/{id}/bought-together``.

Each list served is logged as a ``view_item_list`` impression whose ``list_id`` names the
model version (``recs:<version>``) and whose ``ab_arm`` names the experiment arm.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic_core import to_json

from shop_api.core.deps import OptionalUser, ReadsDep
from shop_api.core.errors import error_responses
from shop_api.listings.rendering import json_response
from shop_api.recommendations import service
from shop_api.recommendations.schemas import RecommendationPage
from shop_api.recommendations.service import Caller, Context, ListName, RecommendationList
from shop_api.tracking.server_events import listing_item, track

router = APIRouter(tags=["recommendations"])

K = Annotated[int, Query(ge=1, le=50, description="How many items (1-50)")]
ClientIdHeader = Annotated[
    str | None,
    Header(
        alias="X-Client-Id",
        max_length=64,
        description="Anonymous device id (the tag.js client_id) when not signed in",
    ),
]


def _context(request: Request) -> Context:
    state = request.app.state
    return Context(
        state.settings, state.recommender.served(), state.recs_popularity, state.clock.now()
    )


def _page(request: Request, result: RecommendationList, user_id: uuid.UUID | None) -> Response:
    """The response, after logging the impression (only lists that show something).

    Written as JSON straight from the rows, in ``RecommendationPage``'s field order (the
    tests validate it against the model), rather than built and serialised as models."""
    data = []
    event_items = []
    for position, item in enumerate(result.items):
        listing = item.listing
        data.append(
            {
                "listing_id": listing.id,
                "seller_id": listing.seller_id,
                "category_id": listing.category_id,
                "title": listing.title,
                "price_minor": listing.price_minor,
                "currency": listing.currency,
                "position": position,
                "score": item.score,
                "reason": item.reason,
                "fallback": item.fallback,
            }
        )
        event_item = listing_item(listing)
        event_item["index"] = position
        event_items.append(event_item)
    if event_items:
        track(
            request,
            "view_item_list",
            user_id=user_id,
            params={"list_id": result.list_id, "list_name": result.name.value}
            | ({"ab_arm": result.arm.value} if result.arm is not None else {}),
            items=event_items,
        )
    page = {
        "model_version": result.model_version,
        "list_id": result.list_id,
        "ab_arm": result.arm.value if result.arm is not None else None,
        "personalised": result.personalised,
        "data": data,
        "count": len(data),
    }
    return json_response(to_json(page))


@router.get(
    "/recommendations", response_model=RecommendationPage, responses=error_responses(401, 422)
)
async def recommendations(
    request: Request,
    reads: ReadsDep,
    actor: OptionalUser,
    client_id: ClientIdHeader = None,
    k: K = 10,
) -> Response:
    """Listings for the caller (signed in, or anonymous by ``X-Client-Id``), best first.

    Only listings on sale now, none the caller already bought, a few per seller at most.
    A shopper who opted out of personalised recommendations (``PATCH /me``), or whom the
    model does not know, gets what is popular (``fallback: true``)."""
    caller = Caller.of(actor, client_id)
    result = await reads.run(service.for_caller, _context(request), caller, k)
    return _page(request, result, caller.user_id)


async def _for_listing(
    request: Request,
    reads: ReadsDep,
    actor: OptionalUser,
    client_id: str | None,
    listing_id: uuid.UUID,
    k: int,
    name: ListName,
) -> Response:
    caller = Caller.of(actor, client_id)
    context = _context(request)
    result = await reads.run(service.for_listing, context, caller, actor, listing_id, k, name)
    return _page(request, result, caller.user_id)


@router.get(
    "/listings/{listing_id}/similar",
    response_model=RecommendationPage,
    responses=error_responses(401, 404, 422),
)
async def similar_listings(
    listing_id: uuid.UUID,
    request: Request,
    reads: ReadsDep,
    actor: OptionalUser,
    client_id: ClientIdHeader = None,
    k: K = 10,
) -> Response:
    """Listings like this one (``similar_to:<id>``), then popular ones in its category."""
    return await _for_listing(request, reads, actor, client_id, listing_id, k, ListName.similar)


@router.get(
    "/listings/{listing_id}/bought-together",
    response_model=RecommendationPage,
    responses=error_responses(401, 404, 422),
)
async def bought_together(
    listing_id: uuid.UUID,
    request: Request,
    reads: ReadsDep,
    actor: OptionalUser,
    client_id: ClientIdHeader = None,
    k: K = 10,
) -> Response:
    """Listings often bought with this one (``bought_with:<id>``, by co-purchase lift),
    then popular ones in its category."""
    return await _for_listing(
        request, reads, actor, client_id, listing_id, k, ListName.bought_together,
    )  # fmt: skip
