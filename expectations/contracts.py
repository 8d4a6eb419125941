"""What a caller tells the suite builders about a table: plain data, no shop imports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableContract:
    """The rules a source table's own definition states (keys, enums, money, references).

    ``table`` is the warehouse table (``shop_orders``); ``references`` maps a column to the
    warehouse table and column it points at (``{"order_id": ("shop_orders", "id")}``).
    """

    table: str
    key: tuple[str, ...]
    enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    money: tuple[str, ...] = ()
    references: Mapping[str, tuple[str, str]] = field(default_factory=dict)
