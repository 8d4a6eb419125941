"""Property-based fuzzing of every operation in the OpenAPI schema (schemathesis).

No generated request, valid or not, may get a 5xx, and every error is the JSON envelope.
It runs anonymously and with a seller's token, on each database backend. Operations with
ids in their path are fuzzed twice: with generated ids (mostly "not found") and with the
ids of real objects, so the generated bodies and queries reach the code behind the lookup.

``schemathesis.pytest.from_fixture`` does not work with pytest 9 (it rewrites a node
attribute pytest no longer has), so each operation's Hypothesis strategy is driven here.
``from_asgi`` and a plain ``case.call()`` would start the app's lifespan a second time
(background jobs, event dispatch) next to the session's client, so the schema is read
through that client and requests go through an ASGI session that never enters it.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.python.asgi import ASGIClient

from tests.factories import Actor, Factory

# Per operation, id variant and generation mode: the module takes about half a minute per
# backend on two cores. MERCADO_FUZZ_EXAMPLES=200 runs a deeper, randomised hunt locally.
EXAMPLES = int(os.environ.get("MERCADO_FUZZ_EXAMPLES", "5"))

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # The same cases on every CI run, so a failure is reproducible.
    derandomize="MERCADO_FUZZ_EXAMPLES" not in os.environ,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# Erasing the fuzzing account would turn every later request into a 401.
SKIPPED_WITH_TOKEN = {("DELETE", "/me")}


@pytest.fixture
def api_schema(app: FastAPI, client: TestClient) -> Any:
    schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    schema.app = app
    return schema


@pytest.fixture
def asgi_session(app: FastAPI) -> ASGIClient:
    """Calls the app in-process without starting its lifespan (the session client did)."""
    return ASGIClient(app)


@pytest.fixture
def real_ids(factory: Factory, seller: Actor) -> dict[str, str]:
    """Path parameters naming objects that exist: the seller's listing, its image and
    question, and the notification the question caused."""
    listing = factory.listing(seller)
    image = factory.image(seller, listing["id"])
    question = factory.question(factory.user("shopper"), listing["id"])
    notification = factory.client.get("/me/notifications", headers=seller.headers).json()
    return {
        "listing_id": listing["id"],
        "image_id": image["id"],
        "question_id": question["id"],
        "notification_id": notification["data"][0]["id"],
        "slug_or_id": "cameras",
        "key": urlsplit(image["url"]).path.removeprefix("/media/"),
    }


def check_response(response: Any) -> None:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message", "details"}, body


def fuzz(
    api_schema: Any,
    session: ASGIClient,
    headers: dict[str, str],
    real_ids: dict[str, str],
    skipped: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
) -> None:
    """Run every operation in both generation modes; report all failing operations at once."""
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if (operation.method.upper(), operation.path) in skipped:
            continue
        operations += 1
        pinned = {
            name: value for name, value in real_ids.items() if f"{{{name}}}" in operation.path
        }
        for path_parameters in ({}, pinned) if pinned else ({},):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategy = operation.as_strategy(
                    generation_mode=mode, path_parameters=path_parameters or None
                )

                @FUZZ_SETTINGS
                @given(case=strategy)
                def run(case: Any) -> None:
                    check_response(case.call(session=session, headers=headers))

                try:
                    run()
                except Unsatisfiable:  # nothing to make invalid, e.g. no parameters at all
                    continue
                except Exception as exc:  # collect, so one run shows every broken operation
                    failures.append(f"{label} ({mode}, ids={path_parameters}): {exc}")
    assert operations > 20
    assert not failures, "\n\n".join(failures)


@pytest.mark.slow
def test_anonymous(api_schema: Any, asgi_session: ASGIClient, real_ids: dict[str, str]) -> None:
    fuzz(api_schema, asgi_session, {}, real_ids)


@pytest.mark.slow
def test_authenticated_seller(
    api_schema: Any, asgi_session: ASGIClient, seller: Actor, real_ids: dict[str, str]
) -> None:
    fuzz(api_schema, asgi_session, seller.headers, real_ids, SKIPPED_WITH_TOKEN)
