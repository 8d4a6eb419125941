"""Consent as the shop holds it at publish time.

The warehouse's consent flags are as old as its last load; a shopper who withdrew since
must not be uploaded. So every publication re-reads the shop's accounts just before it
writes: who consents to both ad purposes (``ad_user_data`` and ``ad_personalization``,
Google's EU user consent policy) and who is erased.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

import pyarrow as pa
from sqlalchemy import Engine, String, select, type_coerce

from shop_api.models.user import User


@dataclass(frozen=True)
class ConsentSnapshot:
    """Account ids (dashed lowercase, as in the warehouse) read at ``read_at``."""

    consenting: frozenset[str]
    erased: frozenset[str]
    read_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @cached_property
    def consenting_table(self) -> pa.Table:
        """``customer_id`` of the consenting accounts, for a join in the warehouse."""
        return pa.table({"customer_id": pa.array(list(self.consenting), pa.string())})


def _key(value: object) -> str:
    """Dashed lowercase: PostgreSQL hands back a UUID, SQLite its 32 hex digits."""
    if isinstance(value, uuid.UUID):
        return str(value)
    text = str(value).lower()
    if len(text) == 32:
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return str(uuid.UUID(text))


def read_consent(engine: Engine) -> ConsentSnapshot:
    """Who may be uploaded now, and who is erased, from the shop database."""
    users = User.__table__
    consents = users.c.ad_user_data_consent & users.c.ad_personalization_consent
    read_at = datetime.now(UTC)
    consenting: set[str] = set()
    erased: set[str] = set()
    with engine.connect() as conn:
        # the raw id (no UUID object per row: a million accounts are read at each publish)
        rows = conn.execute(select(type_coerce(users.c.id, String), consents, users.c.erased_at))
        for user_id, consent, erased_at in rows:
            if erased_at is not None:
                erased.add(_key(user_id))
            elif consent:
                consenting.add(_key(user_id))
    return ConsentSnapshot(frozenset(consenting), frozenset(erased), read_at)
