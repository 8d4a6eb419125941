"""Builders for test objects. Users are made through the services (staff cannot sign up);
everything a user does goes through the HTTP API, as a client would."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from shop_api.auth.service import create_user
from shop_api.core.clock import SystemClock
from shop_api.core.security import create_access_token
from shop_api.jobs import JobReport, run_until_quiet
from shop_api.models import UserRole


@dataclass
class Actor:
    id: uuid.UUID
    email: str
    password: str
    role: UserRole
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def unique_word(prefix: str = "zq") -> str:
    """A made-up word no other test uses: consonants only, so no stemmer changes it."""
    letters = "bcdfghjkmnpqrtvwxz"
    value = uuid.uuid4().int
    chars = []
    for _ in range(10):
        value, index = divmod(value, len(letters))
        chars.append(letters[index])
    return prefix + "".join(chars)


def unique_slug(prefix: str = "cat") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def webp_bytes(width: int = 8, height: int = 8, color: str = "green") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="WEBP")
    return buffer.getvalue()


def png_bytes(width: int = 8, height: int = 8, color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(width: int = 8, height: int = 8, exif: bytes | None = None) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", (width, height), "blue")
    if exif is not None:
        image.save(buffer, format="JPEG", exif=exif)
    else:
        image.save(buffer, format="JPEG")
    return buffer.getvalue()


def assert_error(response: Any, status_code: int, code: str | None = None) -> dict[str, Any]:
    """The response is the contract's error envelope with this status (and code); returns it."""
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


ADDRESS = {
    "name": "Ana Compradora",
    "line1": "Rua das Flores 12",
    "city": "Curitiba",
    "postal_code": "80010-000",
    "country": "BR",
}
SUCCESS_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}
DECLINED_CARD = {**SUCCESS_CARD, "number": "4000000000000002"}


