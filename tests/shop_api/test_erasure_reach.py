"""Erasure reaches every copy of the person: the carrier's parcel address, free text in
the clickstream lake (page titles, URLs, referrers), reset tokens and e-mails, and no text
column anywhere in the shop's database still holds their e-mail, name or address."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import JSON, String, Text, cast, func, select
from sqlalchemy.orm import Session

import shop_api.models  # noqa: F401  (every table on Base.metadata)
from shop_api.core.db import Base
from shop_api.models import ErasureRecord, OutboundMessage, PasswordResetToken
from shop_api.providers.sandbox.models import SandboxShipment
from shop_api.tracking.service import Tracking
from tests.factories import ADDRESS, Actor, Factory
from tests.tracking.conftest import make_event


def erase(client: TestClient, actor: Actor) -> None:
    response = client.delete("/me", headers=actor.headers)
    assert response.status_code == 204, response.text


def record_of(db: Session, actor: Actor) -> ErasureRecord:
    record = db.scalar(select(ErasureRecord).where(ErasureRecord.user_id == actor.id))
    assert record is not None
    return record


def lake_text(tracking: Tracking) -> str:
    tracking.sink.flush()
    root: Path = tracking.zone.root
    return "".join(path.read_text() for path in sorted(root.glob("events*/dt=*/part-*.jsonl")))


@pytest.fixture
def tracking(app: FastAPI) -> Tracking:
    return app.state.tracking


@pytest.fixture
def person(client: TestClient, factory: Factory) -> tuple[Actor, str]:
    """A shopper with a distinctive display name (so a search for it finds only them)."""
    actor = factory.user()
    name = f"Zorblat Quimby {uuid.uuid4().hex[:6]}"
    renamed = client.patch("/me", json={"display_name": name}, headers=actor.headers)
    assert renamed.status_code == 200, renamed.text
    return actor, name


def personal_address() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {**ADDRESS, "name": f"Recipient {tag}", "line1": f"Calle Falsa {tag}"}


class TestCarrier:
    def test_the_parcels_address_is_forgotten(
        self,
        client: TestClient,
        factory: Factory,
        db: Session,
        person: tuple[Actor, str],
        seller: Actor,
    ):
        buyer, _ = person
        address = personal_address()
        listing = factory.listing(seller, stock=5)
        order = factory.paid_order(buyer, [listing], shipping_address=address)
        tracking_number = factory.ship_order(seller, order["id"])["tracking_number"]
        parcel = db.get(SandboxShipment, tracking_number)
        assert parcel is not None and parcel.address["line1"] == address["line1"]

        erase(client, buyer)

        db.expire_all()
        parcel = db.get(SandboxShipment, tracking_number)
        assert parcel is not None
        assert address["name"] not in str(parcel.address)
        assert address["line1"] not in str(parcel.address)
        assert record_of(db, buyer).steps["carrier"] == {"parcels_forgotten": 1}

    def test_the_parcel_still_travels(
        self,
        client: TestClient,
        factory: Factory,
        person: tuple[Actor, str],
        seller: Actor,
    ):
        buyer, _ = person
        order = factory.paid_order(buyer, [factory.listing(seller, stock=5)])
        factory.ship_order(seller, order["id"])

        erase(client, buyer)
        [parcel] = client.get(f"/orders/{order['id']}/tracking", headers=seller.headers).json()
        advance = f"/sandbox/carrier/v1/shipments/{parcel['tracking_number']}/advance"
        for _ in range(3):
            assert client.post(advance).status_code == 200
            factory.settle()

        seen = client.get(f"/orders/{order['id']}", headers=seller.headers).json()
        assert seen["status"] == "delivered"


class TestLake:
    def test_name_and_email_leave_free_text(
        self,
        client: TestClient,
        factory: Factory,
        tracking: Tracking,
        person: tuple[Actor, str],
    ):
        actor, name = person
        email = actor.email
        own = make_event(
            page={
                "url": f"https://shop.example/u?who={quote_plus(name)}",
                "referrer": f"https://mail.example/inbox?to={quote(email)}",
                "title": f"{name}'s wishlist",
            },
            params={"list_name": f"Gifts for {name}"},
        )
        someone_else = make_event(
            page={
                "url": f"https://shop.example/invite?email={quote(email, safe='')}",
                "referrer": None,
                "title": f"Invite sent to {email} by a friend",
            },
        )
        assert client.post("/collect", json={"events": [own]}, headers=actor.headers).json()[
            "accepted"
        ] == [own["event_id"]]
        assert client.post("/collect", json={"events": [someone_else]}).json()["accepted"] == [
            someone_else["event_id"]
        ]
        before = lake_text(tracking)
        assert name in before and email in before

        erase(client, actor)

        after = lake_text(tracking)
        for trace in (name, name.upper(), quote_plus(name), quote(name), email, quote(email, "")):
            assert trace not in after, trace
        assert "wishlist" in after, "the rest of the title stays"


class TestOwnCopies:
    def test_reset_tokens_and_emails_go(
        self, client: TestClient, factory: Factory, db: Session, person: tuple[Actor, str]
    ):
        actor, _ = person
        client.post("/auth/password-reset", json={"email": actor.email})
        factory.settle()  # one delivered
        client.post("/auth/password-reset", json={"email": actor.email})  # one still queued

        erase(client, actor)
        factory.settle()

        for model in (PasswordResetToken, OutboundMessage):
            count = db.scalar(select(func.count()).where(model.user_id == actor.id))
            assert count == 0, model.__tablename__
        sent = db.scalar(select(func.count()).where(OutboundMessage.recipient == actor.email))
        assert sent == 0
        steps = record_of(db, actor).steps
        assert steps["password_resets"] == {"tokens_deleted": 2}
        assert steps["messages"] == {"messages_deleted": 2}


def text_columns_containing(db: Session, needle: str) -> list[str]:
    """Every table.column of the shop whose text (or JSON) holds ``needle``."""
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        if not columns:
            continue
        for column in columns:
            text = func.lower(cast(column, Text))
            hits = db.scalar(
                select(func.count()).select_from(table).where(text.contains(needle.lower()))
            )
            if hits:
                found.append(f"{table.name}.{column.name}")
    return found


def test_no_text_in_the_shop_database_still_holds_the_person(
    client: TestClient,
    factory: Factory,
    db: Session,
    person: tuple[Actor, str],
    seller: Actor,
):
    """A whole story (renamed, asked, bought, shipped, delivered, reviewed, asked for a
    reset), then erasure: no column of any table mentions them any more."""
    actor, name = person
    address = personal_address()
    listing = factory.listing(seller, stock=5)
    factory.question(actor, listing["id"], f"Can {name} pick it up at {address['line1']}?")
    order = factory.paid_order(actor, [listing], shipping_address=address)
    factory.deliver_order(seller, order["id"])
    delivered = client.get(f"/orders/{order['id']}", headers=actor.headers).json()
    factory.review(actor, delivered, title=f"From {name}", body=f"Sent to {address['line1']}")
    client.post("/auth/password-reset", json={"email": actor.email})
    needles = [actor.email, name, address["name"], address["line1"]]
    assert all(text_columns_containing(db, needle) for needle in needles)

    erase(client, actor)

    leftovers = {needle: text_columns_containing(db, needle) for needle in needles}
    assert leftovers == {needle: [] for needle in needles}
