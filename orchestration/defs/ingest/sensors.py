"""Landing-zone sensor: new, late or rewritten files start a run for their partition.

The cursor is JSON ``{"events": {day: fingerprint}, "events_bad": fingerprint}``; a
fingerprint covers every file's name, size and mtime, so a new file, a late file in an
old day and an erasure rewrite all change it. Run keys embed the fingerprint: each
change of a partition starts exactly one run, however often the sensor re-evaluates.
Without a cursor (first tick) the sensor starts from what the warehouse says it loaded
(``raw._load_state``), so days loaded by ``mercado pipeline run`` are not loaded again.
"""

import hashlib
import json
import logging

import dagster as dg
import duckdb

from orchestration.defs.jobs import events_bad_job, events_partition_job
from orchestration.defs.partitions import daily_partitions, days_outside
from orchestration.defs.resources import LakeResource, WarehouseResource
from orchestration.loads.lake import EVENTS, EVENTS_BAD, STATE_TABLE, lake_days, scan_partition
from orchestration.loads.warehouse import writer_lock


def _digest(fingerprints: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for day in sorted(fingerprints):
        digest.update(f"{day}:{fingerprints[day]}".encode())
    return digest.hexdigest()


EMPTY = hashlib.sha256().hexdigest()  # the fingerprint of a partition without files


def quarantine_fingerprint(lake: LakeResource) -> str:
    """One digest over every quarantine day (the quarantine loads as one asset)."""
    days = lake_days(lake.zone, EVENTS_BAD)
    fingerprints = {d: scan_partition(lake.zone, EVENTS_BAD, d).fingerprint for d in days}
    return _digest({d: fp for d, fp in fingerprints.items() if fp != EMPTY})


def cursor_from_warehouse(warehouse: WarehouseResource) -> dict[str, object] | None:
    """The cursor matching what the warehouse loaded; None while a writer holds it."""
    if not warehouse.path.exists():
        return {}
    try:
        # Hold the writers' lock while reading: DuckDB refuses a writer while any other
        # process has the file open, so a reader must not overlap a load or dbt.
        with writer_lock(warehouse.path, timeout=0), warehouse.reader() as conn:
            rows = conn.execute(
                f"select dataset, partition_key, fingerprint from {STATE_TABLE}"
            ).fetchall()
    except duckdb.CatalogException:
        return {}
    except (TimeoutError, duckdb.Error):
        return None
    events = {day: fp for dataset, day, fp in rows if dataset == EVENTS}
    bad = {day: fp for dataset, day, fp in rows if dataset == EVENTS_BAD and fp != EMPTY}
    return {EVENTS: events, EVENTS_BAD: _digest(bad)}


def landing_run_requests(
    lake: LakeResource, cursor: dict[str, object], log: logging.Logger | None = None
) -> tuple[list[dg.RunRequest], dict[str, object]]:
    """Run requests for partitions that changed since ``cursor``, and the new cursor.

    Lake days that are not partitions (older than the partitions' start, which was the
    lake's earliest day when the definitions loaded) are logged as a warning every tick."""
    seen = cursor.get(EVENTS) or {}
    assert isinstance(seen, dict)
    days = lake_days(lake.zone, EVENTS)
    outside = set(days_outside(days, daily_partitions))
    if outside and log is not None:
        log.warning(
            f"{len(outside)} lake day(s) are not partitions and are not loaded: "
            f"{min(outside)}..{max(outside)}; reload the code location (partitions start at "
            "the lake's earliest day when it loads) or set MERCADO_PARTITIONS_START"
        )
    requests: list[dg.RunRequest] = []
    now: dict[str, str] = {}
    for day in days:
        fingerprint = scan_partition(lake.zone, EVENTS, day).fingerprint
        now[day] = fingerprint
        if seen.get(day) == fingerprint or day in outside:
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
    if bad != _digest({}) and bad != cursor.get(EVENTS_BAD):
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
def landing_zone_sensor(
    context: dg.SensorEvaluationContext, lake: LakeResource, warehouse: WarehouseResource
) -> dg.SensorResult | dg.SkipReason:
    if context.cursor:
        cursor = json.loads(context.cursor)
    else:
        seeded = cursor_from_warehouse(warehouse)
        if seeded is None:
            return dg.SkipReason("the warehouse is being written; trying again next tick")
        cursor = seeded
    requests, new_cursor = landing_run_requests(lake, cursor, context.log)
    if requests:
        context.log.info(f"{len(requests)} landing partition(s) changed")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(new_cursor, sort_keys=True))
