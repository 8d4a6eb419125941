from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from shop_api.core.validation import Text
from shop_api.models import UserRole

Password = Field(min_length=10, max_length=128, description="10 to 128 characters")
# Trimmed before the length check, so a blank name is refused rather than stored empty.
DisplayName = Annotated[
    Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]

# Common passwords long enough to pass the length rule (from public breach top lists).
COMMON_PASSWORDS = frozenset(
    {
        "0123456789",
        "1234567890",
        "12345678910",
        "1234qwerty",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "abcd123456",
        "iloveyou12",
        "passw0rd123",
        "password12",
        "password123",
        "password1234",
        "qwerty12345",
        "qwerty123456",
        "qwertyuiop",
    }
)
MIN_DISTINCT_CHARACTERS = 5


def check_password_strength(value: str | None) -> str | None:
    """Refuse passwords that pass the length rule but are trivially guessed."""
    if value is None:
        return value
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        raise ValueError(f"use at least {MIN_DISTINCT_CHARACTERS} different characters")
    if value.lower() in COMMON_PASSWORDS:
        raise ValueError("this password is too common")
    return value


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
    marketing_consent: bool = False
    consent_source: str = ConsentSource

    _password = field_validator("password")(check_password_strength)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    display_name: str
    role: UserRole
    marketing_consent: bool
    marketing_consent_at: datetime | None
    marketing_consent_source: str | None
    created_at: datetime


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")
