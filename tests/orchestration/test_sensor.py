"""The landing-zone sensor: a late file in an already loaded day starts one run for it.

Specification: with no warehouse yet every day of the lake is requested once; after
``mercado pipeline run`` the first tick starts from what the warehouse loaded and requests
nothing; a new file in an old partition yields exactly one run request for that
partition, with a run key that is stable across evaluations and changes with the files;
running it loads the late event.
"""

from __future__ import annotations

import json
import uuid

import dagster as dg
import pytest

from orchestration.defs.jobs import events_partition_job
from orchestration.defs.resources import LakeResource, WarehouseResource
from orchestration.loads.lake import lake_days
from orchestration.pipeline import load_definitions, run_pipeline
from tests.orchestration.conftest import Home

pytestmark = pytest.mark.slow


def evaluate(home: Home, cursor: str | None) -> dg.SensorResult:
    resources = {
        "lake": LakeResource(root=str(home.lake)),
        "warehouse": WarehouseResource(database=str(home.warehouse)),
    }
    context = dg.build_sensor_context(cursor=cursor, resources=resources)
    # loaded with this home, as the code location would be: partitions start at its lake
    result = load_definitions().resolve_sensor_def("landing_zone_sensor")(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_an_unloaded_lake_requests_every_day_once(simulated_copy: Home) -> None:
    first = evaluate(simulated_copy, None)
    days = lake_days(simulated_copy.lake)
    requested = [r.partition_key for r in first.run_requests or [] if r.partition_key]
    assert sorted(requested) == days
    assert not evaluate(simulated_copy, first.cursor).run_requests


def test_a_late_file_is_picked_up_by_the_sensor(home_copy: Home) -> None:
    first = evaluate(home_copy, None)
    assert not first.run_requests, "days loaded by the pipeline run are not requested again"
    days = lake_days(home_copy.lake)

    day = days[0]
    folder = home_copy.lake / "events" / f"dt={day}"
    event = json.loads(sorted(folder.glob("part-*.jsonl"))[0].read_text().splitlines()[0])
    late_id = str(uuid.uuid4())
    (folder / "part-late.jsonl").write_text(json.dumps({**event, "event_id": late_id}) + "\n")

    late = evaluate(home_copy, first.cursor)
    again = evaluate(home_copy, first.cursor)
    assert [r.partition_key for r in late.run_requests or []] == [day]
    request = late.run_requests[0]
    assert request.job_name == events_partition_job.name
    assert request.run_key == again.run_requests[0].run_key
    assert request.run_key.startswith(f"events:{day}:")
    assert not evaluate(home_copy, late.cursor).run_requests

    result = run_pipeline(
        days=[day], selection=dg.AssetSelection.assets(["raw", "events"]), prepare=False
    )
    assert result.success, result.summary()
    with home_copy.read() as conn:
        found = conn.execute(
            "select event_date::varchar from raw.events where event_id = ?", [late_id]
        ).fetchall()
    assert found == [(day,)]
