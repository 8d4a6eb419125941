from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop_api.core.clock import Clock
from shop_api.core.config import Settings
from shop_api.core.deps import (
    ClockDep,
    CurrentSeller,
    CurrentUser,
    SessionDep,
    SettingsDep,
    TokenDep,
    WritesDep,
    caller_of,
)
from shop_api.core.errors import BadRequest, Unauthorized, error_responses
from shop_api.core.pagination import PageDep
from shop_api.core.responses import model_response
from shop_api.models import User, UserRole
from shop_api.models.orders import FulfilmentGroup, Order, OrderItem, OrderStatus, OrderStatusChange
from shop_api.orders import checkout as checkout_service
from shop_api.orders import lifecycle
from shop_api.orders.queries import get_as_buyer, get_readable, readable_statement
from shop_api.orders.schemas import (
    CancelRequest,
    CheckoutRequest,
    FulfilmentGroupPublic,
    OrderItemPublic,
    OrderPage,
    OrderPublic,
    OrderSummary,
    SalesByStatus,
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


def order_public(
    order: Order, actor_id: uuid.UUID | None = None, *, seller_view: bool = False
) -> OrderPublic:
    """The order as the caller may see it: a seller sees only their own groups and items."""
    groups = list(order.groups)
    items = list(order.items)
    money = {
        field: getattr(order, field)
        for field in ("subtotal_minor", "discount_minor", "shipping_minor", "tax_minor",
                      "total_minor")
    }  # fmt: skip
    if seller_view and actor_id is not None:
        groups = [group for group in groups if group.seller_id == actor_id]
        items = [item for item in items if item.seller_id == actor_id]
        # The amounts of their part only: other sellers' sales are none of their business.
        money = {field: sum(getattr(group, field) for group in groups) for field in money}
    return OrderPublic(
        id=order.id, buyer_id=order.buyer_id, status=order.status, currency=order.currency,
        **money, refunded_minor=order.refunded_minor,
        coupon_code=order.coupon_code, shipping_address=order.shipping_address,
        reservation_expires_at=order.reservation_expires_at, placed_at=order.placed_at,
        paid_at=order.paid_at, cancelled_at=order.cancelled_at,
        groups=[FulfilmentGroupPublic.model_validate(group) for group in groups],
        items=[OrderItemPublic.model_validate(item) for item in items],
    )  # fmt: skip


def render(session: SessionDep, actor: User, order_id: uuid.UUID) -> OrderPublic:
    order = get_readable(session, actor, order_id, full=True)
    seller_view = actor.role != UserRole.staff and order.buyer_id != actor.id
    return order_public(order, actor.id, seller_view=seller_view)


def _place_order(
    session: Session,
    settings: Settings,
    clock: Clock,
    token: str,
    body: CheckoutRequest,
    idempotency_key: str,
) -> tuple[OrderPublic, bool]:
    buyer = caller_of(session, settings, clock.now(), token)
    assert buyer is not None
    result = checkout_service.checkout(session, clock, settings, buyer, body, idempotency_key)
    if isinstance(result, checkout_service.NewOrder):
        # Rendered from the rows just written; a replay is read back.
        return new_order_public(result), True
    return render(session, buyer, result.id), False


def new_order_public(placed: checkout_service.NewOrder) -> OrderPublic:
    return OrderPublic(
        **placed.order,
        groups=[FulfilmentGroupPublic.model_validate(group) for group in placed.groups],
        items=[OrderItemPublic.model_validate(item) for item in placed.items],
    )


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
        _place_order, settings, clock, token, body, idempotency_key.strip()
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
def list_orders(
    actor: CurrentUser,
    session: SessionDep,
    page: PageDep,
    status_filter: Annotated[OrderStatus | None, Query(alias="status")] = None,
    scope: Annotated[
        str, Query(pattern="^(mine|all)$", description="Staff: 'all' lists every order")
    ] = "mine",
) -> OrderPage:
    """The caller's purchases, newest first (staff may list all orders)."""
    if scope == "all" and actor.role == UserRole.staff:
        statement = select(Order)
    else:
        statement = select(Order).where(Order.buyer_id == actor.id)
    if status_filter is not None:
        statement = statement.where(Order.status == status_filter)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(
        statement.order_by(Order.placed_at.desc(), Order.id)
        .limit(page.page_size)
        .offset(page.offset)
    ).all()
    return OrderPage(
        data=[OrderSummary.model_validate(row) for row in rows], count=total, page=page.page,
        page_size=page.page_size,
    )  # fmt: skip


@router.get(
    "/orders/{order_id}", response_model=OrderPublic, responses=error_responses(401, 404, 422)
)
def read_order(order_id: uuid.UUID, actor: CurrentUser, session: SessionDep) -> OrderPublic:
    """Buyers see their orders, sellers the part they sell, staff everything."""
    return render(session, actor, order_id)


@router.get(
    "/orders/{order_id}/history",
    response_model=list[StatusChangePublic],
    responses=error_responses(401, 404, 422),
)
def order_history(
    order_id: uuid.UUID, actor: CurrentUser, session: SessionDep
) -> list[StatusChangePublic]:
    """Every status change of the order and of its fulfilment groups, oldest first."""
    order = get_readable(session, actor, order_id)
    statement = select(OrderStatusChange).where(OrderStatusChange.order_id == order.id)
    if actor.role != UserRole.staff and order.buyer_id != actor.id:
        # A seller sees the order's own moves and those of their groups only.
        statement = statement.where(
            OrderStatusChange.group_id.is_(None)
            | OrderStatusChange.group_id.in_(
                select(FulfilmentGroup.id).where(
                    FulfilmentGroup.order_id == order.id, FulfilmentGroup.seller_id == actor.id
                )
            )
        )
    changes = session.scalars(
        statement.order_by(OrderStatusChange.changed_at, OrderStatusChange.id)
    ).all()
    return [StatusChangePublic.model_validate(change) for change in changes]


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderPublic,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
def cancel_order(
    order_id: uuid.UUID,
    actor: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    run_follow_ups: FollowUpRunnerDep,
    body: CancelRequest | None = None,
) -> OrderPublic:
    """Cancel before shipping: stock goes back, an open payment is voided, a captured one
    is refunded in full."""
    order = get_as_buyer(session, actor, order_id, lock=True)
    reason = body.reason if body else "requested by customer"
    follow_ups = lifecycle.cancel(session, order, clock, reason)
    session.commit()
    run_follow_ups(follow_ups)
    return render(session, actor, order_id)


@router.get("/seller/orders", response_model=OrderPage, responses=error_responses(401, 403, 422))
def seller_orders(
    seller: CurrentSeller,
    session: SessionDep,
    page: PageDep,
    status_filter: Annotated[OrderStatus | None, Query(alias="status")] = None,
) -> OrderPage:
    """Orders containing the caller's listings, newest first."""
    statement = readable_statement(seller).where(
        Order.id.in_(select(FulfilmentGroup.order_id).where(FulfilmentGroup.seller_id == seller.id))
    )
    if status_filter is not None:
        statement = statement.where(Order.status == status_filter)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(
        statement.order_by(Order.placed_at.desc(), Order.id)
        .limit(page.page_size)
        .offset(page.offset)
    ).all()
    return OrderPage(
        data=[OrderSummary.model_validate(row) for row in rows], count=total, page=page.page,
        page_size=page.page_size,
    )  # fmt: skip


@router.get("/seller/sales", response_model=SellerSales, responses=error_responses(401, 403))
def seller_sales(seller: CurrentSeller, session: SessionDep) -> SellerSales:
    """Totals of the caller's sales by order status, in minor units per currency."""
    rows = session.execute(
        select(
            Order.status,
            Order.currency,
            func.count(func.distinct(Order.id)),
            func.coalesce(func.sum(OrderItem.quantity), 0),
            func.coalesce(func.sum(OrderItem.line_total_minor), 0),
        )
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(OrderItem.seller_id == seller.id)
        .group_by(Order.status, Order.currency)
    ).all()
    return SellerSales(
        seller_id=seller.id,
        by_status=[
            SalesByStatus(status=row[0], currency=row[1], orders=row[2], units=int(row[3]),
                          amount_minor=int(row[4]))
            for row in rows
        ],
    )  # fmt: skip
