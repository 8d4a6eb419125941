"""Time is declared once: the daily partitions of the clickstream, shared by raw loads,
the incremental dbt models, jobs and the landing-zone sensor."""

import dagster as dg

from orchestration.settings import PipelineSettings

# end_offset=1: today's partition exists, so the hourly run can load today's events.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=PipelineSettings().partitions_start.isoformat(),
    timezone="UTC",
    end_offset=1,
)
