"""Data quality as asset checks, on a simulated shop with bad data injected.

Specification: rows breaking a row rule (malformed and future-dated events, a negative
item price, a negative order-line price, an orphan order line) are quarantined with their
reasons while the good rows and every mart build; duplicates keep one copy; a 95% drop of
one event name fails an ERROR check that blocks only what depends on raw events; replay
re-admits fixed rows, once; Data Docs are written with no network reference.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from orchestration.defs.jobs import WAREHOUSE
from orchestration.loads.warehouse import open_writer
from orchestration.pipeline import PipelineResult, pipeline_instance, run_pipeline
from orchestration.quality import quality_dirs, replay_quarantine
from tests.orchestration.conftest import COPY_IGNORE, ENV_KEYS, Home, Receiver

pytestmark = pytest.mark.slow

BAD_NAME = "11111111-1111-4111-8111-000000000001"
FUTURE = "11111111-1111-4111-8111-000000000002"
NEGATIVE_PRICE = "11111111-1111-4111-8111-000000000003"
DUPLICATE = "11111111-1111-4111-8111-000000000004"
NOT_A_UUID = "not-a-uuid"
DEMO_ITEM = "11111111-1111-4111-8111-000000000005"  # the demo page's item before the id rule


def _first_event(lake: Path) -> tuple[str, dict[str, Any]]:
    for path in sorted((lake / "events").glob("dt=*/part-*.jsonl")):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            if event.get("items"):
                return path.parent.name.removeprefix("dt="), event
    raise AssertionError("no event with items in the simulated lake")


def _write_events(lake: Path, day: str, events: list[dict[str, Any]], name: str) -> None:
    folder = lake / "events" / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"part-{name}.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


def inject_bad_events(lake: Path) -> str:
    day, good = _first_event(lake)
    at = datetime.fromisoformat(good["received_at"])
    bad = [
        {**good, "event_id": BAD_NAME, "event_name": "bogus_name"},
        {
            **good,
            "event_id": FUTURE,
            "event_time": good["event_time"],
            "received_at": (
                datetime.fromisoformat(good["event_time"]) - timedelta(hours=3)
            ).isoformat(),
        },
        {**good, "event_id": NEGATIVE_PRICE, "items": [{**good["items"][0], "price": -5}]},
        {**good, "event_id": NOT_A_UUID},
        {**good, "event_id": DEMO_ITEM, "items": [{**good["items"][0], "item_id": "demo-1"}]},
        {**good, "event_id": DUPLICATE, "received_at": at.isoformat()},
        {**good, "event_id": DUPLICATE, "received_at": (at + timedelta(seconds=1)).isoformat()},
    ]
    _write_events(lake, day, bad, "zz-injected")
    return day


def _copy_row(conn: sqlite3.Connection, table: str, **changes: Any) -> str:
    conn.row_factory = sqlite3.Row
    row = dict(conn.execute(f"select * from {table} limit 1").fetchone())
    new_id = uuid.uuid4().hex if len(str(row["id"])) == 32 else str(uuid.uuid4())
    row.update(id=new_id, **changes)
    columns = ", ".join(row)
    conn.execute(
        f"insert into {table} ({columns}) values ({', '.join('?' * len(row))})", list(row.values())
    )
    return str(uuid.UUID(new_id))


def inject_bad_shop_rows(shop_db: Path) -> dict[str, str]:
    conn = sqlite3.connect(shop_db)
    orphan_order = uuid.uuid4().hex
    ids = {
        "orphan": _copy_row(conn, "order_items", order_id=orphan_order),
        "negative": _copy_row(conn, "order_items", unit_price_minor=-100),
    }
    conn.commit()
    conn.close()
    return ids


@pytest.fixture(scope="module")
def quality_home(
    simulated_home: Home, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The simulated shop with bad rows injected, after one pipeline run."""
    import shutil

    target = tmp_path_factory.mktemp("quality") / "home"
    shutil.copytree(simulated_home.path, target, ignore=COPY_IGNORE)
    home = Home(target)
    with pytest.MonkeyPatch.context() as patch:
        for key in ENV_KEYS:
            patch.delenv(key, raising=False)
        patch.setenv("MERCADO_HOME", str(target))
        day = inject_bad_events(home.lake)
        shop_ids = inject_bad_shop_rows(target / "shop.db")
        result = run_pipeline(full_refresh=True)
        yield {"home": home, "result": result, "day": day, "shop_ids": shop_ids}


