"""Every failure is the contract's JSON envelope with the right status; requests carry an id."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import Actor, Factory, assert_error, unique_email

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


def signup_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "email": unique_email("errors"),
        "password": "correct horse battery",
        "display_name": "Error tester",
    }
    body.update(overrides)
    return body


class TestEnvelope:
    def test_401(self, client: TestClient) -> None:
        response = client.get("/me")
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"

    def test_401_bad_token(self, client: TestClient) -> None:
        response = client.get("/me", headers={"Authorization": "Bearer not.a.token"})
        assert_error(response, 401, "unauthorized")

    def test_401_wrong_password(self, client: TestClient, shopper: Actor) -> None:
        response = client.post(
            "/auth/token", data={"username": shopper.email, "password": "not the password"}
        )
        assert_error(response, 401, "unauthorized")

    def test_403(self, client: TestClient, shopper: Actor) -> None:
        response = client.post(
            "/categories", json={"slug": "nope", "name": "Nope"}, headers=shopper.headers
        )
        assert_error(response, 403, "forbidden")

    def test_404_resource(self, client: TestClient) -> None:
        assert_error(client.get(f"/listings/{uuid.uuid4()}"), 404, "not_found")

    def test_404_route(self, client: TestClient) -> None:
        assert_error(client.get("/no/such/route"), 404, "not_found")

    def test_405(self, client: TestClient) -> None:
        response = client.put("/healthz")
        assert_error(response, 405, "method_not_allowed")
        assert "GET" in response.headers["allow"]

    def test_409(self, client: TestClient) -> None:
        body = signup_body()
        assert client.post("/auth/signup", json=body).status_code == 201
        again = client.post("/auth/signup", json={**body, "email": body["email"].upper()})
        assert_error(again, 409, "conflict")

    def test_413(self, app: FastAPI, client: TestClient) -> None:
        too_big = app.state.settings.max_image_bytes + 256 * 1024 + 1
        response = client.post(
            "/auth/signup",
            content=b" " * too_big,
            headers={"Content-Type": "application/json"},
        )
        assert_error(response, 413, "payload_too_large")

    def test_415(self, client: TestClient, factory: Factory, seller: Actor) -> None:
        listing = factory.listing(seller)
        response = client.post(
            f"/listings/{listing['id']}/images",
            files={"file": ("a.png", b"hello", "image/png")},
            headers=seller.headers,
        )
        assert_error(response, 415, "unsupported_media_type")

    def test_422_body(self, client: TestClient) -> None:
        response = client.post("/auth/signup", json=signup_body(email="not-an-email"))

        error = assert_error(response, 422, "validation_error")
        [detail] = error["details"]
        assert detail["loc"] == ["body", "email"]
        assert set(detail) == {"loc", "msg", "type"}

    def test_422_lists_every_problem(self, client: TestClient) -> None:
        response = client.post("/auth/signup", json={"email": "x", "password": "short"})
        error = assert_error(response, 422, "validation_error")
        fields = {detail["loc"][-1] for detail in error["details"]}
        assert fields == {"email", "password", "display_name"}

    def test_422_query(self, client: TestClient) -> None:
        error = assert_error(client.get("/listings", params={"page": 0}), 422)
        assert error["details"][0]["loc"] == ["query", "page"]

    @pytest.mark.parametrize(
        "content",
        [
            pytest.param(b"{not json", id="malformed"),
            pytest.param(b'{"email": "a@example.com",', id="truncated"),
            pytest.param(b"", id="empty"),
            pytest.param(b"\xff\xfe\x00garbage", id="utf16-bom"),
            pytest.param(b'{"email": "\x8f\xa3"}', id="not-utf8"),
        ],
    )
    def test_invalid_json_body(self, client: TestClient, content: bytes) -> None:
        response = client.post(
            "/auth/signup", content=content, headers={"Content-Type": "application/json"}
        )
        assert_error(response, 422, "validation_error")

    @pytest.mark.parametrize("content", [b"[]", b'"text"', b"42", b"null"])
    def test_json_that_is_not_an_object(self, client: TestClient, content: bytes) -> None:
        response = client.post(
            "/auth/signup", content=content, headers={"Content-Type": "application/json"}
        )
        assert_error(response, 422, "validation_error")

    def test_wrong_content_type(self, client: TestClient) -> None:
        response = client.post(
            "/auth/signup", content=b"email=a", headers={"Content-Type": "text/plain"}
        )
        assert_error(response, 422, "validation_error")

    @pytest.mark.parametrize(
        "path",
        [
            "/listings/not-a-uuid",
            "/listings/12345",
            "/listings/00000000-0000-0000-0000-00000000000g",
            "/listings/not-a-uuid/questions",
        ],
    )
    def test_invalid_uuid_in_path(self, client: TestClient, path: str) -> None:
        error = assert_error(client.get(path), 422, "validation_error")
        assert error["details"][0]["loc"] == ["path", "listing_id"]

    def test_text_the_database_cannot_store(self, client: TestClient) -> None:
        # PostgreSQL refuses NUL characters in text: that is bad input, never a server error.
        response = client.get("/listings", params={"category": "bad\x00slug"})
        assert_error(response, 422, "validation_error")
        login = client.post("/auth/token", data={"username": "a\x00@example.com", "password": "x"})
        assert login.status_code in (401, 422)
        assert_error(login, login.status_code)

    def test_errors_are_documented_in_openapi(self, client: TestClient) -> None:
        schema = client.get("/openapi.json").json()
        responses = schema["paths"]["/listings/{listing_id}"]["get"]["responses"]
        envelope = responses["404"]["content"]["application/json"]["schema"]
        assert envelope == {"$ref": "#/components/schemas/ErrorEnvelope"}


class TestRequestId:
    def test_echoed(self, client: TestClient) -> None:
        response = client.get("/healthz", headers={"X-Request-ID": "checkout-42.retry:1"})
        assert response.headers["x-request-id"] == "checkout-42.retry:1"

    def test_generated_when_absent(self, client: TestClient) -> None:
        first = client.get("/healthz").headers["x-request-id"]
        second = client.get("/healthz").headers["x-request-id"]
        assert GENERATED_ID.match(first)
        assert GENERATED_ID.match(second)
        assert first != second

    @pytest.mark.parametrize(
        "malformed",
        [
            "has spaces",
            "a" * 129,
            "<script>alert(1)</script>",
            "semi;colon",
            "",
        ],
    )
    def test_malformed_is_replaced(self, client: TestClient, malformed: str) -> None:
        response = client.get("/healthz", headers={"X-Request-ID": malformed})
        assert GENERATED_ID.match(response.headers["x-request-id"])

    def test_present_on_errors(self, app: FastAPI, client: TestClient) -> None:
        too_big = b" " * (app.state.settings.max_image_bytes + 256 * 1024 + 1)
        responses = [
            client.get("/me", headers={"X-Request-ID": "trace-1"}),
            client.get("/listings/nope", headers={"X-Request-ID": "trace-1"}),
            client.get("/no/such/route", headers={"X-Request-ID": "trace-1"}),
            client.post("/auth/signup", content=too_big, headers={"X-Request-ID": "trace-1"}),
        ]
        assert [response.status_code for response in responses] == [401, 422, 404, 413]
        assert {response.headers["x-request-id"] for response in responses} == {"trace-1"}

    def test_exactly_one_header(self, client: TestClient) -> None:
        response = client.get("/healthz", headers={"X-Request-ID": "only-once"})
        assert response.headers.get_list("x-request-id") == ["only-once"]
