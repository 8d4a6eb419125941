from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from shop_api.auth.schemas import ConsentSource, DisplayName, UserPublic
from shop_api.core.validation import PhoneNumber
from shop_api.models import ListingStatus, PaymentStatus, ShipmentStatus
from shop_api.notifications.schemas import NotificationPublic
from shop_api.orders.schemas import OrderPublic
from shop_api.questions.schemas import QuestionPublic


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    phone: PhoneNumber | None = Field(
        default=None, description="Omit to keep; null removes it; stored in E.164"
    )
    ad_user_data_consent: bool | None = None
    ad_personalization_consent: bool | None = None
    personalised_recommendations: bool | None = Field(
        default=None,
        description="false: recommendations stop using your own history (non-personal lists)",
    )
    consent_source: str = ConsentSource
    new_password: str | None = Field(default=None, min_length=10, max_length=128)
    current_password: str | None = Field(default=None, max_length=128)

    @model_validator(mode="after")
    def _password_change_needs_current(self) -> ProfileUpdate:
        if self.new_password is not None and not self.current_password:
            raise ValueError("current_password is required to set new_password")
        return self


class ConsentEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    purpose: str
    granted: bool
    source: str
    recorded_at: datetime


class PasswordResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr


class PasswordResetAccepted(BaseModel):
    message: str = Field(
        default="If an account uses this address, a reset link is on its way to it.",
        description="The same whether or not the address has an account",
    )


class PasswordResetConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
    new_password: str = Field(min_length=10, max_length=128)


class ExportedAccount(UserPublic):
    last_login_at: datetime | None
    modified_at: datetime


class ExportedPayment(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    order_id: uuid.UUID
    provider: str
    status: PaymentStatus
    amount_minor: int
    refunded_minor: int
    currency: str
    card_brand: str | None
    card_last4: str | None
    created_at: datetime


class ExportedShipment(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    order_id: uuid.UUID
    carrier: str
    tracking_number: str
    status: ShipmentStatus
    created_at: datetime


class ExportedReview(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    order_id: uuid.UUID
    listing_id: uuid.UUID
    rating: int
    title: str
    body: str
    created_at: datetime


class ExportedListing(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    status: ListingStatus
    price_minor: int
    currency: str
    created_at: datetime


class ExportedMessage(BaseModel):
    """An e-mail sent to the account: to whom and when (a reset link is not repeated)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel: str
    kind: str
    recipient: str
    subject: str
    created_at: datetime
    sent_at: datetime | None


class AccountExport(BaseModel):
    """Everything the shop keeps about the caller (right of access)."""

    exported_at: datetime
    account: ExportedAccount
    consents: list[ConsentEventPublic]
    orders: list[OrderPublic]
    payments: list[ExportedPayment]
    shipments: list[ExportedShipment]
    questions: list[QuestionPublic]
    reviews: list[ExportedReview]
    listings: list[ExportedListing]
    notifications: list[NotificationPublic]
    messages: list[ExportedMessage]
    events: list[dict[str, Any]] = Field(description="The caller's clickstream events")
