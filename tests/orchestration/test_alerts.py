"""Alerts: a failed run or a blocking check that stopped assets is written to the log and
posted as JSON to the configured webhook (here a real HTTP server on loopback); a webhook
that is down or unset never turns the alert into a second failure."""

from __future__ import annotations

import logging
import socket

import dagster as dg
import pytest

from orchestration.alerts import Alert, send_alert
from orchestration.defs.alerts.sensors import run_failure_alert
from orchestration.defs.resources import AlertsResource
from tests.orchestration.conftest import Receiver


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/nobody-listens"


def test_an_alert_is_posted_as_json_and_logged(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    alert = Alert(
        kind="run_failed", summary="run r1 of hourly_refresh: a step failed", run_id="r1",
        job="hourly_refresh", failed_steps={"raw__events": "boom"},
        blocked_assets=["marts/fct_orders"],
    )  # fmt: skip
    with caplog.at_level(logging.ERROR, logger="orchestration.alerts"):
        assert send_alert(alert, receiver.url) is True
    [body] = receiver.bodies
    assert body["run_id"] == "r1" and body["job"] == "hourly_refresh"
    assert body["failed_steps"] == {"raw__events": "boom"}
    assert body["blocked_assets"] == ["marts/fct_orders"]
    assert "run r1 of hourly_refresh" in caplog.text and "marts/fct_orders" in caplog.text


def test_without_a_webhook_the_alert_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="orchestration.alerts"):
        assert send_alert(Alert(kind="run_failed", summary="nothing built"), None) is False
    assert "nothing built" in caplog.text


def test_a_webhook_that_is_down_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="orchestration.alerts"):
        sent = send_alert(Alert(kind="run_failed", summary="x"), closed_port_url())
    assert sent is False
    assert "alert webhook failed" in caplog.text


# A tiny graph: a blocking check on `orders` guards `revenue`; `events` fails outright.
@dg.asset(check_specs=[dg.AssetCheckSpec("no_negative_totals", asset="orders", blocking=True)])
def orders() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        check_results=[dg.AssetCheckResult(check_name="no_negative_totals", passed=False)]
    )


@dg.asset(deps=[orders])
def revenue() -> None:
    pass


@dg.asset
def events() -> None:
    raise RuntimeError("the lake is unreadable")


@dg.asset(deps=[events])
def sessions() -> None:
    pass


def failed_run_context(
    selection: list[dg.AssetsDefinition], url: str
) -> dg.RunFailureSensorContext:
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(selection, instance=instance, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE]
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert", dagster_instance=instance, dagster_run=run,
        dagster_event=failure, resources={"alerts": AlertsResource(webhook_url=url)},
    ).for_run_failure()  # fmt: skip


def test_the_run_failure_sensor_posts_the_failed_step_and_what_it_blocked(
    receiver: Receiver,
) -> None:
    context = failed_run_context([events, sessions], receiver.url)

    run_failure_alert(context)

    [body] = receiver.bodies
    assert body["kind"] == "run_failed"
    assert body["run_id"] == context.dagster_run.run_id
    assert "the lake is unreadable" in body["failed_steps"]["events"]
    assert body["blocked_assets"] == ["events", "sessions"]


def test_a_blocking_check_failure_is_posted_with_the_assets_it_stopped(
    receiver: Receiver,
) -> None:
    context = failed_run_context([orders, revenue], receiver.url)

    run_failure_alert(context)

    [body] = receiver.bodies
    assert body["failed_checks"] == ["orders:no_negative_totals"]
    assert body["blocked_assets"] == ["revenue"]
    assert "1 blocking check(s) failed" in body["summary"]