def _evaluations(result: PipelineResult) -> dict[str, Any]:
    """Every check evaluation of the run, as recorded in the instance, by asset:check."""
    evaluations = {}
    for entry in pipeline_instance().all_logs(result.run_id):
        event = entry.dagster_event
        if event is not None and event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.event_specific_data
            evaluations[f"{data.asset_key.to_user_string()}:{data.check_name}"] = data
    return evaluations


def test_bad_rows_do_not_stop_the_run_and_every_mart_builds(quality_home: dict[str, Any]) -> None:
    result: PipelineResult = quality_home["result"]
    assert result.success and result.ok, result.summary()
    assert {"marts/fct_orders", "marts/fct_sessions", "marts/interactions"} <= set(
        result.materialized
    )


def test_the_failing_checks_warn_with_counts(quality_home: dict[str, Any]) -> None:
    checks = _evaluations(quality_home["result"])
    events = checks["raw/events:conforms_to_contract"]
    assert not events.passed and events.severity == dg.AssetCheckSeverity.WARN
    metadata = events.metadata
    assert metadata["rows_quarantined"].value == 5
    assert metadata["failing_rows_by_check"].value == {
        "event_name_known": 1,
        "event_time_not_ahead": 1,
        "items_well_formed": 2,
        "event_id_well_formed": 1,
    }
    items = checks["raw/shop_order_items:conforms_to_contract"]
    assert not items.passed and items.severity == dg.AssetCheckSeverity.WARN
    assert items.metadata["failing_rows_by_check"].value == {
        "order_id_resolves": 1,
        "unit_price_minor_not_negative": 1,
    }
    assert checks["raw/shop_orders:conforms_to_contract"].passed
    assert checks["marts/fct_orders:reconciles_with_raw"].passed


def test_bad_rows_are_quarantined_with_reasons_and_good_rows_stay(
    quality_home: dict[str, Any],
) -> None:
    home: Home = quality_home["home"]
    with home.read() as conn:
        quarantined = dict(
            conn.execute("select event_id, _reasons from quality.quarantine_events").fetchall()
        )
        assert set(quarantined) == {BAD_NAME, FUTURE, NEGATIVE_PRICE, NOT_A_UUID, DEMO_ITEM}
        assert quarantined[BAD_NAME] == [
            "event_name_known: event_name is one of the schema's values"
        ]
        assert quarantined[FUTURE][0].startswith("event_time_not_ahead")
        in_raw = conn.execute(
            "select event_id, count(*) from raw.events "
            "where event_id in (?, ?, ?, ?, ?, ?) group by 1",
            [BAD_NAME, FUTURE, NEGATIVE_PRICE, NOT_A_UUID, DEMO_ITEM, DUPLICATE],
        ).fetchall()
        assert in_raw == [(DUPLICATE, 1)]
        good = conn.execute(
            "select count(*) from raw.events where event_date = ?", [quality_home["day"]]
        ).fetchall()[0][0]
        assert good > 10
        lines = conn.execute(
            "select id, _check, _run_id from quality.quarantine_shop_order_items"
        ).fetchall()
        ids = quality_home["shop_ids"]
        assert {row[0] for row in lines} == {ids["orphan"], ids["negative"]}
        assert {row[2] for row in lines} == {quality_home["result"].run_id}
        staged = conn.execute(
            "select count(*) from staging.stg_raw__order_items where order_item_id in (?, ?)",
            [ids["orphan"], ids["negative"]],
        ).fetchall()[0][0]
        assert staged == 0


