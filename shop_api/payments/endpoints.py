from __future__ import annotations

import uuid
from functools import partial

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from shop_api.core.deps import (
    ClockDep,
    CurrentStaff,
    CurrentUser,
    ReadsDep,
    SettingsDep,
    WritesDep,
)
from shop_api.core.errors import error_responses
from shop_api.payments import service
from shop_api.payments.deps import FollowUpRunnerDep, PaymentProviderDep
from shop_api.payments.event_checks import check_against_records
from shop_api.payments.schemas import (
    PaymentPublic,
    PaymentSessionPublic,
    PaymentStatusChangePublic,
    PaymentWithHistory,
    RefundCreate,
    RefundPublic,
    WebhookAck,
)
from shop_api.providers.payments import ProviderEvent
from shop_api.providers.receiving import Handled, RedeliverLater, receive

router = APIRouter(tags=["payments"])


@router.post(
    "/orders/{order_id}/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentSessionPublic,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def start_payment(
    order_id: uuid.UUID,
    buyer: CurrentUser,
    writes: WritesDep,
    clock: ClockDep,
    provider: PaymentProviderDep,
) -> PaymentSessionPublic:
    """Open the order's payment with the gateway (again after a decline: the same intent
    takes another card). The card itself goes to the gateway, never to the shop."""
    started = await writes.run(service.start_payment, provider, clock, buyer, order_id)
    remote = started.provider_payment
    return PaymentSessionPublic(
        payment=PaymentPublic.model_validate(started.payment),
        client_secret=remote.client_secret,
        next_action=remote.next_action,
        confirm_url=(
            f"/sandbox/payments/v1/payment_intents/{remote.id}/confirm"
            if provider.name == "sandbox"
            else None
        ),
    )


@router.get(
    "/orders/{order_id}/payments",
    response_model=list[PaymentWithHistory],
    responses=error_responses(401, 403, 404, 422),
)
async def list_payments(
    order_id: uuid.UUID, actor: CurrentUser, reads: ReadsDep
) -> list[PaymentWithHistory]:
    """The order's payments with their full status history (the buyer's and staff's: the
    card's brand and last digits are the buyer's business, not the sellers')."""
    return [
        PaymentWithHistory(
            **PaymentPublic.model_validate(record.payment).model_dump(),
            history=[PaymentStatusChangePublic.model_validate(change) for change in record.history],
        )
        for record in await reads.run(service.payments_of, actor, order_id)
    ]


@router.post(
    "/orders/{order_id}/refunds",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RefundPublic,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
async def refund_order(
    order_id: uuid.UUID,
    body: RefundCreate,
    staff: CurrentStaff,
    writes: WritesDep,
    clock: ClockDep,
    provider: PaymentProviderDep,
) -> RefundPublic:
    """Refund all or part of an order (staff). Completes when the gateway confirms."""
    refund = await writes.run(
        service.refund_order, provider, clock, staff, order_id, body.amount_minor,
        body.reason or "refund",
    )  # fmt: skip
    return RefundPublic.model_validate(refund)


@router.get(
    "/orders/{order_id}/refunds",
    response_model=list[RefundPublic],
    responses=error_responses(401, 403, 404, 422),
)
async def list_refunds(
    order_id: uuid.UUID, actor: CurrentUser, reads: ReadsDep
) -> list[RefundPublic]:
    refunds = await reads.run(service.refunds_of, actor, order_id)
    return [RefundPublic.model_validate(refund) for refund in refunds]


@router.post(
    "/webhooks/payments",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookAck,
    responses={
        **error_responses(400, 401, 409, 413),
        503: {"description": "Not ready: redeliver later"},
    },
)
async def payments_webhook(
    request: Request,
    writes: WritesDep,
    settings: SettingsDep,
    clock: ClockDep,
    provider: PaymentProviderDep,
    run_follow_ups: FollowUpRunnerDep,
) -> JSONResponse:
    """Signed events from the payment gateway, received as every provider webhook is
    (``shop_api.providers.receiving``): 202 once applied, or for a redelivered event or
    one of a type the shop does not act on; 400 if malformed, 401 if the signature is
    wrong or stale, 409 if it contradicts the payment's amount or currency."""

    def handle(session: Session, event: ProviderEvent) -> Handled:
        check_against_records(session, event)
        try:
            outcome, follow_ups = service.apply_event(session, settings, clock, event)
        except service.RetryLater as exc:
            raise RedeliverLater(str(exc)) from exc
        return Handled(outcome, partial(run_follow_ups, follow_ups) if follow_ups else None)

    return await receive(request, provider, writes, clock, handle)
