"""Retention runs once a day, after the nightly build, as its own job."""

import dagster as dg

from orchestration.defs.maintenance.assets import MAINTENANCE_GROUP

retention_job = dg.define_asset_job(
    "retention",
    selection=dg.AssetSelection.groups(MAINTENANCE_GROUP),
    description="Delete lake partitions, raw and quarantine rows and published versions "
    "past their retention.",
)


@dg.schedule(
    job=retention_job,
    cron_schedule="30 4 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night, after the full build: enforce the retention settings.",
)
def retention_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"retention:{context.scheduled_execution_time:%Y%m%d}")
