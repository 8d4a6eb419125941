"""The landing-zone sensor: a late file in an already loaded day starts one run for it.

Specification: with a cursor from the current lake nothing is requested; a new file in an
old partition yields exactly one run request for that partition, with a run key that is
stable across evaluations and changes with the files; running it loads the late event.
"""

from __future__ import annotations

import json
import uuid

import dagster as dg
import pytest

from orchestration.defs.ingest.sensors import landing_zone_sensor
from orchestration.defs.jobs import events_partition_job
from orchestration.defs.resources import LakeResource
from orchestration.loads.lake import lake_days
from orchestration.pipeline import run_pipeline
from tests.orchestration.conftest import Home

pytestmark = pytest.mark.slow


def evaluate(lake: LakeResource, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(cursor=cursor, resources={"lake": lake})
    return landing_zone_sensor(context)


def test_a_late_file_is_picked_up_by_the_sensor(home_copy: Home) -> None:
    lake = LakeResource(root=str(home_copy.lake))
    first = evaluate(lake, None)
    days = lake_days(home_copy.lake)
    assert {r.partition_key for r in first.run_requests or [] if r.partition_key} == set(days)
    settled = evaluate(lake, first.cursor)
    assert not settled.run_requests

    day = days[0]
    folder = home_copy.lake / "events" / f"dt={day}"
    event = json.loads(sorted(folder.glob("part-*.jsonl"))[0].read_text().splitlines()[0])
    late_id = str(uuid.uuid4())
    (folder / "part-late.jsonl").write_text(json.dumps({**event, "event_id": late_id}) + "\n")

    late = evaluate(lake, first.cursor)
    again = evaluate(lake, first.cursor)
    assert [r.partition_key for r in late.run_requests or []] == [day]
    request = late.run_requests[0]
    assert request.job_name == events_partition_job.name
    assert request.run_key == again.run_requests[0].run_key
    assert request.run_key not in {r.run_key for r in first.run_requests or []}
    assert not evaluate(lake, late.cursor).run_requests

    result = run_pipeline(
        days=[day], selection=dg.AssetSelection.assets(["raw", "events"]), prepare=False
    )
    assert result.success, result.summary()
    with home_copy.read() as conn:
        found = conn.execute(
            "select event_date::varchar from raw.events where event_id = ?", [late_id]
        ).fetchall()
    assert found == [(day,)]
