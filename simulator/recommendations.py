"""The storefront's recommendation widgets: lists from the shop when it serves a model.

The shop's ``GET /recommendations``, ``/listings/{id}/similar`` and
``/listings/{id}/bought-together`` answer ``{model_version, list_id, data: [{listing_id,
position, reason, fallback}, ...]}`` and log the impression themselves (``view_item_list``
with ``list_id = recs:<model_version>``), so a list shown from such an answer is
``logged_by_shop`` and the page tag does not log it again; a click on it carries the same
``list_id``. When the shop has no model its answer names ``popularity-fallback``: the
storefront then shows the simulator's own daily popularity list for the rest of the day,
as it does when the shop has no recommendation endpoints at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# What the shop's answers call a list served without a model (its own best sellers).
FALLBACK_VERSION = "popularity-fallback"


@dataclass(slots=True)
class ItemList:
    """A list on a page: the simulator's items in the order shown and their places."""

    list_id: str
    name: str
    indices: list[int]
    positions: list[int]
    logged_by_shop: bool = False  # the shop logged the impression: the tag does not

    @classmethod
    def of(cls, indices: list[int], list_id: str, name: str, offset: int = 0) -> ItemList:
        """A list the page builds itself (the tag logs its impression)."""
        return cls(list_id, name, indices, list(range(offset, offset + len(indices))))


class ServedLists:
    """Whether to ask the shop for recommendation lists, and what its answers show.

    ``new_day(serves_model)`` is told each simulated midnight whether the shop serves a
    model (``None``: only asking tells, as over HTTP). An answer without a model stops the
    asking until the next day; a 404 from ``/recommendations`` (no such endpoint) for good.
    """

    def __init__(self) -> None:
        self.asking = False
        self.absent = False

    def new_day(self, serves_model: bool | None) -> None:
        self.asking = not self.absent and serves_model is not False

    def read(
        self, status: int, body: Any, path: str, name: str, index_of: Mapping[str, int]
    ) -> ItemList | None:
        """The list to show from the shop's answer to ``GET path``; None: nothing to show
        from the shop (the page falls back to its own list, if it has one)."""
        if status in (404, 405) and path.startswith("/recommendations"):
            self.absent, self.asking = True, False
            return None
        if status != 200 or not isinstance(body, dict):
            return None
        if body.get("model_version") == FALLBACK_VERSION:
            self.asking = False
        indices, positions = [], []
        for row in body.get("data", ()):
            index = index_of.get(row["listing_id"])
            if index is not None:  # listings the simulator did not make mean nothing to it
                indices.append(index)
                positions.append(row["position"])
        if not indices:
            return None
        return ItemList(body["list_id"], name, indices, positions, logged_by_shop=True)
