"""The scripted story ``make demo`` tells, driven over HTTP against a running shop API.

Each step is a method taking the shared ``DemoState``; later parts of the platform add
steps (checkout, payment, shipping, reviews, events) by appending to ``STEPS``.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from PIL import Image, ImageDraw

PASSWORD = "demo-password-123"


class DemoFailure(RuntimeError):
    """A step got an answer the story did not expect."""


@dataclass
class Account:
    email: str
    display_name: str
    role: str
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class DemoState:
    client: httpx.Client
    run_id: str
    say: Callable[[str], None]
    seller: Account | None = None
    shopper: Account | None = None
    listings: list[dict[str, Any]] = field(default_factory=list)
    question: dict[str, Any] | None = None
    second_seller: Account | None = None
    order: dict[str, Any] | None = None

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        if response.status_code != expect:
            raise DemoFailure(
                f"{method} {path} answered {response.status_code}, expected {expect}: "
                f"{response.text[:500]}"
            )
        return response.json() if response.content else None

    def wait_for(
        self, what: str, check: Callable[[], Any], timeout: float = 30.0, every: float = 0.2
    ) -> Any:
        """Poll until ``check`` returns something truthy (webhooks arrive asynchronously)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(every)
        raise DemoFailure(f"timed out after {timeout:.0f} s waiting for {what}")


def product_photo(label: str, color: str) -> bytes:
    """A small generated product picture, so the demo needs no image files."""
    image = Image.new("RGB", (480, 360), color)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 440, 320), outline="white", width=6)
    draw.text((60, 170), label, fill="white")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _signup_and_login(
    state: DemoState, role: str, name: str, consent: bool, phone: str | None = None
) -> Account:
    """Sign up (``consent``: both ad purposes granted) and log in."""
    handle = name.lower().replace(" ", "-")
    account = Account(f"{handle}-{state.run_id}@demo.mercado.example", name, role)
    state.call(
        "POST", "/auth/signup", 201,
        json={
            "email": account.email, "password": PASSWORD, "display_name": name,
            "role": role, "phone": phone, "ad_user_data_consent": consent,
            "ad_personalization_consent": consent, "consent_source": "demo_signup_form",
        },
    )  # fmt: skip
    token = state.call(
        "POST", "/auth/token", 200, data={"username": account.email, "password": PASSWORD}
    )
    account.token = token["access_token"]
    return account


def seller_signs_up(state: DemoState) -> None:
    state.seller = _signup_and_login(state, "seller", "Lumen Cameras", consent=False)
    state.say(f"seller {state.seller.email} signed up and logged in")


DEMO_LISTINGS = [
    ("Vintage 35mm film camera with 50mm lens", "cameras", 12_900, "used", "#8a5a44",
     "Fully working rangefinder camera, recently serviced. Leather strap included."),
    ("Mirrorless digital camera body, 24MP", "cameras", 64_900, "new", "#34495e",
     "Compact mirrorless camera with in-body stabilisation and 4K video."),
    ("Wireless noise-cancelling headphones", "headphones", 19_900, "new", "#2c3e50",
     "Over-ear headphones with 30 hours of battery and a travel case."),
    ("Canvas camera bag, water resistant", "bags", 4_500, "new", "#556b2f",
     "Padded bag for a camera and two lenses, with a laptop sleeve."),
]  # fmt: skip


def seller_lists_items(state: DemoState) -> None:
    assert state.seller is not None
    for title, category, price, condition, color, description in DEMO_LISTINGS:
        listing = state.call(
            "POST", "/listings", 201, headers=state.seller.headers,
            json={
                "title": title, "description": description, "category": category,
                "price_minor": price, "currency": "USD", "stock": 5,
                "condition": condition, "attributes": {"shipping": "48h"}, "status": "active",
            },
        )  # fmt: skip
        image = state.call(
            "POST", f"/listings/{listing['id']}/images", 201, headers=state.seller.headers,
            files={"file": (f"{category}.jpg", product_photo(title[:28], color), "image/jpeg")},
        )  # fmt: skip
        state.listings.append(listing)
        state.say(
            f"  listed “{title}” at {price / 100:.2f} USD with a {image['width']}x"
            f"{image['height']} photo → {image['url']}"
        )


