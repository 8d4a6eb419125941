"""The OpenAPI document tells the truth: required headers are required, the error answers
an operation gives are declared on it, and a 405 names the methods its path has."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import ADDRESS, Actor, Factory, assert_error, png_bytes

HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
# A fixed id: parametrised ids must be the same in every pytest-xdist worker.
UNKNOWN_ID = "00000000-0000-4000-8000-000000000001"


@pytest.fixture(scope="module")
def openapi(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def declared(openapi: dict[str, Any], method: str, path: str) -> set[int]:
    return {int(code) for code in openapi["paths"][path][method.lower()]["responses"]}


def body_media_types(operation: dict[str, Any]) -> set[str]:
    return set(operation.get("requestBody", {}).get("content", {}))


class TestIdempotencyKey:
    def test_declared_required(self, openapi: dict[str, Any]) -> None:
        parameters = openapi["paths"]["/checkout"]["post"]["parameters"]
        keys = [p for p in parameters if p["name"] == "Idempotency-Key"]

        assert len(keys) == 1, parameters
        assert keys[0]["in"] == "header"
        assert keys[0]["required"] is True
        assert keys[0]["schema"]["type"] == "string"
        assert keys[0]["schema"]["maxLength"] == 255

    @pytest.mark.parametrize("key", [None, "", "   "])
    def test_missing_is_a_400_error(
        self, client: TestClient, factory: Factory, shopper: Actor, key: str | None
    ) -> None:
        listing = factory.listing(factory.user("seller"))
        added = client.post(
            "/cart/items", json={"listing_id": listing["id"]}, headers=shopper.headers
        )
        assert added.status_code == 201, added.text
        headers = dict(shopper.headers)
        if key is not None:
            headers["Idempotency-Key"] = key

        response = client.post("/checkout", json={"shipping_address": ADDRESS}, headers=headers)

        error = assert_error(response, 400, "bad_request")
        assert "Idempotency-Key" in error["message"]

    def test_too_long_is_refused(self, client: TestClient, shopper: Actor) -> None:
        response = client.post(
            "/checkout",
            json={"shipping_address": ADDRESS},
            headers={**shopper.headers, "Idempotency-Key": "k" * 256},
        )
        assert_error(response, 422, "validation_error")


class TestDeclaredErrors:
    """Rules that follow from where the errors come from, checked on every operation."""

    def test_every_operation_with_a_body_declares_413(self, openapi: dict[str, Any]) -> None:
        # The body limit (core.limits) answers 413 before any route sees the request.
        missing = [
            f"{method} {path}"
            for method, path, operation in operations(openapi)
            if "requestBody" in operation and "413" not in operation["responses"]
        ]
        assert missing == []

    def test_every_form_or_multipart_operation_declares_400(self, openapi: dict[str, Any]) -> None:
        # A form body that cannot be parsed (e.g. a multipart body without a boundary).
        forms = {"multipart/form-data", "application/x-www-form-urlencoded"}
        missing = [
            f"{method} {path}"
            for method, path, operation in operations(openapi)
            if body_media_types(operation) & forms and "400" not in operation["responses"]
        ]
        assert missing == []

    def test_every_operation_naming_an_object_declares_404(self, openapi: dict[str, Any]) -> None:
        # The label of any tracking number is printable: it looks nothing up.
        exempt = {("GET", "/sandbox/carrier/v1/labels/{tracking_number}")}
        missing = [
            f"{method} {path}"
            for method, path, operation in operations(openapi)
            if "{" in path and (method, path) not in exempt and "404" not in operation["responses"]
        ]
        assert missing == []

    def test_every_json_success_answer_has_a_schema(self, openapi: dict[str, Any]) -> None:
        # A response model documents what the answer holds; a bare dict shows as {}.
        missing = [
            f"{method} {path} {code}"
            for method, path, operation in operations(openapi)
            for code, answer in operation["responses"].items()
            if code.startswith("2")
            and answer.get("content", {}).get("application/json", {}).get("schema", {}) == {}
            and "application/json" in answer.get("content", {})
        ]
        assert missing == []


class TestAnswersAreDeclared:
    """Representative requests: the status each one gets is declared on its operation."""

    def over_the_body_limit(self, app: FastAPI) -> bytes:
        return b"{" + b" " * (app.state.settings.max_image_bytes + 256 * 1024) + b"}"

    def test_413(
        self,
        app: FastAPI,
        client: TestClient,
        openapi: dict[str, Any],
        factory: Factory,
        seller: Actor,
    ) -> None:
        listing = factory.listing(seller)
        for method, template, path in [
            ("POST", "/listings", "/listings"),
            ("PATCH", "/listings/{listing_id}", f"/listings/{listing['id']}"),
            ("POST", "/cart/items", "/cart/items"),
            ("POST", "/checkout", "/checkout"),
            ("POST", "/auth/signup", "/auth/signup"),
            ("POST", "/listings/{listing_id}/questions", f"/listings/{listing['id']}/questions"),
        ]:
            response = client.request(
                method,
                path,
                content=self.over_the_body_limit(app),
                headers={**seller.headers, "Content-Type": "application/json"},
            )
            assert_error(response, 413, "payload_too_large")
            assert 413 in declared(openapi, method, template), f"{method} {template}"

    def test_400(
        self, client: TestClient, openapi: dict[str, Any], factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller)
        no_boundary = {"Content-Type": "multipart/form-data"}
        answers = [
            (
                "POST",
                "/listings/{listing_id}/images",
                client.post(
                    f"/listings/{listing['id']}/images",
                    content=b"garbage",
                    headers={**seller.headers, **no_boundary},
                ),
            ),
            (
                "POST",
                "/auth/token",
                client.post(
                    "/auth/token",
                    content=b"x",
                    headers={"Content-Type": "multipart/form-data; boundary=x"},
                ),
            ),
            ("GET", "/cart", client.get("/cart", headers={"X-Client-Id": "no!"})),
        ]
        for method, template, response in answers:
            assert_error(response, 400, "bad_request")
            assert 400 in declared(openapi, method, template), f"{method} {template}"

    def test_404(
        self, client: TestClient, openapi: dict[str, Any], factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller)
        image = factory.image(seller, listing["id"], png_bytes())
        unknown = uuid.uuid4()
        answers = [
            ("GET", "/listings/{listing_id}", client.get(f"/listings/{unknown}")),
            (
                "DELETE",
                "/listings/{listing_id}/images/{image_id}",
                client.delete(
                    f"/listings/{listing['id']}/images/{unknown}", headers=seller.headers
                ),
            ),
            (
                "POST",
                "/cart/items",
                client.post(
                    "/cart/items", json={"listing_id": str(unknown)}, headers=seller.headers
                ),
            ),
            ("GET", "/media/{key}", client.get(image["url"].replace(".png", "-gone.png"))),
            (
                "POST",
                "/sandbox/carrier/v1/shipments/{tracking_number}/advance",
                client.post("/sandbox/carrier/v1/shipments/SBX0000000000/advance"),
            ),
        ]
        for method, template, response in answers:
            assert response.status_code == 404, (template, response.text)
            assert 404 in declared(openapi, method, template), f"{method} {template}"


class TestMethodNotAllowed:
    @pytest.mark.parametrize(
        ("method", "path", "allowed"),
        [
            ("DELETE", "/listings", {"GET", "POST"}),
            ("PUT", f"/listings/{UNKNOWN_ID}", {"GET", "PATCH"}),
            ("GET", f"/cart/items/{UNKNOWN_ID}", {"PATCH", "DELETE"}),
            ("PATCH", "/healthz", {"GET"}),
            ("POST", "/tag.js", {"GET"}),
        ],
    )
    def test_allow_names_every_method_of_the_path(
        self, client: TestClient, method: str, path: str, allowed: set[str]
    ) -> None:
        response = client.request(method, path)

        assert_error(response, 405, "method_not_allowed")
        assert set(re.split(r",\s*", response.headers["allow"])) == allowed

    def test_allow_matches_the_documented_methods(
        self, client: TestClient, openapi: dict[str, Any]
    ) -> None:
        """No operation of the shop uses PUT: on every documented path it is a 405 whose
        Allow lists the path's documented operations."""
        wrong = []
        for template, item in openapi["paths"].items():
            path = re.sub(r"\{[^}]+\}", "SBX0000000000", template)
            response = client.put(path)
            documented = {method.upper() for method in item if method in HTTP_METHODS}
            allowed = set(re.split(r",\s*", response.headers.get("allow", "")))
            if response.status_code != 405 or allowed != documented:
                wrong.append((template, response.status_code, sorted(allowed), sorted(documented)))
        assert wrong == []
