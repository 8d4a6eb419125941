"""Who may call what: the status every route answers to every kind of caller.

The callers are an anonymous visitor, a shopper and another shopper, the seller who owns
the listings under test, another seller, and staff. The rules the table encodes:

- anonymous on an endpoint that needs an account: 401;
- a resource the caller may not read is absent: 404 (drafts and paused listings are seen
  only by their seller and staff; notifications only by their owner);
- a resource the caller can see but may not change or act on: 403;
- only sellers publish listings (staff: 403); staff may edit any listing (moderation);
- only the listing's seller answers its questions (staff too get 403), and sellers cannot
  ask about their own listings;
- carts are private to their owner, even from staff; anyone signed in may buy, but not
  their own listing (409);
- an order is seen by its buyer, the sellers in it and staff; only its buyer (or staff)
  cancels and pays it, only its sellers (or staff) ship it, only staff refund it; its
  payments (the buyer's card) are not shown to its sellers;
- published audiences (``/marketing``) are for staff only;
- webhooks authenticate by signature, not by bearer token, and the sandbox providers' own
  endpoints by the payment's client secret (or not at all), as the real ones do.

Every route of the OpenAPI schema must have a row, so a new endpoint fails the suite until
its authorisation is written down here.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from shop_api.models import UserRole
from shop_api.providers.signing import SIGNATURE_HEADER
from tests.factories import ADDRESS, SUCCESS_CARD, Actor, Factory, png_bytes, unique_email

ACTORS = ("anonymous", "shopper", "other_shopper", "seller", "other_seller", "staff")

# One row per (route, resource state); columns follow ACTORS.
# fmt: off
EXPECTED: dict[str, tuple[int, int, int, int, int, int]] = {
    #                                                  anon shop oshop sell osell staff
    "POST /auth/signup":                              (201, 201, 201, 201, 201, 201),
    "POST /auth/token":                               (200, 200, 200, 200, 200, 200),
    "POST /auth/password-reset":                      (202, 202, 202, 202, 202, 202),
    "POST /auth/password-reset/confirm [unknown token]":
                                                      (400, 400, 400, 400, 400, 400),
    "GET /me":                                        (401, 200, 200, 200, 200, 200),
    "PATCH /me":                                      (401, 200, 200, 200, 200, 200),
    "DELETE /me":                                     (401, 204, 204, 204, 204, 204),
    "GET /me/consents":                               (401, 200, 200, 200, 200, 200),
    "GET /me/export":                                 (401, 200, 200, 200, 200, 200),
    "GET /me/listings":                               (401, 403, 403, 200, 200, 200),
    "GET /me/notifications":                          (401, 200, 200, 200, 200, 200),
    "POST /me/notifications/{notification_id}/read":  (401, 404, 404, 200, 404, 404),
    "POST /me/notifications/read-all":                (401, 200, 200, 200, 200, 200),
    "GET /categories":                                (200, 200, 200, 200, 200, 200),
    "GET /categories/{slug_or_id}":                   (200, 200, 200, 200, 200, 200),
    "POST /categories":                               (401, 403, 403, 403, 403, 201),
    "POST /listings":                                 (401, 403, 403, 201, 201, 403),
    "GET /listings":                                  (200, 200, 200, 200, 200, 200),
    "GET /listings/{listing_id} [active]":            (200, 200, 200, 200, 200, 200),
    "GET /listings/{listing_id} [draft]":             (404, 404, 404, 200, 404, 200),
    "PATCH /listings/{listing_id} [active]":          (401, 403, 403, 200, 403, 200),
    "PATCH /listings/{listing_id} [draft]":           (401, 404, 404, 200, 404, 200),
    "POST /listings/{listing_id}/images [active]":    (401, 403, 403, 201, 403, 201),
    "POST /listings/{listing_id}/images [draft]":     (401, 404, 404, 201, 404, 201),
    "DELETE /listings/{listing_id}/images/{image_id}": (401, 403, 403, 204, 403, 204),
    "POST /listings/{listing_id}/questions [active]": (401, 201, 201, 403, 201, 201),
    "POST /listings/{listing_id}/questions [draft]":  (401, 404, 404, 403, 404, 409),
    "GET /listings/{listing_id}/questions [active]":  (200, 200, 200, 200, 200, 200),
    "GET /listings/{listing_id}/questions [draft]":   (404, 404, 404, 200, 404, 200),
    "POST /questions/{question_id}/answer [active]":  (401, 403, 403, 200, 403, 403),
    "POST /questions/{question_id}/answer [paused]":  (401, 404, 404, 200, 404, 403),
    "GET /media/{key}":                               (200, 200, 200, 200, 200, 200),
    "POST /orders/{order_id}/reviews [delivered]":    (401, 201, 404, 403, 404, 403),
    "GET /listings/{listing_id}/reviews [active]":    (200, 200, 200, 200, 200, 200),
    "GET /listings/{listing_id}/reviews [draft]":     (404, 404, 404, 200, 404, 200),
    "GET /recommendations":                           (200, 200, 200, 200, 200, 200),
    "GET /listings/{listing_id}/similar [active]":    (200, 200, 200, 200, 200, 200),
    "GET /listings/{listing_id}/similar [draft]":     (404, 404, 404, 200, 404, 200),
    "GET /listings/{listing_id}/bought-together [active]":
                                                      (200, 200, 200, 200, 200, 200),
    "GET /listings/{listing_id}/bought-together [draft]":
                                                      (404, 404, 404, 200, 404, 200),
    "GET /sellers/{seller_id}/rating":                (200, 200, 200, 200, 200, 200),
    "POST /promotions/coupons":                       (401, 403, 403, 403, 403, 201),
    "GET /promotions/coupons":                        (401, 403, 403, 403, 403, 200),
    "GET /promotions/coupons/{code}":                 (401, 403, 403, 403, 403, 200),
    "PATCH /promotions/coupons/{code}":               (401, 403, 403, 403, 403, 200),
    "POST /collect":                                  (200, 200, 200, 200, 200, 200),
    "GET /tag.js":                                    (200, 200, 200, 200, 200, 200),
    "GET /cart":                                      (401, 200, 200, 200, 200, 200),
    "POST /cart/items":                               (401, 201, 201, 409, 201, 201),
    "PATCH /cart/items/{item_id}":                    (401, 200, 404, 404, 404, 404),
    "DELETE /cart/items/{item_id}":                   (401, 204, 404, 404, 404, 404),
    "POST /checkout":                                 (401, 201, 201, 201, 201, 201),
    "GET /orders":                                    (401, 200, 200, 200, 200, 200),
    "GET /orders/{order_id}":                         (401, 200, 404, 200, 404, 200),
    "GET /orders/{order_id}/history":                 (401, 200, 404, 200, 404, 200),
    "POST /orders/{order_id}/cancel":                 (401, 200, 404, 403, 404, 200),
    "POST /orders/{order_id}/payments":               (401, 201, 404, 403, 404, 201),
    "GET /orders/{order_id}/payments":                (401, 200, 404, 403, 404, 200),
    "POST /orders/{order_id}/refunds [paid]":         (401, 403, 403, 403, 403, 202),
    "GET /orders/{order_id}/refunds":                 (401, 200, 404, 403, 404, 200),
    "POST /orders/{order_id}/ship [paid]":            (401, 403, 404, 201, 404, 201),
    "GET /orders/{order_id}/tracking":                (401, 200, 404, 200, 404, 200),
    "GET /seller/orders":                             (401, 403, 403, 200, 200, 200),
    "GET /seller/sales":                              (401, 403, 403, 200, 200, 200),
    "POST /webhooks/payments [forged]":               (401, 401, 401, 401, 401, 401),
    "POST /webhooks/shipping [forged]":               (401, 401, 401, 401, 401, 401),
    "POST /sandbox/payments/v1/payment_intents/{intent_id}/confirm":
                                                      (200, 200, 200, 200, 200, 200),
    "POST /sandbox/payments/v1/payment_intents/{intent_id}/authenticate":
                                                      (200, 200, 200, 200, 200, 200),
    "GET /sandbox/payments/v1/payment_intents/{intent_id}":
                                                      (200, 200, 200, 200, 200, 200),
    "POST /sandbox/carrier/v1/shipments/{tracking_number}/advance":
                                                      (200, 200, 200, 200, 200, 200),
    "GET /sandbox/carrier/v1/labels/{tracking_number}":
                                                      (200, 200, 200, 200, 200, 200),
    "GET /marketing/audiences":                       (401, 403, 403, 403, 403, 200),
    "GET /marketing/audiences/{name}/versions":       (401, 403, 403, 403, 403, 200),
    "GET /marketing/audiences/{name}/members.csv":    (401, 403, 403, 403, 403, 200),
    "GET /healthz":                                   (200, 200, 200, 200, 200, 200),
    "GET /readyz":                                    (200, 200, 200, 200, 200, 200),
}
# fmt: on

ERROR_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Call:
    """How to make the request of a row. ``{name}`` in the URL is a resource that
    :class:`Scene` builds for this case only (for example ``{draft}``)."""

    url: str
    json: Callable[[Scene], Any] | None = None
    form: Callable[[Scene], dict[str, str]] | None = None
    upload: bool = False
    # The caller is a fresh account of the actor's role (for calls that destroy the caller).
    throwaway_caller: bool = False
    headers: Callable[[Scene], dict[str, str]] | None = None
    # Runs for a signed-in caller before the request (e.g. fills the caller's cart).
    prepare: Callable[[Scene, Actor], None] | None = None


def _signup_body(_scene: Scene) -> dict[str, Any]:
    return {"email": unique_email("signup"), "password": PASSWORD, "display_name": "Newcomer"}


def _login_form(scene: Scene) -> dict[str, str]:
    return {"username": scene.cast["shopper"].email, "password": scene.cast["shopper"].password}


def _category_body(_scene: Scene) -> dict[str, Any]:
    return {"slug": f"authz-{uuid.uuid4().hex[:12]}", "name": "Authorisation test"}


def _listing_body(_scene: Scene) -> dict[str, Any]:
    return {"title": "Matrix lamp", "category": "cameras", "price_minor": 1_000, "stock": 1}


def _edit_body(_scene: Scene) -> dict[str, Any]:
    return {"title": "Edited title"}


def _question_body(_scene: Scene) -> dict[str, Any]:
    return {"body": "Is the lens included?"}


def _answer_body(_scene: Scene) -> dict[str, Any]:
    return {"body": "Yes, it is."}


def _forged_signature(_scene: Scene) -> dict[str, str]:
    return {SIGNATURE_HEADER: f"t={int(time.time())},v1={'0' * 64}"}


def _fill_cart(scene: Scene, caller: Actor) -> None:
    response = scene.client.post(
        "/cart/items", json={"listing_id": scene["listing"]}, headers=caller.headers
    )
    assert response.status_code == 201, response.text


def _confirm_body(scene: Scene) -> dict[str, Any]:
    return {"client_secret": scene["payment_session"]["client_secret"], "card": SUCCESS_CARD}


def _authenticate_body(scene: Scene) -> dict[str, Any]:
    return {"client_secret": scene["intent_requiring_action"]["client_secret"]}


def _review_body(scene: Scene) -> dict[str, Any]:
    return {"order_item_id": scene["delivered_order"]["items"][0]["id"], "rating": 4}


def _coupon_body(_scene: Scene) -> dict[str, Any]:
    return {"code": f"M{uuid.uuid4().hex[:10]}", "kind": "percent", "percent_off": 5}


def _collect_body(_scene: Scene) -> dict[str, Any]:
    event = {
        "event_id": str(uuid.uuid4()),
        "event_name": "page_view",
        "event_time": datetime.now(UTC).isoformat(),
        "client_id": "matrix-client",
        "page": {"url": "https://shop.example/"},
    }
    return {"events": [event]}


CALLS: dict[str, Call] = {
    "POST /auth/signup": Call("/auth/signup", json=_signup_body),
    "POST /auth/token": Call("/auth/token", form=_login_form),
    "POST /auth/password-reset": Call(
        "/auth/password-reset", json=lambda _: {"email": unique_email("reset")}
    ),
    "POST /auth/password-reset/confirm [unknown token]": Call(
        "/auth/password-reset/confirm",
        json=lambda _: {"token": uuid.uuid4().hex, "new_password": "quiet lantern meadow 7"},
    ),
    "GET /me": Call("/me"),
    "PATCH /me": Call("/me", json=lambda _: {"display_name": "Renamed"}),
    "DELETE /me": Call("/me", throwaway_caller=True),
    "GET /me/consents": Call("/me/consents"),
    "GET /me/export": Call("/me/export"),
    "GET /me/listings": Call("/me/listings"),
    "GET /me/notifications": Call("/me/notifications"),
    "POST /me/notifications/{notification_id}/read": Call("/me/notifications/{notification}/read"),
    "POST /me/notifications/read-all": Call("/me/notifications/read-all"),
    "GET /categories": Call("/categories"),
    "GET /categories/{slug_or_id}": Call("/categories/cameras"),
    "POST /categories": Call("/categories", json=_category_body),
    "POST /listings": Call("/listings", json=_listing_body),
    "GET /listings": Call("/listings"),
    "GET /listings/{listing_id} [active]": Call("/listings/{listing}"),
    "GET /listings/{listing_id} [draft]": Call("/listings/{draft}"),
    "PATCH /listings/{listing_id} [active]": Call("/listings/{listing}", json=_edit_body),
    "PATCH /listings/{listing_id} [draft]": Call("/listings/{draft}", json=_edit_body),
    "POST /listings/{listing_id}/images [active]": Call("/listings/{listing}/images", upload=True),
    "POST /listings/{listing_id}/images [draft]": Call("/listings/{draft}/images", upload=True),
    "DELETE /listings/{listing_id}/images/{image_id}": Call(
        "/listings/{image[listing_id]}/images/{image[id]}"
    ),
    "POST /listings/{listing_id}/questions [active]": Call(
        "/listings/{listing}/questions", json=_question_body
    ),
    "POST /listings/{listing_id}/questions [draft]": Call(
        "/listings/{draft}/questions", json=_question_body
    ),
    "GET /listings/{listing_id}/questions [active]": Call("/listings/{listing}/questions"),
    "GET /recommendations": Call("/recommendations"),
    "GET /listings/{listing_id}/similar [active]": Call("/listings/{listing}/similar"),
    "GET /listings/{listing_id}/similar [draft]": Call("/listings/{draft}/similar"),
    "GET /listings/{listing_id}/bought-together [active]": Call(
        "/listings/{listing}/bought-together"
    ),
    "GET /listings/{listing_id}/bought-together [draft]": Call("/listings/{draft}/bought-together"),
    "GET /listings/{listing_id}/questions [draft]": Call("/listings/{draft}/questions"),
    "POST /questions/{question_id}/answer [active]": Call(
        "/questions/{question}/answer", json=_answer_body
    ),
    "POST /questions/{question_id}/answer [paused]": Call(
        "/questions/{question_on_paused_listing}/answer", json=_answer_body
    ),
    "GET /media/{key}": Call("/media/{image[key]}"),
    "POST /orders/{order_id}/reviews [delivered]": Call(
        "/orders/{delivered_order[id]}/reviews", json=_review_body
    ),
    "GET /listings/{listing_id}/reviews [active]": Call("/listings/{listing}/reviews"),
    "GET /listings/{listing_id}/reviews [draft]": Call("/listings/{draft}/reviews"),
    "GET /sellers/{seller_id}/rating": Call("/sellers/{seller_id}/rating"),
    "POST /promotions/coupons": Call("/promotions/coupons", json=_coupon_body),
    "GET /promotions/coupons": Call("/promotions/coupons"),
    "GET /promotions/coupons/{code}": Call("/promotions/coupons/{coupon}"),
    "PATCH /promotions/coupons/{code}": Call(
        "/promotions/coupons/{coupon}", json=lambda _: {"description": "Matrix edit"}
    ),
    "POST /collect": Call("/collect", json=_collect_body),
    "GET /tag.js": Call("/tag.js"),
    "GET /cart": Call("/cart"),
    "POST /cart/items": Call("/cart/items", json=lambda scene: {"listing_id": scene["listing"]}),
    "PATCH /cart/items/{item_id}": Call("/cart/items/{cart_item}", json=lambda _: {"quantity": 2}),
    "DELETE /cart/items/{item_id}": Call("/cart/items/{cart_item}"),
    "POST /checkout": Call(
        "/checkout",
        json=lambda _: {"shipping_address": ADDRESS},
        headers=lambda _: {"Idempotency-Key": uuid.uuid4().hex},
        throwaway_caller=True,
        prepare=_fill_cart,
    ),
    "GET /orders": Call("/orders"),
    "GET /orders/{order_id}": Call("/orders/{order}"),
    "GET /orders/{order_id}/history": Call("/orders/{order}/history"),
    "POST /orders/{order_id}/cancel": Call("/orders/{order}/cancel"),
    "POST /orders/{order_id}/payments": Call("/orders/{order}/payments"),
    "GET /orders/{order_id}/payments": Call("/orders/{order}/payments"),
    "POST /orders/{order_id}/refunds [paid]": Call(
        "/orders/{paid_order}/refunds", json=lambda _: {}
    ),
    "GET /orders/{order_id}/refunds": Call("/orders/{order}/refunds"),
    "POST /orders/{order_id}/ship [paid]": Call("/orders/{paid_order}/ship"),
    "GET /orders/{order_id}/tracking": Call("/orders/{order}/tracking"),
    "GET /seller/orders": Call("/seller/orders"),
    "GET /seller/sales": Call("/seller/sales"),
    "POST /webhooks/payments [forged]": Call(
        "/webhooks/payments", json=lambda _: {"id": "evt_forged"}, headers=_forged_signature
    ),
    "POST /webhooks/shipping [forged]": Call(
        "/webhooks/shipping", json=lambda _: {"id": "evt_forged"}, headers=_forged_signature
    ),
    "POST /sandbox/payments/v1/payment_intents/{intent_id}/confirm": Call(
        "/sandbox/payments/v1/payment_intents/{payment_session[intent_id]}/confirm",
        json=_confirm_body,
    ),
    "POST /sandbox/payments/v1/payment_intents/{intent_id}/authenticate": Call(
        "/sandbox/payments/v1/payment_intents/{intent_requiring_action[intent_id]}/authenticate",
        json=_authenticate_body,
    ),
    "GET /sandbox/payments/v1/payment_intents/{intent_id}": Call(
        "/sandbox/payments/v1/payment_intents/{payment_session[intent_id]}"
        "?client_secret={payment_session[client_secret]}"
    ),
    "POST /sandbox/carrier/v1/shipments/{tracking_number}/advance": Call(
        "/sandbox/carrier/v1/shipments/{shipment}/advance"
    ),
    "GET /sandbox/carrier/v1/labels/{tracking_number}": Call(
        "/sandbox/carrier/v1/labels/{shipment}"
    ),
    "GET /marketing/audiences": Call("/marketing/audiences"),
    "GET /marketing/audiences/{name}/versions": Call("/marketing/audiences/{audience}/versions"),
    "GET /marketing/audiences/{name}/members.csv": Call(
        "/marketing/audiences/{audience}/members.csv"
    ),
    "GET /healthz": Call("/healthz"),
    "GET /readyz": Call("/readyz"),
}


def route_of(row: str) -> str:
    """``"GET /listings/{listing_id} [draft]"`` -> ``"GET /listings/{listing_id}"``."""
    return row.split(" [")[0]


class Scene:
    """The resources one case needs, built on first use and owned by the ``seller``.

    A mapping for ``str.format_map``: ``"/listings/{draft}".format_map(scene)`` creates a
    draft only when a row mentions it, which keeps each case to a few requests.
    """

    def __init__(self, factory: Factory, cast: dict[str, Actor]) -> None:
        self.factory = factory
        self.client = factory.client
        self.cast = cast
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            self._built[name] = getattr(self, f"_build_{name}")()
        return self._built[name]

    @property
    def seller(self) -> Actor:
        return self.cast["seller"]

    def _build_audience(self) -> str:
        """A released audience version, written in the published layout."""
        root = self.factory.app.state.settings.published_audiences_dir
        name, version = f"matrix_{uuid.uuid4().hex[:8]}", "20261207T020000Z"
        (root / name / version).mkdir(parents=True)
        (root / name / version / "members.csv").write_text("Email,Phone\n")
        manifest = {"audience": name, "version": version, "status": "published"}
        (root / name / version / "manifest.json").write_text(json.dumps(manifest))
        (root / name / "LATEST").write_text(version)
        return name

    def _build_listing(self) -> str:
        return self.factory.listing(self.seller, title="Matrix camera")["id"]

    def _build_draft(self) -> str:
        return self.factory.listing(self.seller, title="Matrix draft", status="draft")["id"]

    def _build_question(self) -> str:
        return self.factory.question(self.cast["shopper"], self["listing"])["id"]

    def _build_question_on_paused_listing(self) -> str:
        listing_id = self.factory.listing(self.seller, title="Matrix paused")["id"]
        question_id = self.factory.question(self.cast["shopper"], listing_id)["id"]
        response = self.client.patch(
            f"/listings/{listing_id}", json={"status": "paused"}, headers=self.seller.headers
        )
        assert response.status_code == 200, response.text
        return question_id

    def _build_notification(self) -> str:
        """The seller's 'question received' notification for a fresh question."""
        question_id = self["question"]
        response = self.client.get(
            "/me/notifications", params={"page_size": 1}, headers=self.seller.headers
        )
        assert response.status_code == 200, response.text
        [newest] = response.json()["data"]
        assert newest["data"]["question_id"] == question_id
        return newest["id"]

    def _build_image(self) -> dict[str, str]:
        listing_id = self.factory.listing(self.seller, title="Matrix pictured")["id"]
        response = self.client.post(
            f"/listings/{listing_id}/images",
            files={"file": ("a.png", png_bytes(), "image/png")},
            headers=self.seller.headers,
        )
        assert response.status_code == 201, response.text
        image = response.json()
        return {
            "id": image["id"],
            "listing_id": listing_id,
            "key": image["url"].split("/media/", 1)[1],
        }

    def _build_seller_id(self) -> str:
        return str(self.seller.id)

    def _build_delivered_order(self) -> dict[str, Any]:
        """The shopper's order of the seller's listing, paid, shipped and delivered."""
        shopper = self.cast["shopper"]
        for line in self.client.get("/cart", headers=shopper.headers).json()["items"]:
            self.client.delete(f"/cart/items/{line['id']}", headers=shopper.headers)
        return self.factory.delivered_order(shopper, self.seller, [{"id": self["listing"]}])

    def _build_coupon(self) -> str:
        return self.factory.coupon(self.cast["staff"])["code"]

    def _build_cart_item(self) -> str:
        """A line in the shopper's cart."""
        listing_id = self["listing"]
        response = self.client.post(
            "/cart/items", json={"listing_id": listing_id}, headers=self.cast["shopper"].headers
        )
        assert response.status_code == 201, response.text
        [line] = [line for line in response.json()["items"] if line["listing_id"] == listing_id]
        return line["id"]

    def _build_order(self) -> str:
        """The shopper's unpaid order of the seller's listing."""
        shopper = self.cast["shopper"]
        for line in self.client.get("/cart", headers=shopper.headers).json()["items"]:
            self.client.delete(f"/cart/items/{line['id']}", headers=shopper.headers)
        return self.factory.order(shopper, [{"id": self["listing"]}])["id"]

    def _build_paid_order(self) -> str:
        order_id = self["order"]
        paid = self.factory.pay(self.cast["shopper"], order_id)
        assert paid["status"] == "paid", paid
        return order_id

    def _build_payment_session(self) -> dict[str, str]:
        response = self.client.post(
            f"/orders/{self['order']}/payments", headers=self.cast["shopper"].headers
        )
        assert response.status_code == 201, response.text
        started = response.json()
        return {
            "intent_id": started["payment"]["provider_payment_id"],
            "client_secret": started["client_secret"],
        }

    def _build_intent_requiring_action(self) -> dict[str, str]:
        session = self["payment_session"]
        response = self.client.post(
            f"/sandbox/payments/v1/payment_intents/{session['intent_id']}/confirm",
            json={
                "client_secret": session["client_secret"],
                "card": {**SUCCESS_CARD, "number": "4000002500003155"},
            },
        )
        assert response.json()["status"] == "requires_action", response.text
        return session

    def _build_shipment(self) -> str:
        """The tracking number of the seller's parcel for a paid order."""
        response = self.client.post(
            f"/orders/{self['paid_order']}/ship", headers=self.seller.headers
        )
        assert response.status_code == 201, response.text
        return response.json()["tracking_number"]

    def send(self, call: Call, method: str, caller: Actor | None) -> Response:
        url = call.url.format_map(self)
        if call.prepare is not None and caller is not None:
            call.prepare(self, caller)
        kwargs: dict[str, Any] = {"headers": caller.headers if caller else {}}
        if call.headers is not None:
            kwargs["headers"] = {**kwargs["headers"], **call.headers(self)}
        if call.json is not None:
            kwargs["json"] = call.json(self)
        if call.form is not None:
            kwargs["data"] = call.form(self)
        if call.upload:
            kwargs["files"] = {"file": ("b.png", png_bytes(color="blue"), "image/png")}
        return self.client.request(method, url, **kwargs)


