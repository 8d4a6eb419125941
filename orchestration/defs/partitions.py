"""Time is declared once: the daily partitions of the clickstream, shared by raw loads,
the incremental dbt models, jobs and the landing-zone sensor.

They start at the lake's earliest day, read when the definitions load (imported datasets
reach back to 1997), or at ``MERCADO_PARTITIONS_START``; a lake day before the start is
reported by the sensor and ``mercado pipeline run``, never skipped without a word.
"""

from datetime import UTC, datetime

import dagster as dg

from orchestration.loads.lake import EVENTS, lake_days
from orchestration.settings import PipelineSettings
from shop_api.tracking.lake import landing_zone


def partitions_start(settings: PipelineSettings) -> str:
    """``MERCADO_PARTITIONS_START``, else the lake's earliest event day, else today (UTC)."""
    if settings.partitions_start is not None:
        return settings.partitions_start.isoformat()
    days = lake_days(landing_zone(settings.shop), EVENTS)
    return days[0] if days else datetime.now(UTC).date().isoformat()


def days_outside(days: list[str], partitions: dg.PartitionsDefinition) -> list[str]:
    """The lake days that are not partition keys (before the start, or after today)."""
    valid = set(partitions.get_partition_keys())
    return [day for day in days if day not in valid]


# end_offset=1: today's partition exists, so the hourly run can load today's events.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=partitions_start(PipelineSettings()),
    timezone="UTC",
    end_offset=1,
)
