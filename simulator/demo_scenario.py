"""The scripted story ``make demo`` tells, driven over HTTP against a running shop API.

Each step is a method taking the shared ``DemoState``; later parts of the platform add
steps (checkout, payment, shipping, reviews, events) by appending to ``STEPS``.
"""

from __future__ import annotations

import io
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

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        if response.status_code != expect:
            raise DemoFailure(
                f"{method} {path} answered {response.status_code}, expected {expect}: "
                f"{response.text[:500]}"
            )
        return response.json() if response.content else None


def product_photo(label: str, color: str) -> bytes:
    """A small generated product picture, so the demo needs no image files."""
    image = Image.new("RGB", (480, 360), color)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 440, 320), outline="white", width=6)
    draw.text((60, 170), label, fill="white")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _signup_and_login(state: DemoState, role: str, name: str, consent: bool) -> Account:
    account = Account(f"{role}-{state.run_id}@demo.mercado.example", name, role)
    state.call(
        "POST", "/auth/signup", 201,
        json={
            "email": account.email, "password": PASSWORD, "display_name": name,
            "role": role, "marketing_consent": consent, "consent_source": "demo_signup_form",
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
    state.shopper = _signup_and_login(state, "shopper", "Ana Compradora", consent=True)
    me = state.call("GET", "/me", 200, headers=state.shopper.headers)
    state.say(
        f"shopper {me['email']} signed up (marketing consent: {me['marketing_consent']}, "
        f"source {me['marketing_consent_source']})"
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


Step = Callable[[DemoState], None]
STEPS: list[tuple[str, Step]] = [
    ("A seller signs up", seller_signs_up),
    ("The seller lists items with photos", seller_lists_items),
    ("A shopper signs up", shopper_signs_up),
    ("The shopper searches", shopper_searches),
    ("The shopper asks a question", shopper_asks_question),
    ("The seller is notified and answers", seller_is_notified_and_answers),
    ("The shopper reads the answer", shopper_reads_answer),
]


def run_scenario(base_url: str, say: Callable[[str], None] = print) -> DemoState:
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        state = DemoState(client=client, run_id=uuid.uuid4().hex[:8], say=say)
        for number, (title, step) in enumerate(STEPS, start=1):
            say(f"\n[{number}/{len(STEPS)}] {title}")
            step(state)
        return state
