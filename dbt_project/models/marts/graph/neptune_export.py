"""Write the graph marts as Amazon Neptune bulk-load (Gremlin) CSV files.

Files: <graph_export_dir>/vertices.csv and <graph_export_dir>/edges.csv, where
graph_export_dir is the project var (default $MERCADO_HOME/exports/graph). The model's own
table is a one-row-per-file manifest (path, rows) so the export is visible in lineage and docs.
"""

import os


def model(dbt, session):
    dbt.config(materialized="table")
    export_dir = dbt.config.get("graph_export_dir")
    os.makedirs(export_dir, exist_ok=True)
    manifest = []
    for name, relation in (
        ("vertices", dbt.ref("neptune_vertices")),
        ("edges", dbt.ref("neptune_edges")),
    ):
        path = os.path.join(export_dir, f"{name}.csv")
        tmp = path + ".tmp"
        relation.order("1").write_csv(tmp, header=True)
        os.replace(tmp, path)
        manifest.append((name, os.path.abspath(path), relation.count("*").fetchall()[0][0]))
    values = ", ".join(f"('{n}', '{p}', {r})" for n, p, r in manifest)
    return session.sql(f"select * from (values {values}) as files(file_kind, file_path, row_count)")
