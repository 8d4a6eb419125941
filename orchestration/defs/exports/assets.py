"""Exports of marts to other systems: the Amazon Neptune bulk-load files
(``orchestration.graph_export``), under ``$MERCADO_HOME/exports/graph``."""

import dagster as dg

from orchestration.defs.policies import WAREHOUSE_POOL
from orchestration.defs.resources import WarehouseResource
from orchestration.graph_export import NEPTUNE_FILES, write_neptune_files
from orchestration.settings import PipelineSettings

EXPORTS_GROUP = "exports"


@dg.asset(
    key=["exports", "neptune_graph"],
    group_name=EXPORTS_GROUP,
    kinds={"csv", "neptune"},
    deps=[dg.AssetKey(table.split(".")) for table in NEPTUNE_FILES.values()],
    # A reader: DuckDB refuses it while another process writes, so it queues with writers.
    pool=WAREHOUSE_POOL,
)
def neptune_graph(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The marketplace graph (buyers, sellers, products, questions, reviews and their
    edges) as Neptune Gremlin bulk-load CSV files: vertices.csv and edges.csv."""
    directory = PipelineSettings().resolved_graph_export_dir
    with warehouse.reader() as conn:
        files = write_neptune_files(conn, directory)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(directory)),
            "dagster/row_count": sum(file.rows for file in files),
            **{f"{file.kind}_rows": file.rows for file in files},
        }
    )