def shopper_signs_up(state: DemoState) -> None:
    state.shopper = _signup_and_login(
        state, "shopper", "Ana Compradora", consent=True, phone="+55 11 91234-5678"
    )
    me = state.call("GET", "/me", 200, headers=state.shopper.headers)
    state.say(
        f"shopper {me['email']} signed up (phone {me['phone']}; consent to ad_user_data: "
        f"{me['ad_user_data_consent']}, ad_personalization: {me['ad_personalization_consent']},"
        f" source {me['ad_user_data_consent_source']})"
    )


def shopper_searches(state: DemoState) -> None:
    results = state.call("GET", "/listings", 200, params={"q": "camera", "page_size": 5})
    state.say(f"search “camera”: {results['count']} results")
    for rank, hit in enumerate(results["data"][:3], start=1):
        state.say(f"  #{rank} {hit['title']}  ({hit['price_minor'] / 100:.2f} {hit['currency']})")
    filtered = state.call(
        "GET", "/listings", 200,
        params={"q": "camera", "category": "electronics", "max_price": 20_000,
                "sort": "price_asc"},
    )  # fmt: skip
    state.say(
        f"search “camera” in Electronics under 200.00, cheapest first: {filtered['count']} "
        f"results, first “{filtered['data'][0]['title']}”"
        if filtered["data"]
        else "filtered search returned nothing"
    )
    nothing = state.call("GET", "/listings", 200, params={"q": "unicorn saddle"})
    state.say(f"search “unicorn saddle”: {nothing['count']} results")


def shopper_asks_question(state: DemoState) -> None:
    assert state.shopper is not None
    listing = state.listings[0]
    state.call("GET", f"/listings/{listing['id']}", 200)
    state.question = state.call(
        "POST", f"/listings/{listing['id']}/questions", 201, headers=state.shopper.headers,
        json={"body": "Does the light meter work, and do you ship abroad?"},
    )  # fmt: skip
    state.say(f"shopper asked on “{listing['title']}”: {state.question['body']}")


def seller_is_notified_and_answers(state: DemoState) -> None:
    assert state.seller is not None and state.question is not None
    inbox = state.call(
        "GET", "/me/notifications", 200, headers=state.seller.headers, params={"unread": True}
    )
    if inbox["unread_count"] < 1:
        raise DemoFailure("the seller was not notified of the question")
    state.say(
        f"seller has {inbox['unread_count']} unread notification: {inbox['data'][0]['message']}"
    )
    state.call(
        "POST", f"/me/notifications/{inbox['data'][0]['id']}/read", 200,
        headers=state.seller.headers,
    )  # fmt: skip
    answered = state.call(
        "POST", f"/questions/{state.question['id']}/answer", 200, headers=state.seller.headers,
        json={"body": "Yes, the meter was calibrated last month, and we ship worldwide."},
    )  # fmt: skip
    state.say(f"seller answered: {answered['answer']}")


def shopper_reads_answer(state: DemoState) -> None:
    assert state.shopper is not None
    inbox = state.call("GET", "/me/notifications", 200, headers=state.shopper.headers)
    state.say(f"shopper notified: {inbox['data'][0]['message']}")
    thread = state.call("GET", f"/listings/{state.listings[0]['id']}/questions", 200)
    state.say(f"listing now shows {thread['count']} answered question(s)")


SHIPPING_ADDRESS = {
    "name": "Ana Compradora", "line1": "Rua das Flores 12", "city": "Curitiba",
    "region": "PR", "postal_code": "80010-000", "country": "BR",
}  # fmt: skip
DECLINED_CARD = {"number": "4000 0000 0000 0002", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
GOOD_CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}


def money(amount_minor: int, currency: str) -> str:
    return f"{amount_minor / 100:,.2f} {currency}"


