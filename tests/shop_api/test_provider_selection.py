"""The payment gateway and carrier are the ones the settings name (adapters registered by
name, ``sandbox`` built in; an unknown name stops start-up), and the sandbox sends its
webhooks to where the server listens unless told otherwise."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shop_api.core.config import Settings
from shop_api.main import create_app
from shop_api.providers.registry import (
    ConfigurationError,
    register_carrier,
    register_payment_provider,
)
from shop_api.providers.sandbox.carrier import SandboxCarrierProvider
from shop_api.providers.sandbox.gateway import SandboxPaymentProvider
from shop_api.providers.sandbox.installation import (
    install_sandbox_carrier,
    install_sandbox_gateway,
)
from shop_api.serving import listen_url, record_listen_address
from tests.factories import SUCCESS_CARD, Factory


def test_the_sandbox_is_the_default(settings: Settings) -> None:
    app = create_app(settings)

    assert isinstance(app.state.payment_provider, SandboxPaymentProvider)
    assert isinstance(app.state.carrier, SandboxCarrierProvider)
    app.state.database.dispose()


@pytest.mark.parametrize(
    ("setting", "variable"),
    [
        ("payment_provider", "MERCADO_PAYMENT_PROVIDER"),
        ("carrier_provider", "MERCADO_CARRIER_PROVIDER"),
    ],
)
def test_an_unknown_provider_stops_start_up(
    settings: Settings, setting: str, variable: str
) -> None:
    misconfigured = settings.model_copy(update={setting: "stripe"})

    with pytest.raises(ConfigurationError) as refused:
        create_app(misconfigured)

    assert f"{variable}='stripe'" in str(refused.value)
    assert "sandbox" in str(refused.value)  # what is registered


class RenamedSandbox(SandboxPaymentProvider):
    """The sandbox gateway's adapter under another name, as a second gateway would be."""

    name = "renamed-sandbox"


def install_renamed(state: Any, settings: Settings) -> SandboxPaymentProvider:
    sandbox = install_sandbox_gateway(state, settings)
    return RenamedSandbox(sandbox.gateway, sandbox.webhook_secret, sandbox.tolerance)


def test_the_named_adapter_takes_the_payments_and_their_webhooks(
    settings: Settings, app: FastAPI
) -> None:
    """(``app``: the session's app has seeded the categories.)"""
    name = f"gateway-{uuid.uuid4().hex[:8]}"
    register_payment_provider(name, install_renamed)
    named = create_app(settings.model_copy(update={"payment_provider": name}))

    with TestClient(named) as client:
        factory = Factory(named, client)
        buyer, seller = factory.user("shopper"), factory.user("seller")
        order = factory.order(buyer, [factory.listing(seller)])
        started = client.post(f"/orders/{order['id']}/payments", headers=buyer.headers).json()
        intent_id = started["payment"]["provider_payment_id"]
        confirmed = client.post(
            f"/sandbox/payments/v1/payment_intents/{intent_id}/confirm",
            json={"client_secret": started["client_secret"], "card": SUCCESS_CARD},
        )
        assert confirmed.status_code == 200, confirmed.text
        factory.settle()

        paid = client.get(f"/orders/{order['id']}", headers=buyer.headers).json()
        [payment] = client.get(f"/orders/{order['id']}/payments", headers=buyer.headers).json()
    named.state.database.dispose()
    assert named.state.payment_provider.name == "renamed-sandbox"
    assert (paid["status"], payment["provider"]) == ("paid", "renamed-sandbox")


def test_a_registered_carrier_is_chosen_by_name(settings: Settings) -> None:
    name = f"carrier-{uuid.uuid4().hex[:8]}"
    installed: list[SandboxCarrierProvider] = []

    def install(state: Any, settings: Settings) -> SandboxCarrierProvider:
        installed.append(install_sandbox_carrier(state, settings))
        return installed[-1]

    register_carrier(name, install)
    app = create_app(settings.model_copy(update={"carrier_provider": name}))
    app.state.database.dispose()

    assert installed == [app.state.carrier]


# -- where the sandbox sends its webhooks -------------------------------------------------


def webhook_urls(settings: Settings) -> tuple[str, str]:
    app = create_app(settings)
    app.state.database.dispose()
    return app.state.sandbox_gateway.webhook_url, app.state.sandbox_carrier.webhook_url


def test_the_sandbox_posts_to_the_address_the_server_listens_on(settings: Settings) -> None:
    listening = settings.model_copy(
        update={"public_url": "https://shop.example", "listen_url": "http://127.0.0.1:9000"}
    )

    assert webhook_urls(listening) == (
        "http://127.0.0.1:9000/webhooks/payments",
        "http://127.0.0.1:9000/webhooks/shipping",
    )


def test_an_explicit_sandbox_webhook_address_wins(settings: Settings) -> None:
    explicit = settings.model_copy(
        update={
            "listen_url": "http://127.0.0.1:9000",
            "sandbox_webhook_base_url": "http://127.0.0.1:7000/",
        }
    )

    assert webhook_urls(explicit) == (
        "http://127.0.0.1:7000/webhooks/payments",
        "http://127.0.0.1:7000/webhooks/shipping",
    )


def test_without_a_recorded_address_the_public_url_is_used(settings: Settings) -> None:
    public = settings.model_copy(update={"public_url": "http://127.0.0.1:8123"})

    assert webhook_urls(public)[0] == "http://127.0.0.1:8123/webhooks/payments"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:9000"),
        ("0.0.0.0", "http://127.0.0.1:9000"),
        ("::", "http://[::1]:9000"),
        ("::1", "http://[::1]:9000"),
        ("localhost", "http://localhost:9000"),
    ],
)
def test_the_listen_url_of_a_bind_address(host: str, url: str) -> None:
    assert listen_url(host, 9000) == url


def test_recording_the_listen_address_reaches_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MERCADO_LISTEN_URL", raising=False)

    record_listen_address("0.0.0.0", 9000)

    assert Settings().listen_url == "http://127.0.0.1:9000"
    monkeypatch.delenv("MERCADO_LISTEN_URL")
