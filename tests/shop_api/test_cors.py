"""Cross-origin requests (CORS): none allowed by default; a front end's origin listed in
MERCADO_CORS_ORIGINS gets the headers its browser needs, on preflights and on plain
requests, errors included; an unlisted origin gets none."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from shop_api.core.config import Settings
from shop_api.main import create_app

FRONT_END = "http://localhost:5173"
STRANGER = "https://evil.example"
EXPOSED = {"retry-after", "ratelimit", "idempotent-replayed", "x-request-id"}


@pytest.fixture(scope="module")
def cors_client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"cors_origins": [FRONT_END]}))
    with TestClient(app) as test_client:
        yield test_client
    app.state.database.dispose()


def preflight(client: TestClient, origin: str, path: str = "/checkout", method: str = "POST"):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )


def header_set(value: str) -> set[str]:
    return {item.strip().lower() for item in value.split(",") if item.strip()}


def test_no_origin_is_allowed_by_default(client: TestClient) -> None:
    assert "access-control-allow-origin" not in preflight(client, FRONT_END).headers
    plain = client.get("/categories", headers={"Origin": FRONT_END})
    assert plain.status_code == 200
    assert not [name for name in plain.headers if name.startswith("access-control-")]


def test_a_listed_origin_may_send_the_checkout_headers(cors_client: TestClient) -> None:
    response = preflight(cors_client, FRONT_END)

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONT_END
    assert "post" in header_set(response.headers["access-control-allow-methods"])
    allowed = header_set(response.headers["access-control-allow-headers"])
    assert {"authorization", "content-type", "idempotency-key"} <= allowed
    assert "access-control-allow-credentials" not in response.headers  # bearer tokens


def test_a_listed_origin_reads_responses_and_their_headers(cors_client: TestClient) -> None:
    response = cors_client.get("/categories", headers={"Origin": FRONT_END})

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONT_END
    exposed = header_set(response.headers["access-control-expose-headers"])
    assert exposed >= EXPOSED
    assert any(name.startswith("ratelimit-") for name in exposed)
    assert "origin" in header_set(response.headers["vary"])


def test_a_listed_origin_reads_error_responses_too(cors_client: TestClient) -> None:
    response = cors_client.get("/orders", headers={"Origin": FRONT_END})

    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == FRONT_END


def test_an_unlisted_origin_gets_no_cors_headers(cors_client: TestClient) -> None:
    refused = preflight(cors_client, STRANGER)
    plain = cors_client.get("/categories", headers={"Origin": STRANGER})

    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    assert plain.status_code == 200  # the browser, not the server, withholds the body
    assert "access-control-allow-origin" not in plain.headers


def test_every_method_of_the_api_passes_a_preflight(cors_client: TestClient) -> None:
    methods = {
        method.upper()
        for item in cors_client.get("/openapi.json").json()["paths"].values()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }

    for method in sorted(methods):
        response = preflight(cors_client, FRONT_END, path="/listings", method=method)
        assert response.status_code == 200, method
