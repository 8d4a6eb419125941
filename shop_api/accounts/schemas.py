from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from shop_api.auth.schemas import ConsentSource, DisplayName


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    marketing_consent: bool | None = None
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