ROLES = {
    "shopper": UserRole.shopper,
    "other_shopper": UserRole.shopper,
    "seller": UserRole.seller,
    "other_seller": UserRole.seller,
    "staff": UserRole.staff,
}


@pytest.fixture(scope="module")
def cast(app: FastAPI, client: TestClient) -> dict[str, Actor]:
    """The callers, shared by every case of a backend (no case changes who they are)."""
    factory = Factory(app, client)
    return {name: factory.user(role) for name, role in ROLES.items()}


CASES = [
    pytest.param(row, actor, expected, id=f"{row} | {actor}")
    for row, statuses in EXPECTED.items()
    for actor, expected in zip(ACTORS, statuses, strict=True)
]


@pytest.mark.parametrize(("row", "actor", "expected"), CASES)
def test_status(factory: Factory, cast: dict[str, Actor], row: str, actor: str, expected: int):
    call = CALLS[row]
    caller = None if actor == "anonymous" else cast[actor]
    if caller is not None and call.throwaway_caller:
        caller = factory.user(caller.role)

    response = Scene(factory, cast).send(call, route_of(row).split(" ")[0], caller)

    assert response.status_code == expected, response.text
    if expected in ERROR_CODES:
        assert response.json()["error"]["code"] == ERROR_CODES[expected]
    if expected == 401:
        assert response.headers["www-authenticate"] == "Bearer"


def test_every_route_has_a_row(app: FastAPI):
    routes = {
        f"{method.upper()} {path}"
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    rows = {route_of(row) for row in EXPECTED}

    assert routes - rows == set(), "routes without authorisation rows"
    assert rows - routes == set(), "rows for routes that no longer exist"


def test_every_row_says_how_to_call_it():
    assert set(CALLS) == set(EXPECTED)
