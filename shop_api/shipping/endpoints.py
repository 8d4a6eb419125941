from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from shop_api.core.deps import ClockDep, CurrentUser, ReadsDep, WritesDep
from shop_api.core.errors import error_responses
from shop_api.payments.deps import CarrierDep
from shop_api.payments.schemas import WebhookAck
from shop_api.payments.service import RetryLater
from shop_api.providers.receiving import Handled, RedeliverLater, receive
from shop_api.providers.shipping import TrackingEvent
from shop_api.shipping import service
from shop_api.shipping.schemas import (
    ShipmentEventPublic,
    ShipmentPublic,
    ShipmentTracking,
    ShipRequest,
)

router = APIRouter(tags=["shipping"])


@router.post(
    "/orders/{order_id}/ship",
    status_code=status.HTTP_201_CREATED,
    response_model=ShipmentPublic,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
async def ship_order(
    order_id: uuid.UUID,
    actor: CurrentUser,
    writes: WritesDep,
    clock: ClockDep,
    carrier: CarrierDep,
    body: ShipRequest | None = None,
) -> ShipmentPublic:
    """A seller ships their part of a paid order: the carrier issues a label and tracking
    number, and its webhooks move the order towards delivered."""
    shipment = await writes.run(
        service.ship, carrier, clock, actor, order_id, body.group_id if body else None
    )
    return ShipmentPublic.model_validate(shipment)


@router.get(
    "/orders/{order_id}/tracking",
    response_model=list[ShipmentTracking],
    responses=error_responses(401, 404, 422),
)
async def order_tracking(
    order_id: uuid.UUID, actor: CurrentUser, reads: ReadsDep
) -> list[ShipmentTracking]:
    """Each shipment of the order with its tracking history, oldest event first."""
    return [
        ShipmentTracking(
            **ShipmentPublic.model_validate(shipment).model_dump(),
            events=[ShipmentEventPublic.model_validate(event) for event in events],
        )
        for shipment, events in await reads.run(service.tracking, actor, order_id)
    ]


@router.post(
    "/webhooks/shipping",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookAck,
    responses={
        **error_responses(400, 401, 413),
        503: {"description": "Not ready: redeliver later"},
    },
)
async def shipping_webhook(
    request: Request, writes: WritesDep, clock: ClockDep, carrier: CarrierDep
) -> JSONResponse:
    """Signed tracking updates from the carrier (received as payment webhooks are)."""

    def handle(session: Session, event: TrackingEvent) -> Handled:
        try:
            return Handled(service.apply_tracking_event(session, clock, event))
        except RetryLater as exc:
            raise RedeliverLater(str(exc)) from exc

    return await receive(request, carrier, writes, clock, handle)
