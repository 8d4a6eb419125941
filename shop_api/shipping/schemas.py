from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shop_api.models.shipping import ShipmentStatus


class ShipRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_id: uuid.UUID | None = None


class ShipmentEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    status: str
    description: str
    location: str | None
    occurred_at: datetime


class ShipmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    group_id: uuid.UUID
    carrier: str
    tracking_number: str
    label_url: str
    status: ShipmentStatus
    created_at: datetime


class ShipmentTracking(ShipmentPublic):
    events: list[ShipmentEventPublic]
