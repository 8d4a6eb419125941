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
import pyarrow.compute as pc
from sqlalchemy import Engine, String, cast, select

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


def _keys(ids: pa.Array) -> list[str]:
    """``_key`` of every id (text), in Arrow: 32 hex digits get their dashes; any other
    form not already dashed goes through ``_key`` one by one."""
    lower = pc.utf8_lower(ids)
    parts = [pc.utf8_slice_codeunits(lower, a, b) for a, b in DASHED_PARTS]
    dashed = pc.binary_join_element_wise(*parts, "-")
    keys = pc.if_else(pc.equal(pc.utf8_length(lower), 32), dashed, lower)
    return [k if len(k) == 36 else _key(k) for k in keys.to_pylist()]


DASHED_PARTS = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))


def read_consent(engine: Engine) -> ConsentSnapshot:
    """Who may be uploaded now, and who is erased, from the shop database."""
    users = User.__table__
    consents = users.c.ad_user_data_consent & users.c.ad_personalization_consent
    read_at = datetime.now(UTC)
    with engine.connect() as conn:
        # ids as text (no UUID object per row), keyed in Arrow: a million accounts are
        # read at each publish
        rows = conn.execute(
            select(cast(users.c.id, String), consents, users.c.erased_at.is_not(None))
        ).all()
    columns = list(zip(*rows, strict=True)) if rows else [[], [], []]
    ids = pa.array(columns[0], pa.string())
    consent = pc.fill_null(pa.array([bool(c) for c in columns[1]], pa.bool_()), False)
    erased = pa.array([bool(e) for e in columns[2]], pa.bool_())
    keys = pa.array(_keys(ids) if len(ids) else [], pa.string())
    consenting = keys.filter(pc.and_(consent, pc.invert(erased)))
    return ConsentSnapshot(
        frozenset(consenting.to_pylist()), frozenset(keys.filter(erased).to_pylist()), read_at
    )
