"""The sandbox carrier: prints labels and moves parcels along a route on its own clock.

Normal parcels go label_created → in_transit → out_for_delivery → delivered. A parcel
to postal code ``00000`` hits an exception in transit and is returned to the sender,
so both paths can be exercised. Each step is announced by a signed webhook.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shop_api.core.clock import Clock
from shop_api.core.typed_sql import rowcount
from shop_api.models.shipping import ShipmentStatus
from shop_api.providers.receiving import IgnoredEvent
from shop_api.providers.sandbox import webhooks
from shop_api.providers.sandbox.events import tracking_event
from shop_api.providers.sandbox.models import SandboxShipment
from shop_api.providers.shipping import Label, TrackingEvent
from shop_api.providers.signing import SIGNATURE_HEADER, verify

S = ShipmentStatus
ROUTES: dict[str, list[tuple[ShipmentStatus, str, str | None]]] = {
    "normal": [
        (S.label_created, "Shipping label created", None),
        (S.in_transit, "Picked up by the carrier", "Origin sorting centre"),
        (S.out_for_delivery, "Out for delivery", "Destination depot"),
        (S.delivered, "Delivered", "Recipient address"),
    ],
    "exception": [
        (S.label_created, "Shipping label created", None),
        (S.in_transit, "Picked up by the carrier", "Origin sorting centre"),
        (S.exception, "Address not found", "Destination depot"),
        (S.returned, "Returned to sender", "Origin sorting centre"),
    ],
}
EXCEPTION_POSTAL_CODE = "00000"


class CarrierError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _shipment_object(shipment: SandboxShipment, now: datetime) -> dict[str, Any]:
    status, description, location = ROUTES[shipment.route][shipment.step]
    return {
        "object": "tracking_update",
        "tracking_number": shipment.tracking_number,
        "reference": shipment.reference,
        "status": status.value,
        "description": description,
        "location": location,
        "occurred_at": now.isoformat(),
    }


class SandboxCarrier:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Clock,
        *,
        webhook_url: str,
        label_base_url: str,
        step_seconds: float,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.webhook_url = webhook_url
        self.label_base_url = label_base_url.rstrip("/")
        self.step = timedelta(seconds=step_seconds)

    def _emit(self, session: Session, shipment: SandboxShipment, now: datetime) -> None:
        webhooks.enqueue(
            session, source="shipping", event_type="tracking.updated", url=self.webhook_url,
            event=webhooks.new_event("tracking.updated", _shipment_object(shipment, now), now),
            now=now,
        )  # fmt: skip

    def create_label(self, reference: str, address: Mapping[str, Any]) -> dict[str, Any]:
        """One label per reference: asking again returns the same label."""
        now = self.clock.now()
        with self.session_factory() as session:
            existing = session.scalar(
                select(SandboxShipment).where(SandboxShipment.reference == reference)
            )
            if existing is not None:
                return _shipment_object(existing, now)
            route = "exception" if address.get("postal_code") == EXCEPTION_POSTAL_CODE else "normal"
            shipment = SandboxShipment(
                tracking_number=f"SBX{secrets.randbelow(10**12):012d}", reference=reference,
                status=S.label_created.value, route=route, step=0,
                next_step_at=now + self.step, address=dict(address), created_at=now,
            )  # fmt: skip
            session.add(shipment)
            self._emit(session, shipment, now)
            try:
                session.commit()
            except IntegrityError:  # a concurrent request for the same reference won
                session.rollback()
                return self.create_label(reference, address)
            return _shipment_object(shipment, now)

    def forget_recipient(self, reference: str) -> bool:
        """The parcel keeps its route and tracking, not the address; True if it exists."""
        with self.session_factory() as session:
            found = rowcount(
                session.execute(
                    update(SandboxShipment)
                    .where(SandboxShipment.reference == reference)
                    .values(address={"redacted": True})
                )
            )
            session.commit()
        return found == 1

    def label_url(self, tracking_number: str) -> str:
        return f"{self.label_base_url}/sandbox/carrier/v1/labels/{tracking_number}"

    def advance(self, tracking_number: str) -> dict[str, Any]:
        """Move a parcel to its next step now (what the carrier's trucks would do)."""
        now = self.clock.now()
        with self.session_factory() as session:
            shipment = session.get(SandboxShipment, tracking_number)
            if shipment is None:
                raise CarrierError(404, "not_found", "No such shipment")
            if shipment.step >= len(ROUTES[shipment.route]) - 1:
                raise CarrierError(409, "finished", "This shipment has reached its last step")
            self._step(session, shipment, now)
            session.commit()
            return _shipment_object(shipment, now)

    def _step(self, session: Session, shipment: SandboxShipment, now: datetime) -> None:
        shipment.step += 1
        shipment.status = ROUTES[shipment.route][shipment.step][0].value
        last = shipment.step >= len(ROUTES[shipment.route]) - 1
        shipment.next_step_at = None if last else now + self.step
        self._emit(session, shipment, now)

    def advance_due(self) -> int:
        now = self.clock.now()
        with self.session_factory() as session:
            due = session.scalars(
                select(SandboxShipment.tracking_number).where(SandboxShipment.next_step_at <= now)
            ).all()
        moved = 0
        for tracking_number in due:
            with self.session_factory() as session:
                shipment = session.get(SandboxShipment, tracking_number)
                if shipment is None or shipment.next_step_at is None or shipment.next_step_at > now:
                    continue
                claimed = rowcount(
                    session.execute(
                        update(SandboxShipment)
                        .where(
                            SandboxShipment.tracking_number == tracking_number,
                            SandboxShipment.step == shipment.step,
                        )
                        .values(next_step_at=None)
                    )
                )
                if claimed != 1:
                    continue
                self._step(session, shipment, now)
                session.commit()
                moved += 1
        return moved


class SandboxCarrierProvider:
    name = "sandbox"

    def __init__(
        self, carrier: SandboxCarrier, webhook_secret: str, tolerance_seconds: int
    ) -> None:
        self.carrier = carrier
        self.webhook_secret = webhook_secret
        self.tolerance = tolerance_seconds

    def create_label(self, *, reference: str, address: Mapping[str, Any]) -> Label:
        obj = self.carrier.create_label(reference, address)
        return Label(
            tracking_number=obj["tracking_number"],
            label_url=self.carrier.label_url(obj["tracking_number"]),
            status=ShipmentStatus(obj["status"]),
        )

    def forget_recipient(self, *, reference: str) -> None:
        self.carrier.forget_recipient(reference)

    # -- webhooks ---------------------------------------------------------------
    @property
    def webhook_source(self) -> str:
        return f"carrier:{self.name}"

    def verify_webhook(self, payload: bytes, headers: Mapping[str, str], now: datetime) -> None:
        verify(self.webhook_secret, payload, headers.get(SIGNATURE_HEADER), now, self.tolerance)

    def parse_event(self, document: Any, now: datetime) -> TrackingEvent | IgnoredEvent:
        return tracking_event(document, now, timedelta(seconds=self.tolerance))
