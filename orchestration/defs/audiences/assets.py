"""Audiences: one asset per definition in ``audiences/definitions`` (``audiences/<name>``,
group ``audiences``), all made by one multi-asset that can run any subset of them, each
publishing its next version with two checks, and one schedule per definition from its
``refresh_cron``. The work is ``audiences.refresh``'s: a run reads the shop's consent at
publish time once and refreshes the selected audiences in one ``refresh_run`` (erased
customers, eligible customers and ``prepare`` tables computed once for all of them).

A publication whose members fell by more than half is written with status ``blocked``
and ``LATEST`` is not moved; the blocking ``members_kept`` check fails, so the run shows
it, alerts, and nothing downstream builds on it until ``mercado audiences approve NAME``.
"""

from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from audiences.consent import read_consent
from audiences.definition import AudienceDefinition, load_definitions
from audiences.publication import BLOCKED
from audiences.refresh import Refresh, audiences_root, refresh_run
from orchestration.defs.policies import WAREHOUSE_POOL
from orchestration.defs.resources import ShopDatabaseResource, WarehouseResource
from orchestration.settings import PipelineSettings

AUDIENCES_GROUP = "audiences"
SIZE_CHECK = "size_within_bounds"
DROP_CHECK = "members_kept"


def audience_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["audiences", name])


def upstream_keys(
    definition: AudienceDefinition, definitions: dict[str, AudienceDefinition]
) -> list[dg.AssetKey]:
    """The tables the rule reads (a lookalike: also its seed's), and ``dim_customers``,
    where every audience's identifiers and consent come from."""
    tables = {"marts.dim_customers", *definition.reads}
    seed = definition.lookalike.seed_audience if definition.lookalike else None
    if seed is not None:
        return [*(dg.AssetKey(t.split(".")) for t in sorted(tables)), audience_key(seed)]
    return [dg.AssetKey(t.split(".")) for t in sorted(tables)]


def source_versions(context: dg.AssetExecutionContext, keys: list[dg.AssetKey]) -> dict[str, Any]:
    """The run and time of each input's latest materialisation (``never`` if none)."""
    found: dict[str, Any] = {}
    for key in keys:
        event = context.instance.get_latest_materialization_event(key)
        name = key.to_user_string()
        if event is None:
            found[name] = "never"
        else:
            at = datetime.fromtimestamp(event.timestamp, UTC).isoformat()
            found[name] = {"run_id": event.run_id, "materialized_at": at}
    return found


def audience_spec(
    definition: AudienceDefinition, definitions: dict[str, AudienceDefinition]
) -> dg.AssetSpec:
    return dg.AssetSpec(
        audience_key(definition.name),
        deps=upstream_keys(definition, definitions),
        group_name=AUDIENCES_GROUP,
        kinds={"duckdb", "csv"},
        tags={"owner": definition.owner},
        skippable=True,
        description=f"{definition.description}\n\nRule ({definition.rule_kind}):\n\n"
        f"```\n{(definition.sql or definition.segment or definition.lookalike)}\n```",
    )


def check_specs(definition: AudienceDefinition) -> list[dg.AssetCheckSpec]:
    key, bounds = audience_key(definition.name), definition.size_bounds
    return [
        dg.AssetCheckSpec(
            SIZE_CHECK,
            asset=key,
            description=f"Members between {bounds.min} and {bounds.max or 'any number'}.",
        ),
        dg.AssetCheckSpec(
            DROP_CHECK,
            asset=key,
            blocking=True,
            description="At least half the previous release's members are still in; "
            "else the version is blocked until `mercado audiences approve`.",
        ),
    ]


def audience_result(
    definition: AudienceDefinition,
    refresh: Refresh,
    root: Path,
    checks: Collection[dg.AssetCheckKey],
) -> dg.MaterializeResult:
    """The materialisation of one audience and its selected checks' results."""
    key, bounds = audience_key(definition.name), definition.size_bounds
    result = refresh.publication
    members = result.counts["members"]
    within = members >= bounds.min and (bounds.max is None or members <= bounds.max)
    results = [
        dg.AssetCheckResult(
            asset_key=key,
            check_name=SIZE_CHECK,
            passed=within,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"members": members, "min": bounds.min, "max": bounds.max or -1},
        ),
        dg.AssetCheckResult(
            asset_key=key,
            check_name=DROP_CHECK,
            passed=result.status != BLOCKED,
            metadata={"status": result.status, "reason": result.reason},
        ),
    ]
    return dg.MaterializeResult(
        asset_key=key,
        metadata={
            "status": result.status,
            "version": result.version or f"unchanged ({result.previous_version})",
            "members": members,
            "adds": result.counts["adds"],
            "removes": result.counts["removes"],
            "qualifying": refresh.qualifying,
            "erased_rows_removed": refresh.erased_rows,
            "reason": result.reason,
            "path": dg.MetadataValue.path(str(result.path or root / definition.name)),
        },
        check_results=[r for r in results if dg.AssetCheckKey(key, str(r.check_name)) in checks],
    )


def build_audience_assets(
    definitions: dict[str, AudienceDefinition], name: str = "audiences"
) -> dg.AssetsDefinition:
    """One multi-asset over ``definitions``: a run of any subset of them reads the shop's
    consent once and refreshes the selected audiences in one ``refresh_run``."""
    by_key = {audience_key(d.name): d for d in definitions.values()}

    @dg.multi_asset(
        name=name,
        specs=[audience_spec(d, definitions) for d in definitions.values()],
        check_specs=[spec for d in definitions.values() for spec in check_specs(d)],
        can_subset=True,
        pool=WAREHOUSE_POOL,
    )
    def audience_assets(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        shop_db: ShopDatabaseResource,
    ) -> Iterator[dg.MaterializeResult]:
        selected = [d for key, d in by_key.items() if key in context.selected_asset_keys]
        checks = context.selected_asset_check_keys
        with shop_db.engine() as engine:
            consent = read_consent(engine)
        root = audiences_root(PipelineSettings().shop.resolved_home)
        with (
            warehouse.writer() as conn,
            refresh_run(conn, root, consent, definitions=definitions) as run,
        ):
            for definition in selected:
                deps = upstream_keys(definition, definitions)
                refresh = run.refresh(
                    definition, source_data_versions=source_versions(context, deps)
                )
                yield audience_result(definition, refresh, root, checks)

    return audience_assets


def build_schedule(definition: AudienceDefinition) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=f"audience_{definition.name}",
        cron_schedule=definition.refresh_cron,
        target=dg.AssetSelection.assets(audience_key(definition.name)),
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Refresh and publish the {definition.name} audience.",
    )


@dg.definitions
def audiences() -> dg.Definitions:
    definitions = load_definitions()
    return dg.Definitions(
        assets=[build_audience_assets(definitions)],
        schedules=[build_schedule(d) for d in definitions.values()],
    )
