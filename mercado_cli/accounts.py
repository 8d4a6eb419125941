"""What ``mercado users create`` checks before it creates an account.

The API's signup rules (email, password length and strength, display name), plus the
staff role signup does not offer; a ``ValidationError`` names every problem at once.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, EmailStr

from shop_api.auth.schemas import DisplayName, Password, check_password_strength
from shop_api.models import UserRole


class NewAccount(BaseModel):
    email: EmailStr
    password: Annotated[str, Password, AfterValidator(check_password_strength)]
    display_name: DisplayName
    role: UserRole
