from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

Reason = Field(
    description="Why it is here: for_you, similar_to:<listing id>, bought_with:<listing id>, "
    "popular_in:<category id>, or popular (across the shop)",
    examples=["for_you"],
)


class RecommendedListing(BaseModel):
    listing_id: uuid.UUID
    seller_id: uuid.UUID
    category_id: uuid.UUID
    title: str
    price_minor: int
    currency: str
    position: int = Field(description="0-based place in the list (the event item's index)")
    score: float | None = Field(description="The source's own score: higher is better")
    reason: str = Reason
    fallback: bool = Field(
        description="true when popularity filled the place (no model, unknown shopper or "
        "listing, opted out, or too few of the model's picks on sale)"
    )


class RecommendationPage(BaseModel):
    model_version: str = Field(
        description="The model version that served the list, or 'popularity-fallback' when "
        "no model is published"
    )
    list_id: str = Field(
        description="'recs:<model_version>': send it as params.list_id with the select_item "
        "event of a click on one of these items",
        examples=["recs:20261207T090000Z-lightfm-1a2b3c"],
    )
    ab_arm: Literal["champion", "challenger"] | None = Field(
        description="The experiment arm of the caller (null when no model served)"
    )
    personalised: bool = Field(
        description="true when the caller's own history ranked the list; false for "
        "anonymous visitors the model does not know and shoppers who opted out"
    )
    data: list[RecommendedListing]
    count: int
