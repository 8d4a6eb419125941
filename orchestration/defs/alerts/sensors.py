"""The run-failure sensor: every failed run (a failed step, a blocking check, a refused
launch) is logged and posted to the alert webhook, with the assets it left unbuilt."""

import dagster as dg

from orchestration.alerts import Alert
from orchestration.defs.resources import AlertsResource
from orchestration.outcome import RunOutcome


@dg.run_failure_sensor(
    name="run_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts failed runs (steps, blocking checks, blocked assets) to the webhook.",
)
def run_failure_alert(context: dg.RunFailureSensorContext, alerts: AlertsResource) -> None:
    outcome = RunOutcome.from_instance(context.instance, context.dagster_run.run_id)
    alerts.send(Alert.for_run(outcome, source="dagster"), context.log)
