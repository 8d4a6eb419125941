"""The analysts' dashboards: a static site built from the marts and ``ops.*``
(``dashboards.site.build_site``), under ``$MERCADO_HOME/published/dashboards``."""

from datetime import UTC, datetime

import dagster as dg

from dashboards.queries import mart_keys
from dashboards.site import build_site
from orchestration.defs.ops.assets import ASSET_COSTS, CHECK_RESULTS
from orchestration.defs.policies import WAREHOUSE_POOL
from orchestration.defs.resources import WarehouseResource
from orchestration.settings import PipelineSettings

DASHBOARDS_GROUP = "dashboards"


@dg.asset(
    key=["dashboards", "site"],
    group_name=DASHBOARDS_GROUP,
    kinds={"html", "plotly"},
    deps=[*mart_keys(), CHECK_RESULTS, ASSET_COSTS],
    # A reader: DuckDB refuses it while another process writes, so it queues with writers.
    pool=WAREHOUSE_POOL,
)
def dashboards_site(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Offline HTML pages (KPIs, funnel, cohorts, RFM, search, sellers, recommendations,
    audiences, data quality, pipeline cost) with one shared copy of Plotly's JavaScript;
    each chart names its source table, the data's latest date and when it was built."""
    refreshed_at = {}
    for key in context.assets_def.asset_deps[context.assets_def.key]:
        event = context.instance.get_latest_materialization_event(key)
        if event is not None:
            refreshed_at[".".join(key.path)] = datetime.fromtimestamp(event.timestamp, UTC)
    published = PipelineSettings().shop.resolved_home / "published"
    site = build_site(
        warehouse.path,
        published / "dashboards",
        audiences_dir=published / "audiences",
        refreshed_at=refreshed_at,
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(site.index)),
            "pages": len(site.pages) + 1,
            "charts": site.charts,
            "panels_without_data": site.empty,
        }
    )
