"""Counters of failed logins, shared by every worker (``shop_api.auth.throttle``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from shop_api.core.db import Base


class LoginThrottleCounter(Base):
    """Login attempts charged to one account or client address in its current window.

    ``key`` is a keyed hash (HMAC with the secret key) of the account's email or the
    client's address, never either in the clear. A row whose window has ended counts
    nothing; such rows are deleted now and then.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int]
    window_ends_at: Mapped[datetime] = mapped_column(index=True)
