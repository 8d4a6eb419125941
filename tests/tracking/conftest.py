"""Helpers for the clickstream tests: event builders and a look into the app's lake."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI

from shop_api.tracking.lake import EVENTS, EVENTS_BAD
from shop_api.tracking.service import Tracking
from tests.factories import Actor, Factory

LISTING_ID = "5f0c6a52-2d0e-4f7e-9c1b-6d3f2b8a9e10"


def make_event(name: str = "page_view", **overrides: Any) -> dict[str, Any]:
    """A valid event v1 of this name, as tag.js would send it."""
    item = {"item_id": LISTING_ID, "item_name": "Camera", "price": 125.0, "quantity": 1}
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_name": name,
        "event_time": datetime.now(UTC).isoformat(),
        "client_id": f"c-{uuid.uuid4().hex[:16]}",
        "session_id": "s-1",
        "page": {"url": "https://shop.example/", "referrer": None, "title": "Home"},
        "params": {},
        "items": [],
        "context": {"user_agent": "pytest", "locale": "pt-BR"},
    }
    needs = {
        "search": {"params": {"search_term": "camera"}},
        "purchase": {
            "params": {"transaction_id": "T-1", "value": 125.0, "currency": "USD"},
            "items": [item],
        },
        "refund": {"params": {"transaction_id": "T-1", "value": 125.0, "currency": "USD"}},
        "write_review": {"params": {"rating": 5}, "items": [item]},
    }
    event.update(needs.get(name, {}))
    if name in {"view_item_list", "select_item", "view_item", "add_to_cart",
                "remove_from_cart", "begin_checkout", "ask_question"}:  # fmt: skip
        event["items"] = [item]
    event.update(overrides)
    return event


@pytest.fixture
def tracking(app: FastAPI) -> Tracking:
    return app.state.tracking


class Lake:
    """What the landing zone holds, after the app's writer has flushed."""

    def __init__(self, tracking: Tracking) -> None:
        self.tracking = tracking

    def events(self) -> list[dict[str, Any]]:
        self.tracking.sink.flush()
        return list(self.tracking.zone.read(EVENTS))

    def rejects(self) -> list[dict[str, Any]]:
        self.tracking.sink.flush()
        return list(self.tracking.zone.read(EVENTS_BAD))

    def by_id(self, event_id: str) -> dict[str, Any]:
        found = [event for event in self.events() if event["event_id"] == event_id]
        assert len(found) == 1, found
        return found[0]

    def server_events(self, name: str, **match: Any) -> list[dict[str, Any]]:
        return [
            event
            for event in self.events()
            if event["event_name"] == name
            and (event.get("context") or {}).get("source") == "server"
            and all(event.get(key) == value for key, value in match.items())
        ]


@pytest.fixture
def lake(tracking: Tracking) -> Lake:
    return Lake(tracking)


@pytest.fixture
def shopper(factory: Factory) -> Actor:
    return factory.user("shopper")


@pytest.fixture
def seller(factory: Factory) -> Actor:
    return factory.user("seller")
