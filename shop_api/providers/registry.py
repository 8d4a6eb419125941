"""Which payment gateway and carrier the shop uses: adapters registered by name, chosen
by ``MERCADO_PAYMENT_PROVIDER`` and ``MERCADO_CARRIER_PROVIDER``.

An installer builds the adapter for an app (``app.state``, where it may also put parts
of its own, as the sandbox puts its gateway and carrier) from the settings. ``sandbox``
is built in; a real gateway registers its installer under its own name before the app
is made. A name nothing is registered under stops the app at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from shop_api.core.config import Settings
from shop_api.providers.payments import PaymentProvider
from shop_api.providers.sandbox.installation import install_sandbox_carrier, install_sandbox_gateway
from shop_api.providers.shipping import CarrierProvider

T = TypeVar("T")
PaymentInstaller = Callable[[Any, Settings], PaymentProvider]
CarrierInstaller = Callable[[Any, Settings], CarrierProvider]

_payment_providers: dict[str, PaymentInstaller] = {"sandbox": install_sandbox_gateway}
_carriers: dict[str, CarrierInstaller] = {"sandbox": install_sandbox_carrier}


class ConfigurationError(Exception):
    """The settings name something this installation does not have."""


def register_payment_provider(name: str, install: PaymentInstaller) -> None:
    _payment_providers[name] = install


def register_carrier(name: str, install: CarrierInstaller) -> None:
    _carriers[name] = install


def _installer(installers: dict[str, T], name: str, setting: str, kind: str) -> T:
    try:
        return installers[name]
    except KeyError:
        known = ", ".join(sorted(installers))
        raise ConfigurationError(
            f"{setting}={name!r} names no {kind} (registered: {known})"
        ) from None


def install_providers(state: Any, settings: Settings) -> None:
    """Put the configured adapters on ``state`` as ``payment_provider`` and ``carrier``."""
    install_payments = _installer(
        _payment_providers, settings.payment_provider, "MERCADO_PAYMENT_PROVIDER",
        "payment provider",
    )  # fmt: skip
    install_carrier = _installer(
        _carriers, settings.carrier_provider, "MERCADO_CARRIER_PROVIDER", "carrier"
    )
    state.payment_provider = install_payments(state, settings)
    state.carrier = install_carrier(state, settings)
