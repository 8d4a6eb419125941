"""What ``mercado users create`` checks before it creates an account.

The API's signup rules (email, password length, display name), plus the staff role
signup does not offer; a ``ValidationError`` names every problem at once. The password
policy (strength, not made of the account's details) is checked after it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, EmailStr

from shop_api.auth.schemas import DisplayName, Password
from shop_api.models import UserRole


class NewAccount(BaseModel):
    email: EmailStr
    password: Annotated[str, Password]
    display_name: DisplayName
    role: UserRole
