"""From validation outcomes to a Dagster check result, Data Docs and the run log.

Severity by consequence: a failed ``critical`` outcome is an ERROR result (a blocking
check then stops the assets downstream of the checked asset, and only those); anything
else failing is a WARN result that records and lets dependants build.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from expectations.docs import build_data_docs, save_validation
from expectations.results import Outcome
from orchestration.alerts import CHECK_BLOCKED, Alert
from orchestration.defs.resources import AlertsResource
from orchestration.quality import quality_dirs


def check_result(
    context: dg.AssetCheckExecutionContext | dg.AssetExecutionContext | dg.OpExecutionContext,
    alerts: AlertsResource,
    *,
    asset_key: dg.AssetKey,
    check_name: str,
    suite_version: str,
    outcomes: list[Outcome],
    metadata: dict[str, Any] | None = None,
) -> dg.AssetCheckResult:
    """One check's result, with its outcomes saved and the Data Docs page rebuilt; a
    blocking failure is also sent as an alert (the log, and the webhook when set)."""
    failed = [o for o in outcomes if not o.success]
    blocking = [o for o in failed if o.blocking_failure]
    notes = [o.note for o in outcomes if o.note]
    results_dir, site_dir = quality_dirs()
    name = f"{asset_key.to_user_string().replace('/', '__')}__{check_name}"
    save_validation(
        results_dir,
        name,
        asset=asset_key.to_user_string(),
        suite_version=suite_version,
        run_id=context.run.run_id,
        outcomes=outcomes,
    )
    build_data_docs(results_dir, site_dir)
    for outcome in failed:
        log = context.log.error if outcome.blocking_failure else context.log.warning
        reason = outcome.note or outcome.description
        log(f"{name}: {outcome.check} failed ({outcome.severity}): {reason}")
    if blocking:
        alerts.send(
            Alert(
                kind=CHECK_BLOCKED,
                summary=f"check {asset_key.to_user_string()}:{check_name} failed: "
                + "; ".join(o.note or o.description for o in blocking)
                + f"; assets downstream of {asset_key.to_user_string()} are not built",
                run_id=context.run.run_id,
                job=context.run.job_name,
                failed_checks=[f"{asset_key.to_user_string()}:{check_name}"],
            ),
            context.log,
        )
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        description="; ".join(notes)[:1000] or None,
        metadata={
            "suite_version": suite_version,
            "failed_expectations": [o.check for o in failed],
            "outcomes": dg.MetadataValue.json([o.as_dict() for o in outcomes]),
            **(metadata or {}),
        },
    )
