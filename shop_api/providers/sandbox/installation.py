"""The sandbox gateway and carrier, installed on an app (``registry``'s ``sandbox``).

They deliver their webhooks to ``Settings.sandbox_webhook_base_url`` when it is set,
else to the address the server listens on (``Settings.listen_url``, recorded by the
server at start-up), else to ``MERCADO_PUBLIC_URL``: a server on another port than the
public URL's still hears its own sandbox.
"""

from __future__ import annotations

from typing import Any

from shop_api.core.config import Settings
from shop_api.providers.sandbox.carrier import SandboxCarrier, SandboxCarrierProvider
from shop_api.providers.sandbox.gateway import SandboxGateway, SandboxPaymentProvider


def webhook_base_url(settings: Settings) -> str:
    """Where the sandbox providers reach the shop's webhook endpoints."""
    base = settings.sandbox_webhook_base_url or settings.listen_url or settings.public_url
    return base.rstrip("/")


def install_sandbox_gateway(state: Any, settings: Settings) -> SandboxPaymentProvider:
    state.sandbox_gateway = SandboxGateway(
        state.database.sessions,
        state.clock,
        webhook_url=f"{webhook_base_url(settings)}/webhooks/payments",
        processing_seconds=settings.sandbox_processing_seconds,
        read_session_factory=state.database.read_sessions,
    )
    return SandboxPaymentProvider(
        state.sandbox_gateway,
        settings.payments_webhook_secret.get_secret_value(),
        settings.webhook_tolerance_seconds,
    )


def install_sandbox_carrier(state: Any, settings: Settings) -> SandboxCarrierProvider:
    state.sandbox_carrier = SandboxCarrier(
        state.database.sessions,
        state.clock,
        webhook_url=f"{webhook_base_url(settings)}/webhooks/shipping",
        label_base_url=settings.public_url,
        step_seconds=settings.sandbox_carrier_step_seconds,
    )
    return SandboxCarrierProvider(
        state.sandbox_carrier,
        settings.shipping_webhook_secret.get_secret_value(),
        settings.webhook_tolerance_seconds,
    )
