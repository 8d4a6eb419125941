"""The whole purchase path of the seed documents, over the API: find, buy, pay (after a
decline), ship, deliver — and the order's recorded history."""

from __future__ import annotations

from tests.factories import DECLINED_CARD


def test_buyer_pays_after_a_decline_and_the_order_is_delivered(client, factory):
    seller = factory.user("seller")
    buyer = factory.user("shopper")
    listing = factory.listing(seller, stock=2, price_minor=10_000)

    order = factory.order(buyer, [listing])
    assert order["status"] == "pending_payment"
    assert client.get(f"/listings/{listing['id']}").json()["stock"] == 1

    declined = factory.pay(buyer, order["id"], DECLINED_CARD)
    assert declined["status"] == "pending_payment"
    payments = client.get(f"/orders/{order['id']}/payments", headers=buyer.headers).json()
    assert payments[0]["status"] == "requires_payment_method"
    assert payments[0]["last_error_code"] == "card_declined"

    paid = factory.pay(buyer, order["id"])
    assert paid["status"] == "paid"
    assert paid["groups"][0]["status"] == "awaiting_shipment"

    shipped = client.post(f"/orders/{order['id']}/ship", headers=seller.headers)
    assert shipped.status_code == 201, shipped.text
    tracking_number = shipped.json()["tracking_number"]
    assert client.get(f"/orders/{order['id']}", headers=buyer.headers).json()["status"] == "shipped"

    for _ in range(3):
        advanced = client.post(f"/sandbox/carrier/v1/shipments/{tracking_number}/advance")
        assert advanced.status_code == 200, advanced.text
        factory.settle()

    delivered = client.get(f"/orders/{order['id']}", headers=buyer.headers).json()
    assert delivered["status"] == "delivered"
    tracking = client.get(f"/orders/{order['id']}/tracking", headers=buyer.headers).json()
    assert [event["status"] for event in tracking[0]["events"]] == [
        "label_created", "in_transit", "out_for_delivery", "delivered",
    ]  # fmt: skip
    history = client.get(f"/orders/{order['id']}/history", headers=buyer.headers).json()
    order_statuses = [change["to_status"] for change in history if change["group_id"] is None]
    assert order_statuses == ["pending_payment", "paid", "shipped", "delivered"]
    payment_history = client.get(f"/orders/{order['id']}/payments", headers=buyer.headers).json()
    assert [change["to_status"] for change in payment_history[0]["history"]] == [
        "requires_payment_method", "processing", "requires_payment_method", "processing",
        "succeeded",
    ]  # fmt: skip