def second_seller_lists(state: DemoState) -> None:
    state.second_seller = _signup_and_login(state, "seller", "Casa Verde", consent=False)
    listing = state.call(
        "POST", "/listings", 201, headers=state.second_seller.headers,
        json={
            "title": "Hand-made ceramic coffee mugs, set of 4", "category": "kitchen",
            "description": "Stoneware mugs glazed in sea green.", "price_minor": 3_800,
            "currency": "USD", "stock": 12, "condition": "new", "status": "active",
        },
    )  # fmt: skip
    state.listings.append(listing)
    state.say(f"seller {state.second_seller.email} listed “{listing['title']}”")


def shopper_checks_out(state: DemoState) -> None:
    assert state.shopper is not None
    for listing in (state.listings[0], state.listings[-1]):
        state.call(
            "POST", "/cart/items", 201, headers=state.shopper.headers,
            json={"listing_id": listing["id"], "quantity": 1},
        )  # fmt: skip
    cart = state.call("GET", "/cart", 200, headers=state.shopper.headers)
    state.say(
        f"cart: {cart['item_count']} items, {money(cart['subtotal_minor'], cart['currency'])}"
    )
    key = f"demo-checkout-{state.run_id}"
    order = state.call(
        "POST", "/checkout", 201, headers={**state.shopper.headers, "Idempotency-Key": key},
        json={"shipping_address": SHIPPING_ADDRESS},
    )  # fmt: skip
    replay = state.client.post(
        "/checkout", headers={**state.shopper.headers, "Idempotency-Key": key},
        json={"shipping_address": SHIPPING_ADDRESS},
    )  # fmt: skip
    if replay.status_code != 200 or replay.json()["id"] != order["id"]:
        raise DemoFailure("a retried checkout did not return the same order")
    state.order = order
    state.say(
        f"order {order['id']} placed: {money(order['total_minor'], order['currency'])} in "
        f"{len(order['groups'])} fulfilment groups (one per seller); stock held until "
        f"{order['reservation_expires_at']}; a retry with the same Idempotency-Key returned it"
    )


def _confirm_card(state: DemoState, card: dict[str, Any]) -> dict[str, Any]:
    assert state.shopper is not None and state.order is not None
    session = state.call(
        "POST", f"/orders/{state.order['id']}/payments", 201, headers=state.shopper.headers
    )
    # The card goes to the gateway (as a browser SDK would send it), never to the shop.
    return state.call(
        "POST", session["confirm_url"], 200,
        json={"client_secret": session["client_secret"], "card": card},
    )  # fmt: skip


def shopper_pays(state: DemoState) -> None:
    assert state.shopper is not None and state.order is not None
    order_path = f"/orders/{state.order['id']}"
    _confirm_card(state, DECLINED_CARD)

    def declined() -> Any:
        payments = state.call("GET", f"{order_path}/payments", 200, headers=state.shopper.headers)
        return payments and payments[0]["failed_attempts"] >= 1 and payments[0]

    payment = state.wait_for("the decline webhook", declined)
    state.say(f"first card declined: {payment['last_error_message']} (order still held)")
    _confirm_card(state, GOOD_CARD)

    def paid() -> Any:
        order = state.call("GET", order_path, 200, headers=state.shopper.headers)
        return order["status"] == "paid" and order

    state.order = state.wait_for("the payment to succeed", paid)
    payments = state.call("GET", f"{order_path}/payments", 200, headers=state.shopper.headers)
    state.say(
        f"second card accepted ({payments[0]['card_brand']} ••••{payments[0]['card_last4']}): "
        f"order is {state.order['status']}"
    )


def _order_notices(state: DemoState, account: Account, kind: str) -> list[dict[str, Any]]:
    """The account's notifications of this kind about the demo's order, newest first."""
    assert state.order is not None
    inbox = state.call("GET", "/me/notifications", 200, headers=account.headers)
    return [
        n for n in inbox["data"]
        if n["kind"] == kind and n["data"].get("order_id") == state.order["id"]
    ]  # fmt: skip


