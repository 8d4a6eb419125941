"""Audiences: one asset per definition in ``audiences/definitions`` (group ``audiences``),
each publishing its next version with two checks, and one schedule per definition from
its ``refresh_cron``. The work is ``audiences.refresh``'s; these assets read the shop's
consent at publish time, the warehouse, and report.

A publication whose members fell by more than half is written with status ``blocked``
and ``LATEST`` is not moved; the blocking ``members_kept`` check fails, so the run shows
it, alerts, and nothing downstream builds on it until ``mercado audiences approve NAME``.
"""

from datetime import UTC, datetime
from typing import Any

import dagster as dg

from audiences.consent import read_consent
from audiences.definition import AudienceDefinition, load_definitions
from audiences.publication import BLOCKED
from audiences.refresh import audiences_root, refresh_audience
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


def build_audience_asset(
    definition: AudienceDefinition, definitions: dict[str, AudienceDefinition]
) -> dg.AssetsDefinition:
    key = audience_key(definition.name)
    bounds = definition.size_bounds
    deps = upstream_keys(definition, definitions)

    @dg.asset(
        key=key,
        group_name=AUDIENCES_GROUP,
        kinds={"duckdb", "csv"},
        deps=deps,
        pool=WAREHOUSE_POOL,
        tags={"owner": definition.owner},
        description=f"{definition.description}\n\nRule ({definition.rule_kind}):\n\n"
        f"```\n{(definition.sql or definition.segment or definition.lookalike)}\n```",
        check_specs=[
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
        ],
    )
    def audience(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        shop_db: ShopDatabaseResource,
    ) -> dg.MaterializeResult:
        with shop_db.engine() as engine:
            consent = read_consent(engine)
        root = audiences_root(PipelineSettings().shop.resolved_home)
        with warehouse.writer() as conn:
            refresh = refresh_audience(
                conn,
                root,
                definition,
                consent,
                definitions=definitions,
                source_data_versions=source_versions(context, deps),
            )
        result = refresh.publication
        members = result.counts["members"]
        within = members >= bounds.min and (bounds.max is None or members <= bounds.max)
        return dg.MaterializeResult(
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
            check_results=[
                dg.AssetCheckResult(
                    check_name=SIZE_CHECK,
                    passed=within,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"members": members, "min": bounds.min, "max": bounds.max or -1},
                ),
                dg.AssetCheckResult(
                    check_name=DROP_CHECK,
                    passed=result.status != BLOCKED,
                    metadata={"status": result.status, "reason": result.reason},
                ),
            ],
        )

    return audience


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
        assets=[build_audience_asset(d, definitions) for d in definitions.values()],
        schedules=[build_schedule(d) for d in definitions.values()],
    )
