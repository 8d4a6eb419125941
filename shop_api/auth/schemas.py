from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from shop_api.core.validation import PhoneNumber, Text
from shop_api.models import UserRole

# Length here; strength (zxcvbn, the account's own details) in accounts.password_policy.
Password = Field(min_length=10, max_length=128, description="10 to 128 characters")
# Trimmed before the length check, so a blank name is refused rather than stored empty.
DisplayName = Annotated[
    Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]

ConsentSource = Field(
    default="api",
    min_length=1,
    max_length=64,
    pattern=r"^[a-z0-9_.:-]+$",
    description="Where consent was given or withdrawn, e.g. signup_form, settings_page",
)


class SignupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: str = Password
    display_name: DisplayName
    role: Literal["shopper", "seller"] = Field(
        default="shopper", description="Staff accounts are created by operators, not signup"
    )
    phone: PhoneNumber | None = None
    ad_user_data_consent: bool = Field(
        default=False, description="Your data (hashed) may be sent to ad platforms"
    )
    ad_personalization_consent: bool = Field(
        default=False, description="Your data may be used to personalise ads"
    )
    consent_source: str = ConsentSource


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    display_name: str
    role: UserRole
    phone: str | None
    ad_user_data_consent: bool
    ad_user_data_consent_at: datetime | None
    ad_user_data_consent_source: str | None
    ad_personalization_consent: bool
    ad_personalization_consent_at: datetime | None
    ad_personalization_consent_source: str | None
    personalised_recommendations: bool
    personalised_recommendations_at: datetime | None
    created_at: datetime


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")
