"""What ``mercado demo`` simulates (standard library only: the CLI reads its defaults)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

# A month of a few thousand shoppers. Each comes back a handful of times a month (0.12
# sessions a day on average while active, log-normally spread: most a few times, a few
# almost daily), as shoppers of a marketplace do, rather than every other day.
DEMO_SHOPPERS = 2500
DEMO_DAYS = 30
# The model is evaluated on the last 7 days up to the newest interaction, which is the
# story's today: trained at the midnight before the last SERVE days, it is scored on the
# 6 - SERVE simulated days in that window (none from 6 on: nothing to publish on).
DEMO_SERVE_DAYS = 4
MAX_SERVE_DAYS = 5
DEMO_VISIT_RATE = 0.12


@dataclass
class DemoPlan:
    """What the demo simulates: ``days`` days of ``shoppers`` ending yesterday, the last
    ``serve_days`` of them served by a model trained at the midnight before (with
    ``pipeline``)."""

    shoppers: int = DEMO_SHOPPERS
    days: int = DEMO_DAYS
    serve_days: int = DEMO_SERVE_DAYS
    visit_rate: float = DEMO_VISIT_RATE
    pipeline: bool = True
    docs: bool = True
    start: date | None = None  # default: ``days`` days before today, so they end yesterday

    def __post_init__(self) -> None:
        # The simulated days end yesterday: the warehouse's daily partitions then span them
        # and the story's today, and the holdout window (the last days before the newest
        # interaction) holds simulated days, not only the story.
        if self.start is None:
            self.start = datetime.now(UTC).date() - timedelta(days=self.days)

    @property
    def training_day(self) -> date | None:
        """The first day the trained model serves (None: no training)."""
        if not self.pipeline or not self.shoppers or self.serve_days >= self.days:
            return None
        assert self.start is not None
        return self.start + timedelta(days=self.days - self.serve_days)
