"""When people shop: day-of-week, seasonal and hour-of-day patterns (UTC)."""

from __future__ import annotations

import itertools
import math
import random
from datetime import date, timedelta

# Monday .. Sunday: the weekend is busier.
WEEKDAY = (0.92, 0.94, 0.96, 1.0, 1.06, 1.18, 1.12)
# Share of a day's sessions starting in each UTC hour: quiet nights, evening peak.
HOURS = (
    0.7, 0.45, 0.3, 0.22, 0.2, 0.25, 0.4, 0.7, 0.95, 1.05, 1.15, 1.25,
    1.35, 1.3, 1.25, 1.25, 1.35, 1.5, 1.7, 1.95, 2.15, 2.1, 1.65, 1.1,
)  # fmt: skip
_HOUR_CUMULATIVE = tuple(itertools.accumulate(HOURS))


def black_friday(year: int) -> date:
    """The fourth Friday of November."""
    first = date(year, 11, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 21)


def season(day: date) -> float:
    """Seasonal multiplier: a Black Friday / Cyber Monday peak, the run-up to Christmas,
    a quiet January and a small mid-year sale."""
    peak = black_friday(day.year) + timedelta(days=1)
    distance = (day - peak).days
    multiplier = 1.0 + 1.1 * math.exp(-0.5 * (distance / 2.5) ** 2)
    if date(day.year, 12, 1) <= day <= date(day.year, 12, 23):
        multiplier += 0.35 * (day.day / 23)
    if date(day.year, 12, 24) <= day <= date(day.year, 12, 26):
        multiplier *= 0.7
    if day.month == 1 and day.day <= 20:
        multiplier *= 0.88
    if day.month == 7 and 10 <= day.day <= 20:
        multiplier *= 1.12
    return multiplier


def day_multiplier(day: date) -> float:
    return WEEKDAY[day.weekday()] * season(day)


def campaign(day: date) -> str:
    """The marketing campaign running that day (utm_campaign)."""
    distance = (day - black_friday(day.year)).days
    if -7 <= distance <= 4:
        return "black-friday"
    if day.month == 12 and day.day <= 24:
        return "christmas"
    if day.month == 1 and day.day <= 20:
        return "january-sales"
    return "always-on"


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method (means here are small); exact and reproducible."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit = math.exp(-mean)
    count = 0
    product = rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def session_second(rng: random.Random) -> int:
    """A start second within the day following ``HOURS``."""
    hour = rng.choices(range(24), cum_weights=_HOUR_CUMULATIVE)[0]
    return hour * 3600 + rng.randrange(3600)
