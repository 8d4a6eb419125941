"""The carrier interface the shop ships through.

A real carrier (EasyPost, Shippo, a national post's API) plugs in by implementing
``CarrierProvider``: buy a label for a parcel and, for the shop's one webhook receiving
path (``receiving``), verify the carrier's webhook signatures and turn its tracking
events into ``TrackingEvent``s. ``sandbox`` is built in; ``registry`` picks the one
``MERCADO_CARRIER_PROVIDER`` names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shop_api.models.shipping import ShipmentStatus
from shop_api.providers.receiving import IgnoredEvent

TRACKING_EVENT_TYPE = "tracking.updated"  # the one kind of carrier event the shop acts on


@dataclass(frozen=True)
class Label:
    tracking_number: str
    label_url: str
    status: ShipmentStatus


@dataclass(frozen=True)
class TrackingEvent:
    """A verified, validated tracking update."""

    id: str
    tracking_number: str
    status: ShipmentStatus
    occurred_at: datetime
    description: str = ""
    location: str | None = None
    type: str = TRACKING_EVENT_TYPE


class CarrierProvider(Protocol):
    name: str

    def create_label(self, *, reference: str, address: Mapping[str, Any]) -> Label: ...

    def forget_recipient(self, *, reference: str) -> None:
        """Erase the recipient's personal data the carrier keeps for this parcel (the
        right to erasure); the parcel and its tracking go on. Safe to repeat, and a
        reference the carrier does not know is no error."""
        ...

    # -- webhooks (``receiving.WebhookAdapter``) --------------------------------------
    @property
    def webhook_source(self) -> str:
        """The name its events are remembered under in ``webhook_receipts``."""
        ...

    def verify_webhook(self, payload: bytes, headers: Mapping[str, str], now: datetime) -> None:
        """Raise ``signing.SignatureError`` unless the carrier signed it recently."""
        ...

    def parse_event(self, document: Any, now: datetime) -> TrackingEvent | IgnoredEvent:
        """The parsed JSON as a typed event; ``receiving.InvalidEvent`` if malformed."""
        ...
