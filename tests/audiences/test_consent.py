"""The shop's consent read at publish time, on SQLite and PostgreSQL: both ad consents
needed, erased accounts apart, ids as the warehouse writes them (dashed lowercase)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import create_engine

from audiences.consent import read_consent
from shop_api.core.db import create_session_factory
from shop_api.models.user import User, UserRole


def test_read_consent_needs_both_purposes_and_sets_erased_apart(database_url) -> None:
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    made: dict[str, str] = {}
    with sessions() as session:
        for label, data, personal, erased in (
            ("both", True, True, False),
            ("data_only", True, False, False),
            ("neither", False, False, False),
            ("erased", True, True, True),
        ):
            user = User(
                email=f"{uuid.uuid4().hex}@example.com", display_name="x", role=UserRole.shopper
            )
            user.ad_user_data_consent, user.ad_personalization_consent = data, personal
            user.erased_at = datetime.now(UTC) if erased else None
            session.add(user)
            session.flush()
            made[label] = str(user.id)
        session.commit()
    snapshot = read_consent(engine)
    engine.dispose()
    assert made["both"] in snapshot.consenting
    assert not {made["data_only"], made["neither"], made["erased"]} & snapshot.consenting
    assert made["erased"] in snapshot.erased and made["both"] not in snapshot.erased
    assert all(len(key) == 36 and key == key.lower() for key in snapshot.consenting)
    assert snapshot.consenting_table.num_rows == len(snapshot.consenting)
