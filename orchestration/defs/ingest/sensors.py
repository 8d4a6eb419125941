"""Landing-zone sensor: new, late or rewritten files start a run for their partition.

The cursor is JSON ``{"events": {day: fingerprint}, "events_bad": fingerprint}``; a
fingerprint covers every file's name, size and mtime, so a new file, a late file in an
old day and an erasure rewrite all change it. Run keys embed the fingerprint: each
change of a partition starts exactly one run, however often the sensor re-evaluates.
"""

import hashlib
import json

import dagster as dg

from orchestration.defs.jobs import events_bad_job, events_partition_job
from orchestration.defs.partitions import daily_partitions
from orchestration.defs.resources import LakeResource
from orchestration.loads.lake import EVENTS, EVENTS_BAD, lake_days, scan_partition


def quarantine_fingerprint(lake: LakeResource) -> str:
    """One digest over every quarantine day (the quarantine loads as one asset)."""
    digest = hashlib.sha256()
    for day in lake_days(lake.path, EVENTS_BAD):
        digest.update(f"{day}:{scan_partition(lake.path, EVENTS_BAD, day).fingerprint}".encode())
    return digest.hexdigest()


def landing_run_requests(
    lake: LakeResource, cursor: dict[str, object], log: object | None = None
) -> tuple[list[dg.RunRequest], dict[str, object]]:
    """Run requests for partitions that changed since ``cursor``, and the new cursor."""
    seen = cursor.get(EVENTS) or {}
    assert isinstance(seen, dict)
    valid = set(daily_partitions.get_partition_keys())
    requests: list[dg.RunRequest] = []
    now: dict[str, str] = {}
    for day in lake_days(lake.path, EVENTS):
        fingerprint = scan_partition(lake.path, EVENTS, day).fingerprint
        now[day] = fingerprint
        if seen.get(day) == fingerprint or day not in valid:
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"{EVENTS}:{day}:{fingerprint[:16]}",
                job_name=events_partition_job.name,
                partition_key=day,
                tags={"mercado/trigger": "landing_zone_sensor"},
            )
        )
    bad = quarantine_fingerprint(lake)
    if lake_days(lake.path, EVENTS_BAD) and bad != cursor.get(EVENTS_BAD):
        requests.append(
            dg.RunRequest(
                run_key=f"{EVENTS_BAD}:{bad[:16]}",
                job_name=events_bad_job.name,
                tags={"mercado/trigger": "landing_zone_sensor"},
            )
        )
    return requests, {EVENTS: now, EVENTS_BAD: bad}


@dg.sensor(
    name="landing_zone_sensor",
    jobs=[events_partition_job, events_bad_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Loads clickstream partitions whose landing files are new, late or rewritten.",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, lake: LakeResource) -> dg.SensorResult:
    cursor = json.loads(context.cursor) if context.cursor else {}
    requests, new_cursor = landing_run_requests(lake, cursor)
    if requests:
        context.log.info(f"{len(requests)} landing partition(s) changed")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(new_cursor, sort_keys=True))
