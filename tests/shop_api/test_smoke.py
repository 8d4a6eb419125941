from tests.factories import png_bytes


def test_seller_lists_and_shopper_finds(client, factory):
    seller = factory.user("seller")
    shopper = factory.user("shopper")
    listing = factory.listing(seller, title="Smoke detector zeta")
    r = client.post(
        f"/listings/{listing['id']}/images",
        files={"file": ("a.png", png_bytes(), "image/png")},
        headers=seller.headers,
    )
    assert r.status_code == 201, r.text
    r = client.get("/listings", params={"q": "zeta detector"})
    assert r.status_code == 200, r.text
    assert r.json()["count"] >= 1
    q = factory.question(shopper, listing["id"])
    r = client.post(f"/questions/{q['id']}/answer", json={"body": "yes"}, headers=seller.headers)
    assert r.status_code == 200, r.text
    r = client.get("/me/notifications", headers=shopper.headers)
    assert r.json()["unread_count"] == 1