def sellers_ship(state: DemoState) -> None:
    assert state.order is not None
    for seller in (state.seller, state.second_seller):
        assert seller is not None
        told = _order_notices(state, seller, "order_to_ship")
        if told:
            state.say(f"{seller.display_name} notified: {told[0]['message']}")
        shipment = state.call(
            "POST", f"/orders/{state.order['id']}/ship", 201, headers=seller.headers
        )
        state.say(f"{seller.display_name} shipped: tracking {shipment['tracking_number']}")


def carrier_delivers(state: DemoState) -> None:
    assert state.shopper is not None and state.order is not None
    order_path = f"/orders/{state.order['id']}"
    shipments = state.call("GET", f"{order_path}/tracking", 200, headers=state.shopper.headers)
    for shipment in shipments:
        for _ in range(3):  # in_transit, out_for_delivery, delivered
            state.call(
                "POST", f"/sandbox/carrier/v1/shipments/{shipment['tracking_number']}/advance", 200
            )

    def delivered() -> Any:
        order = state.call("GET", order_path, 200, headers=state.shopper.headers)
        return order["status"] == "delivered" and order

    state.order = state.wait_for("delivery", delivered)
    told = _order_notices(state, state.shopper, "order_delivered")
    if told:
        state.say(f"shopper notified: {told[0]['message']}")
    for shipment in state.call("GET", f"{order_path}/tracking", 200, headers=state.shopper.headers):
        steps = " → ".join(event["status"] for event in shipment["events"])
        state.say(f"parcel {shipment['tracking_number']}: {steps}")


def shopper_reviews(state: DemoState) -> None:
    assert state.shopper is not None and state.order is not None
    item = state.order["items"][0]
    state.call(
        "POST", f"/orders/{state.order['id']}/reviews", 201, headers=state.shopper.headers,
        json={"order_item_id": item["id"], "rating": 5, "title": "Works beautifully",
              "body": "Arrived well packed; the light meter is spot on."},
    )  # fmt: skip
    listing = state.call("GET", f"/listings/{item['listing_id']}", 200)
    state.say(
        f"shopper reviewed “{item['title']}”: listing now rated {listing['rating_average']} "
        f"from {listing['rating_count']} review(s)"
    )


def order_history(state: DemoState) -> None:
    assert state.shopper is not None and state.order is not None
    history = state.call(
        "GET", f"/orders/{state.order['id']}/history", 200, headers=state.shopper.headers
    )
    for change in history:
        scope = "order" if change["group_id"] is None else f"group {change['group_id'][:8]}"
        state.say(
            f"  {change['changed_at'][11:23]}  {scope:<14} {change['from_status'] or '—':>17} → "
            f"{change['to_status']:<17} {change['reason']}"
        )


Step = Callable[[DemoState], None]
STEPS: list[tuple[str, Step]] = [
    ("A seller signs up", seller_signs_up),
    ("The seller lists items with photos", seller_lists_items),
    ("A shopper signs up", shopper_signs_up),
    ("The shopper searches", shopper_searches),
    ("The shopper asks a question", shopper_asks_question),
    ("The seller is notified and answers", seller_is_notified_and_answers),
    ("The shopper reads the answer", shopper_reads_answer),
    ("A second seller lists an item", second_seller_lists),
    ("The shopper checks out", shopper_checks_out),
    ("The shopper pays: one decline, then success", shopper_pays),
    ("Each seller ships their part", sellers_ship),
    ("The carrier delivers", carrier_delivers),
    ("The shopper reviews the purchase", shopper_reviews),
    ("The order's history", order_history),
]


def run_scenario(base_url: str, say: Callable[[str], None] = print) -> DemoState:
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        state = DemoState(client=client, run_id=uuid.uuid4().hex[:8], say=say)
        for number, (title, step) in enumerate(STEPS, start=1):
            say(f"\n[{number}/{len(STEPS)}] {title}")
            step(state)
        return state
