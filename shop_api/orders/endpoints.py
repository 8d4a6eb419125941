from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status

from shop_api.core.deps import (
    ClockDep,
    CurrentSeller,
    CurrentUser,
    ReadsDep,
    SettingsDep,
    TokenDep,
    WritesDep,
)
from shop_api.core.errors import BadRequest, Unauthorized, error_responses
from shop_api.core.pagination import PageDep
from shop_api.core.responses import model_response
from shop_api.models.orders import OrderStatus
from shop_api.orders import checkout as checkout_service
from shop_api.orders import views
from shop_api.orders.schemas import (
    CancelRequest,
    CheckoutRequest,
    OrderPage,
    OrderPublic,
    OrderSummary,
    SellerSales,
    StatusChangePublic,
)
from shop_api.payments.deps import FollowUpRunnerDep
from shop_api.tracking.outbox import to_major
from shop_api.tracking.server_events import track

router = APIRouter(tags=["orders"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=checkout_service.MAX_IDEMPOTENCY_KEY_LENGTH,
        include_in_schema=False,  # declared below
    ),
]
# Declared required, as it is; the endpoint answers a missing key with a 400 in the error
# envelope (after the 401 of an anonymous caller), not with FastAPI's 422 for a header.
IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "A retry with the same key and body returns the same order",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": checkout_service.MAX_IDEMPOTENCY_KEY_LENGTH,
    },
}


@router.post(
    "/checkout",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderPublic,
    responses={200: {"model": OrderPublic, "description": "Replay of an earlier checkout"},
               **error_responses(400, 401, 409, 413, 422)},
    openapi_extra={"parameters": [IDEMPOTENCY_KEY_PARAMETER]},
)  # fmt: skip
async def checkout(
    body: CheckoutRequest,
    token: TokenDep,
    writes: WritesDep,
    clock: ClockDep,
    settings: SettingsDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Turn the cart into an order (one fulfilment group per seller) and hold its stock
    for ``reservation_minutes`` until it is paid."""
    if token is None:
        raise Unauthorized()
    if not idempotency_key or not idempotency_key.strip():
        raise BadRequest("The Idempotency-Key header is required")
    placed, created = await writes.run(
        views.place_order, settings, clock, token, body, idempotency_key.strip()
    )
    if not created:
        return model_response(placed, status.HTTP_200_OK, {"Idempotent-Replayed": "true"})
    track(
        request,
        "begin_checkout",
        user_id=placed.buyer_id,
        params={"transaction_id": str(placed.id), "value": to_major(placed.total_minor),
                "currency": placed.currency, "coupon": placed.coupon_code},
        items=[{"item_id": str(item.listing_id), "item_name": item.title,
                "price": to_major(item.unit_price_minor), "quantity": item.quantity,
                "seller_id": str(item.seller_id)} for item in placed.items],
    )  # fmt: skip
    return model_response(placed, status.HTTP_201_CREATED)


@router.get("/orders", response_model=OrderPage, responses=error_responses(401, 422))
async def list_orders(
    actor: CurrentUser,
    reads: ReadsDep,
    page: PageDep,
    status_filter: Annotated[OrderStatus | None, Query(alias="status")] = None,
    scope: Annotated[
        str, Query(pattern="^(mine|all)$", description="Staff: 'all' lists every order")
    ] = "mine",
) -> OrderPage:
    """The caller's purchases, newest first (staff may list all orders)."""
    orders = await reads.run(views.purchases, actor, page, status_filter, every=scope == "all")
    return orders.envelope(OrderPage, OrderSummary.model_validate)


@router.get(
    "/orders/{order_id}", response_model=OrderPublic, responses=error_responses(401, 404, 422)
)
async def read_order(order_id: uuid.UUID, actor: CurrentUser, reads: ReadsDep) -> OrderPublic:
    """Buyers see their orders, sellers the part they sell, staff everything."""
    return await reads.run(views.readable_order, actor, order_id)


@router.get(
    "/orders/{order_id}/history",
    response_model=list[StatusChangePublic],
    responses=error_responses(401, 404, 422),
)
async def order_history(
    order_id: uuid.UUID, actor: CurrentUser, reads: ReadsDep
) -> list[StatusChangePublic]:
    """Every status change of the order and of its fulfilment groups, oldest first."""
    changes = await reads.run(views.history, actor, order_id)
    return [StatusChangePublic.model_validate(change) for change in changes]


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderPublic,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
async def cancel_order(
    order_id: uuid.UUID,
    actor: CurrentUser,
    writes: WritesDep,
    clock: ClockDep,
    run_follow_ups: FollowUpRunnerDep,
    body: CancelRequest | None = None,
) -> OrderPublic:
    """Cancel before shipping: stock goes back, an open payment is voided, a captured one
    is refunded in full."""
    reason = body.reason if body else "requested by customer"
    return await writes.run(views.cancel_order, actor, order_id, clock, reason, run_follow_ups)


@router.get("/seller/orders", response_model=OrderPage, responses=error_responses(401, 403, 422))
async def seller_orders(
    seller: CurrentSeller,
    reads: ReadsDep,
    page: PageDep,
    status_filter: Annotated[OrderStatus | None, Query(alias="status")] = None,
) -> OrderPage:
    """Orders containing the caller's listings, newest first."""
    orders = await reads.run(views.sales_orders, seller, page, status_filter)
    return orders.envelope(OrderPage, OrderSummary.model_validate)


@router.get("/seller/sales", response_model=SellerSales, responses=error_responses(401, 403))
async def seller_sales(seller: CurrentSeller, reads: ReadsDep) -> SellerSales:
    """Totals of the caller's sales by order status, in minor units per currency."""
    return await reads.run(views.seller_sales, seller.id)
