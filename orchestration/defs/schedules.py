"""Schedules: hourly ingestion + incremental dbt, and the daily full build (UTC).

Both cover yesterday and today (late events land in yesterday's partition for a while);
older partitions are reloaded by the landing-zone sensor when their files change, or by
a backfill.
"""

from datetime import timedelta

import dagster as dg

from orchestration.defs.jobs import daily_job, hourly_job
from orchestration.defs.partitions import daily_partitions

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def recent_range(context: dg.ScheduleEvaluationContext) -> dict[str, str]:
    """Partition-range tags for yesterday..today, clipped to the partitions that exist."""
    now = context.scheduled_execution_time
    today = now.date().isoformat()
    yesterday = (now - timedelta(days=1)).date().isoformat()
    keys = set(daily_partitions.get_partition_keys(current_time=now))
    start = yesterday if yesterday in keys else today
    return {RANGE_START: start, RANGE_END: today}


@dg.schedule(
    job=hourly_job,
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour: new shop rows and recent events into raw, then dbt.",
)
def hourly_refresh_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    tags = recent_range(context)
    return dg.RunRequest(run_key=f"hourly:{context.scheduled_execution_time:%Y%m%dT%H}", tags=tags)


@dg.schedule(
    job=daily_job,
    cron_schedule="30 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night: the full build, including ML, audiences and dashboards.",
)
def daily_full_build_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    tags = recent_range(context)
    return dg.RunRequest(run_key=f"daily:{context.scheduled_execution_time:%Y%m%d}", tags=tags)
