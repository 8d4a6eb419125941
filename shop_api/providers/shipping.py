"""The carrier interface the shop ships through.

A real carrier (EasyPost, Shippo, a national post's API) plugs in by implementing
``CarrierProvider``: buy a label for a parcel and turn the carrier's signed tracking
webhooks into ``TrackingEvent``s. ``sandbox`` is built in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shop_api.models.shipping import ShipmentStatus


@dataclass(frozen=True)
class Label:
    tracking_number: str
    label_url: str
    status: ShipmentStatus


@dataclass(frozen=True)
class TrackingEvent:
    id: str
    tracking_number: str
    status: ShipmentStatus
    occurred_at: datetime
    description: str = ""
    location: str | None = None


class CarrierProvider(Protocol):
    name: str

    def create_label(self, *, reference: str, address: Mapping[str, Any]) -> Label: ...

    def forget_recipient(self, *, reference: str) -> None:
        """Erase the recipient's personal data the carrier keeps for this parcel (the
        right to erasure); the parcel and its tracking go on. Safe to repeat, and a
        reference the carrier does not know is no error."""
        ...

    def parse_webhook(
        self, payload: bytes, headers: Mapping[str, str], now: datetime
    ) -> TrackingEvent: ...