class Factory:
    def __init__(self, app: FastAPI, client: TestClient) -> None:
        self.app = app
        self.client = client

    def user(
        self,
        role: UserRole | str = UserRole.shopper,
        *,
        ad_consent: bool = False,
        phone: str | None = None,
    ) -> Actor:
        """An account; ``ad_consent`` grants both ad purposes at signup."""
        role = UserRole(role)
        email = unique_email(role.value)
        password = "correct horse battery"
        with self.app.state.database.sessions() as session:
            user = create_user(
                session,
                self.app.state.password_hasher,
                SystemClock(),
                email=email,
                password=password,
                display_name=f"Test {role.value}",
                role=role,
                phone=phone,
                ad_user_data_consent=ad_consent,
                ad_personalization_consent=ad_consent,
            )
            token = create_access_token(
                self.app.state.settings, user.id, user.token_version, SystemClock().now()
            )
            return Actor(id=user.id, email=email, password=password, role=role, token=token)

    def listing(self, seller: Actor, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": "Vintage film camera",
            "description": "A working 35mm camera with a 50mm lens.",
            "category": "cameras",
            "price_minor": 12_500,
            "currency": "USD",
            "stock": 3,
            "condition": "used",
            "attributes": {"brand": "Pentax"},
            "status": "active",
        }
        body.update(overrides)
        response = self.client.post("/listings", json=body, headers=seller.headers)
        assert response.status_code == 201, response.text
        return response.json()

    def post_webhook(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """Deliver a sandbox webhook to the app under test (what HTTP would do)."""
        return self.client.post(urlsplit(url).path, content=body, headers=headers).status_code

    def settle(self) -> JobReport:
        """Let the sandbox providers and webhooks run until nothing is left to do now."""
        return run_until_quiet(self.app.state, self.post_webhook)

    def order(
        self, buyer: Actor, listings: list[dict[str, Any]], *, quantity: int = 1, **body: Any
    ) -> dict[str, Any]:
        """Put the listings in the buyer's cart and check out."""
        for listing in listings:
            response = self.client.post(
                "/cart/items",
                json={"listing_id": listing["id"], "quantity": quantity},
                headers=buyer.headers,
            )
            assert response.status_code == 201, response.text
        response = self.client.post(
            "/checkout",
            json={"shipping_address": ADDRESS, **body},
            headers={**buyer.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 201, response.text
        return response.json()

    def pay(self, buyer: Actor, order_id: str, card: dict[str, Any] | None = None) -> dict:
        """Open the payment, confirm it at the sandbox gateway with a card, settle."""
        started = self.client.post(f"/orders/{order_id}/payments", headers=buyer.headers)
        assert started.status_code == 201, started.text
        session = started.json()
        confirmed = self.client.post(
            session["confirm_url"],
            json={"client_secret": session["client_secret"], "card": card or SUCCESS_CARD},
        )
        assert confirmed.status_code == 200, confirmed.text
        self.settle()
        return self.client.get(f"/orders/{order_id}", headers=buyer.headers).json()

    def paid_order(self, buyer: Actor, listings: list[dict[str, Any]], **body: Any) -> dict:
        order = self.order(buyer, listings, **body)
        paid = self.pay(buyer, order["id"])
        assert paid["status"] == "paid", paid
        return paid

    def question(self, asker: Actor, listing_id: str, body: str = "Does it ship today?") -> dict:
        response = self.client.post(
            f"/listings/{listing_id}/questions", json={"body": body}, headers=asker.headers
        )
        assert response.status_code == 201, response.text
        return response.json()

    def category(self, staff: Actor, *, parent: str | None = None, slug: str | None = None) -> dict:
        """A fresh category (optionally under ``parent``), so filters see only this test's rows."""
        body = {"slug": slug or unique_slug(), "name": "Test category", "parent": parent}
        response = self.client.post("/categories", json=body, headers=staff.headers)
        assert response.status_code == 201, response.text
        return response.json()

    def image(
        self, seller: Actor, listing_id: str, data: bytes | None = None, name: str = "a.png"
    ) -> dict:
        response = self.client.post(
            f"/listings/{listing_id}/images",
            files={"file": (name, data if data is not None else png_bytes(), "image/png")},
            headers=seller.headers,
        )
        assert response.status_code == 201, response.text
        return response.json()

    def ship_order(self, seller: Actor, order_id: str, group_id: str | None = None) -> dict:
        """The seller ships their part of a paid order; returns the shipment."""
        response = self.client.post(
            f"/orders/{order_id}/ship",
            json={"group_id": group_id} if group_id else None,
            headers=seller.headers,
        )
        assert response.status_code == 201, response.text
        return response.json()

    def deliver_order(self, seller: Actor, order_id: str, group_id: str | None = None) -> dict:
        """Ship the seller's part and let the sandbox carrier take it to the door."""
        tracking_number = self.ship_order(seller, order_id, group_id)["tracking_number"]
        url = f"/sandbox/carrier/v1/shipments/{tracking_number}/advance"
        for _ in range(10):
            advanced = self.client.post(url)
            assert advanced.status_code == 200, advanced.text
            self.settle()
            if advanced.json()["status"] == "delivered":
                break
        return self.client.get(f"/orders/{order_id}", headers=seller.headers).json()

    def delivered_order(
        self, buyer: Actor, seller: Actor, listings: list[dict[str, Any]], **body: Any
    ) -> dict:
        """A paid order from one seller, delivered; as the buyer sees it."""
        order = self.paid_order(buyer, listings, **body)
        self.deliver_order(seller, order["id"])
        delivered = self.client.get(f"/orders/{order['id']}", headers=buyer.headers).json()
        assert delivered["status"] == "delivered", delivered
        return delivered

    def review(self, buyer: Actor, order: dict, item_index: int = 0, **body: Any) -> dict:
        """The buyer reviews one item of a delivered order."""
        payload = {"order_item_id": order["items"][item_index]["id"], "rating": 5, **body}
        response = self.client.post(
            f"/orders/{order['id']}/reviews", json=payload, headers=buyer.headers
        )
        assert response.status_code == 201, response.text
        return response.json()

    def coupon(self, staff: Actor, **overrides: Any) -> dict:
        """A live coupon with a fresh code: 10% off unless told otherwise."""
        body: dict[str, Any] = {"code": f"T{uuid.uuid4().hex[:12]}", "kind": "percent"}
        body.update(overrides)
        if body["kind"] == "percent":
            body.setdefault("percent_off", 10)
        response = self.client.post("/promotions/coupons", json=body, headers=staff.headers)
        assert response.status_code == 201, response.text
        return response.json()
