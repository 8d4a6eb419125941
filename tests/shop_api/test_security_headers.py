"""Every response carries the security headers: no MIME sniffing, no referrer beyond the
shop, never framed; HTML pages get a Content-Security-Policy that runs their own scripts
and styles (same origin, or inline ones by hash) and nothing else."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shop_api.core.config import Settings
from shop_api.main import create_app
from tests.factories import Actor, Factory, png_bytes


def policy(response: Any) -> dict[str, list[str]]:
    """The response's Content-Security-Policy as {directive: sources}."""
    directives: dict[str, list[str]] = {}
    for part in response.headers["content-security-policy"].split(";"):
        name, *sources = part.split()
        assert name not in directives, f"{name} appears twice"
        directives[name] = sources
    return directives


def assert_security_headers(response: Any) -> None:
    headers = response.headers
    assert headers.get_list("x-content-type-options") == ["nosniff"], response.url
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"
    assert policy(response)["frame-ancestors"] == ["'none'"]


def inline_blocks(html: str, tag: str) -> list[str]:
    """The text of each inline <script> (no src) or <style> element of a page."""
    blocks = []
    for attributes, body in re.findall(rf"<{tag}([^>]*)>(.*?)</{tag}>", html, re.S | re.I):
        if "src=" not in attributes:
            blocks.append(body)
    return blocks


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.fixture(scope="module")
def failing_client(settings: Settings) -> Iterator[TestClient]:
    """An app with one more route, which fails: the 500 answer has the headers too."""
    app = create_app(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


class TestEveryResponse:
    def test_json_answers_and_errors(
        self, app: FastAPI, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller)
        too_big = b" " * (app.state.settings.max_image_bytes + 256 * 1024 + 1)
        responses = [
            client.get("/healthz"),
            client.get("/listings"),
            client.get(f"/listings/{listing['id']}"),
            client.get("/openapi.json"),
            client.get("/me"),  # 401
            client.get("/no/such/route"),  # 404
            client.put("/healthz"),  # 405
            client.get("/listings", params={"page": "0"}),  # 422
            client.post("/auth/signup", content=too_big),  # 413, from the body limit
        ]
        assert [response.status_code for response in responses] == [
            200, 200, 200, 200, 401, 404, 405, 422, 413,
        ]  # fmt: skip
        for response in responses:
            assert_security_headers(response)
            assert policy(response)["default-src"] == ["'none'"], response.url

    def test_unexpected_errors(self, failing_client: TestClient) -> None:
        response = failing_client.get("/boom")
        assert response.status_code == 500
        assert_security_headers(response)

    def test_media_and_the_tag(self, client: TestClient, factory: Factory, seller: Actor) -> None:
        listing = factory.listing(seller)
        image = factory.image(seller, listing["id"], png_bytes())
        for response in (client.get(urlsplit(image["url"]).path), client.get("/tag.js")):
            assert response.status_code == 200
            assert_security_headers(response)
            assert policy(response)["default-src"] == ["'none'"]


class TestPages:
    @pytest.mark.parametrize("path", ["/tracking/demo"])
    def test_pages_run_only_their_own_scripts(self, client: TestClient, path: str) -> None:
        response = client.get(path)

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert_security_headers(response)
        directives = policy(response)
        assert directives["default-src"] == ["'self'"]
        assert directives["object-src"] == ["'none'"]
        assert directives["base-uri"] == ["'none'"]
        scripts = directives["script-src"]
        assert scripts[0] == "'self'"
        assert all(source.startswith("'sha256-") for source in scripts[1:]), scripts
        assert "'self'" in directives["style-src"]

    @pytest.mark.parametrize("path", ["/tracking/demo"])
    def test_inline_scripts_and_styles_are_allowed_by_hash(
        self, client: TestClient, path: str
    ) -> None:
        response = client.get(path)
        directives = policy(response)

        for script in inline_blocks(response.text, "script"):
            assert sha256_source(script) in directives["script-src"]
        styles = inline_blocks(response.text, "style")
        if "'unsafe-inline'" not in directives["style-src"]:
            for style in styles:
                assert sha256_source(style) in directives["style-src"]

    def test_the_demo_page_allows_no_inline_code_it_does_not_have(self, client: TestClient) -> None:
        response = client.get("/tracking/demo")
        directives = policy(response)

        scripts = inline_blocks(response.text, "script")
        assert len(scripts) == 2
        assert sorted(directives["script-src"][1:]) == sorted(map(sha256_source, scripts))
        assert "'unsafe-inline'" not in directives["style-src"]

    @pytest.mark.parametrize("path", ["/docs", "/redoc"])
    def test_the_api_docs_keep_the_policy_they_set_themselves(
        self, client: TestClient, path: str
    ) -> None:
        response = client.get(path)

        assert response.status_code == 200
        assert_security_headers(response)
        assert len(response.headers.get_list("content-security-policy")) == 1
        assert policy(response)["default-src"] == ["'none'"]
