"""The sandbox providers' own HTTP surface: what a gateway's browser SDK or a carrier's
depot would call. It stands apart from the shop's API (the ``sandbox`` tag)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from shop_api.core.errors import NotFound, error_response, error_responses
from shop_api.providers.sandbox.carrier import CarrierError, SandboxCarrier
from shop_api.providers.sandbox.gateway import GatewayError, SandboxGateway
from shop_api.providers.sandbox.schemas import PaymentIntentPublic, TrackingUpdatePublic

router = APIRouter(prefix="/sandbox", tags=["sandbox"])

IntentId = Annotated[str, Path(max_length=40, pattern=r"^pi_[a-f0-9]+$")]
TrackingNumber = Annotated[str, Path(max_length=40, pattern=r"^SBX[0-9]+$")]


class Card(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=12, max_length=23, pattern=r"^[0-9 ]+$")
    exp_month: int = Field(ge=1, le=12)
    exp_year: int = Field(ge=2000, le=2100)
    cvc: str = Field(pattern=r"^[0-9]{3,4}$")


class ConfirmRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_secret: str = Field(min_length=1, max_length=120)
    card: Card


class AuthenticateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_secret: str = Field(min_length=1, max_length=120)
    outcome: Literal["approve", "deny"] = "approve"


def _gateway(request: Request) -> SandboxGateway:
    gateway = getattr(request.app.state, "sandbox_gateway", None)
    if gateway is None:  # another payment provider is configured
        raise NotFound("The sandbox gateway is not in use")
    return gateway


def _carrier(request: Request) -> SandboxCarrier:
    carrier = getattr(request.app.state, "sandbox_carrier", None)
    if carrier is None:  # another carrier is configured
        raise NotFound("The sandbox carrier is not in use")
    return carrier


def _error(exc: GatewayError | CarrierError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message)


@router.post(
    "/payments/v1/payment_intents/{intent_id}/confirm",
    response_model=PaymentIntentPublic,
    responses=error_responses(400, 404, 409, 413, 422),
)
def confirm_payment_intent(
    intent_id: IntentId, body: ConfirmRequest, request: Request
) -> PaymentIntentPublic | JSONResponse:
    """Confirm with a test card (see the sandbox gateway's test card table)."""
    try:
        intent = _gateway(request).confirm(intent_id, body.client_secret, body.card.model_dump())
        return PaymentIntentPublic.model_validate(intent)
    except GatewayError as exc:
        return _error(exc)


@router.post(
    "/payments/v1/payment_intents/{intent_id}/authenticate",
    response_model=PaymentIntentPublic,
    responses=error_responses(404, 409, 413, 422),
)
def authenticate_payment_intent(
    intent_id: IntentId, body: AuthenticateRequest, request: Request
) -> PaymentIntentPublic | JSONResponse:
    """The 3-D-Secure-like step: the cardholder approves or denies."""
    try:
        intent = _gateway(request).authenticate(
            intent_id, body.client_secret, body.outcome == "approve"
        )
        return PaymentIntentPublic.model_validate(intent)
    except GatewayError as exc:
        return _error(exc)


@router.get(
    "/payments/v1/payment_intents/{intent_id}",
    response_model=PaymentIntentPublic,
    responses=error_responses(404, 422),
)
def read_payment_intent(
    intent_id: IntentId,
    request: Request,
    client_secret: Annotated[str, Query(min_length=1, max_length=120)],
) -> PaymentIntentPublic | JSONResponse:
    try:
        intent = _gateway(request).retrieve(intent_id, client_secret)
        return PaymentIntentPublic.model_validate(intent)
    except GatewayError as exc:
        return _error(exc)


@router.post(
    "/carrier/v1/shipments/{tracking_number}/advance",
    response_model=TrackingUpdatePublic,
    responses=error_responses(404, 409, 422),
)
def advance_shipment(
    tracking_number: TrackingNumber, request: Request
) -> TrackingUpdatePublic | JSONResponse:
    """Move a parcel to its next step now, instead of waiting for the carrier's clock."""
    try:
        return TrackingUpdatePublic.model_validate(_carrier(request).advance(tracking_number))
    except CarrierError as exc:
        return _error(exc)


@router.get("/carrier/v1/labels/{tracking_number}", response_class=PlainTextResponse)
def shipping_label(tracking_number: TrackingNumber) -> str:
    """A printable (plain text) label."""
    return f"SANDBOX CARRIER\nTRACKING {tracking_number}\n"
