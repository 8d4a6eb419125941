"""DELETE /me rewrites the clickstream: no trace of the person's id, devices or e-mail."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from shop_api.accounts.erasure import registered_steps
from shop_api.core.clock import SystemClock
from shop_api.models import ErasureRecord
from shop_api.models.outbox import OutboxEvent
from shop_api.tracking.erasure import Eraser, strip_url
from shop_api.tracking.outbox import record_event
from shop_api.tracking.service import Tracking
from tests.factories import Factory
from tests.tracking.conftest import Lake, make_event

EMAIL = "ana.compradora@example.com"


def lake_text(tracking: Tracking) -> str:
    tracking.sink.flush()
    root: Path = tracking.zone.root
    return "".join(path.read_text() for path in sorted(root.glob("events*/dt=*/part-*.jsonl")))


def test_the_step_is_registered():
    assert "clickstream" in registered_steps()


def test_erasure_rewrites_the_lake(
    app: FastAPI,
    client: TestClient,
    factory: Factory,
    tracking: Tracking,
    lake: Lake,
    db: Session,
):
    person = factory.user()
    other = factory.user()
    seller = factory.user("seller")
    listing = factory.listing(seller)
    device, other_device = f"dev-{uuid.uuid4().hex}", f"dev-{uuid.uuid4().hex}"
    uid = str(person.id)

    before_login = make_event(client_id=device)
    own = make_event(
        "search",
        client_id=device,
        user_id=uid,
        page={"url": f"https://shop.example/s?email={EMAIL}#top", "referrer": None},
        params={"search_term": f"gift for {EMAIL}", "email": EMAIL},
        context={"user_agent": "Firefox", "locale": "pt-BR"},
        note=f"my id is {uid}",
    )
    own_reject = make_event("view_item", client_id=device, user_id=uid, items=[])
    theirs = make_event(client_id=other_device, user_id=str(other.id))
    client.post("/collect", json={"events": [before_login]})
    client.post("/collect", json={"events": [own, own_reject]}, headers=person.headers)
    client.post("/collect", json={"events": [theirs]}, headers=other.headers)
    client.get(f"/listings/{listing['id']}", headers=person.headers)  # server-side, srv- id
    with app.state.database.sessions() as session:  # a purchase not yet drained
        pending = record_event(
            session, event_name="refund", at=SystemClock().now(), user_id=person.id,
            params={"transaction_id": "T-1", "value": 1.0, "currency": "USD", "email": EMAIL},
        )  # fmt: skip
        session.commit()
    text = lake_text(tracking)
    assert uid in text and device in text and EMAIL in text
    server_device = tracking.user_client_id(person.id)
    assert server_device in text

    response = client.delete("/me", headers=person.headers)

    assert response.status_code == 204
    text = lake_text(tracking)
    for trace in (uid, uid.upper(), person.id.hex, device, EMAIL, server_device, "Firefox"):
        assert trace not in text, trace
    erased = lake.by_id(own["event_id"])
    assert erased["user_id"] is None
    assert erased["client_id"].startswith("erased-")
    assert lake.by_id(before_login["event_id"])["client_id"] == erased["client_id"]
    assert erased["page"]["url"] == "https://shop.example/s"
    assert erased["params"] == {"search_term": "gift for [redacted]"}
    assert erased["extra"] == {"note": "my id is [erased]"}
    assert erased["context"] == {
        "locale": "pt-BR", "utm_source": None, "utm_medium": None, "utm_campaign": None
    }  # fmt: skip
    untouched = lake.by_id(theirs["event_id"])
    assert untouched["user_id"] == str(other.id) and untouched["client_id"] == other_device

    row = db.get(OutboxEvent, pending.id)
    assert row is not None and row.user_id is None
    assert uid not in str(row.payload) and EMAIL not in str(row.payload)
    record = db.scalar(select(ErasureRecord).where(ErasureRecord.user_id == person.id))
    assert record is not None
    assert record.steps["clickstream"]["outbox_rows_scrubbed"] == 1
    assert record.steps["clickstream"]["events_rewritten"] >= 3


def test_strip_url():
    assert strip_url("https://u:p@shop.example/a/b?x=1#f") == "https://shop.example/a/b"
    assert strip_url(None) is None


def test_eraser_leaves_other_peoples_events_alone():
    person = uuid.uuid4()
    eraser = Eraser(person, {"dev-1"})
    someone = {"user_id": str(uuid.uuid4()), "client_id": "dev-9", "params": {"email": "x@y.io"}}
    assert eraser.scrub_lake_event(dict(someone)) is None