def test_data_docs_show_the_results_offline(quality_home: dict[str, Any]) -> None:
    _, site = quality_dirs()
    assert site == quality_home["home"].path / "published" / "data_docs"
    page = (site / "index.html").read_text()
    assert "raw/events" in page and "event_name_known" in page and "failed (warning)" in page
    remote = re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page, flags=re.IGNORECASE)
    assert remote == []
    assert "<script" not in page and "<link" not in page


def test_replay_readmits_fixed_rows_once(quality_home: dict[str, Any]) -> None:
    home: Home = quality_home["home"]
    ids = quality_home["shop_ids"]
    with open_writer(home.warehouse) as conn:
        conn.execute(
            "update quality.quarantine_shop_order_items set unit_price_minor = 100 where id = ?",
            [ids["negative"]],
        )
        [first] = replay_quarantine(conn, "shop_order_items")
        [second] = replay_quarantine(conn, "shop_order_items")
        back = conn.execute(
            "select unit_price_minor from raw.shop_order_items where id = ?", [ids["negative"]]
        ).fetchall()
        left = conn.execute("select id from quality.quarantine_shop_order_items").fetchall()
    assert (first.readmitted, first.still_failing) == (1, 1)
    assert (second.readmitted, second.still_failing) == (0, 1)
    assert back == [(100,)]
    assert left == [(ids["orphan"],)]


def _volume_day(
    lake: Path, day: date, page_views: int, promotions: int, template: dict[str, Any]
) -> None:
    at = datetime(
        day.year,
        day.month,
        day.day,
        3,
        10,
        tzinfo=datetime.fromisoformat(template["event_time"]).tzinfo,
    )
    events = [
        {
            **template,
            "event_id": str(uuid.uuid4()),
            "event_name": name,
            "event_time": at.isoformat(),
            "received_at": at.isoformat(),
        }
        for name, count in (("page_view", page_views), ("view_promotion", promotions))
        for _ in range(count)
    ]
    _write_events(lake, day.isoformat(), events, "volume")


def test_a_collapsed_event_name_blocks_only_what_depends_on_events(
    quality_home: dict[str, Any], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four weeks of 03:00 traffic, then view_promotion falls by 95% at 03:00 on day D;
    the blocking check's alert reaches the webhook."""
    home: Home = quality_home["home"]
    monkeypatch.setenv("MERCADO_ALERT_WEBHOOK_URL", receiver.url)
    first_day, template = _first_event(home.lake)
    template = {k: v for k, v in template.items() if k not in ("items",)}
    template["page"] = {"url": "/"}
    target = date.fromisoformat(first_day) - timedelta(days=2)
    for week in range(4, 0, -1):
        _volume_day(home.lake, target - timedelta(days=7 * week), 40, 40, template)
    _volume_day(home.lake, target, 40, 2, template)
    later = datetime(target.year, target.month, target.day, 5, 0).isoformat() + "+00:00"
    _write_events(
        home.lake,
        target.isoformat(),
        [
            {
                **template,
                "event_id": str(uuid.uuid4()),
                "event_name": "page_view",
                "event_time": later,
                "received_at": later,
            }
        ],
        "later",
    )
    days = [(target - timedelta(days=28 - n)).isoformat() for n in range(29)]
    result = run_pipeline(days=days, selection=WAREHOUSE)
    volume = _evaluations(result)["raw/events:volume_normal"]
    assert not volume.passed and volume.severity == dg.AssetCheckSeverity.ERROR
    assert "view_promotion" in (volume.description or "")
    assert "marts/fct_orders" in result.materialized  # the shop side does not depend on events
    assert "marts/fct_sessions" not in result.materialized
    assert "staging/stg_raw__events" not in result.materialized
    [alert] = [b for b in receiver.bodies if b["kind"] == "check_blocked"]
    assert alert["failed_checks"] == ["raw/events:volume_normal"]
    assert "view_promotion" in alert["summary"]
