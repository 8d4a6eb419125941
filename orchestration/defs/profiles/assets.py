"""Customer profiles and segments (group ``profiles``), written to the warehouse's
``profiles`` schema. The work is ``ml.profiles``'s; these assets read the marts and the
published recommender, and write through the warehouse writer in one transaction each."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from ml.profiles import build_profiles, segment
from ml.profiles.embeddings import published_user_embeddings
from ml.profiles.inputs import READS, ProfileInputs, read_sql
from orchestration.defs.ml.assets import artifact_root
from orchestration.defs.policies import WAREHOUSE_POOL
from orchestration.defs.resources import WarehouseResource
from orchestration.loads.profiles import previous_segments, write_profiles, write_segments

PROFILES_GROUP = "profiles"
CUSTOMER_PROFILES = ["profiles", "customer_profiles"]
SEGMENTS = ["profiles", "segments"]
PUBLISHED_RECOMMENDER = ["ml", "published_recommender"]


def input_keys() -> list[list[str]]:
    """The asset keys of the marts (and staging views) the profiles read."""
    return [relation.split(".") for relation, _ in READS.values()]


def read_inputs(warehouse: WarehouseResource) -> ProfileInputs:
    with warehouse.reader() as conn:
        return ProfileInputs(**{name: conn.execute(read_sql(name)).df() for name in READS})


def propensity_table(metrics: dict) -> str:
    """Markdown: AUC, Brier and ECE of the model and the RFM baseline."""
    if metrics.get("status") != "trained":
        return f"not trained: {metrics.get('reason', 'unknown')}"
    lines = ["| model | auc | brier | ece |", "|---|---|---|---|"]
    for name in ("model", "rfm_baseline"):
        m = metrics[name]
        label = f"model ({metrics['family']})" if name == "model" else name
        lines.append(f"| {label} | {m['auc']:.4f} | {m['brier']:.4f} | {m['ece']:.4f} |")
    return "\n".join(lines)


@dg.asset(
    key=CUSTOMER_PROFILES,
    group_name=PROFILES_GROUP,
    kinds={"duckdb", "scikitlearn"},
    pool=WAREHOUSE_POOL,
    deps=[*input_keys(), PUBLISHED_RECOMMENDER],
)
def customer_profiles(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """One row per customer (erased ones left out) in ``profiles.customer_profiles``: RFM,
    lifetime value, category, price-band and seller affinities, the last time of each
    signal, the published recommender's user embedding (null when no model with
    embeddings is published or the model does not know the customer) and the 30-day
    purchase propensity, whose evaluation against an RFM-only baseline is in the metadata
    (null scores when the history is too short to train)."""
    started = time.perf_counter()
    inputs = read_inputs(warehouse)
    embeddings = published_user_embeddings(artifact_root())
    built = build_profiles(inputs, embeddings)
    with warehouse.writer() as conn:
        rows = write_profiles(conn, built.profiles)
    profiles = built.profiles
    metrics = built.propensity
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "as_of": str(built.as_of),
            "with_embedding": int(profiles["embedding"].notna().sum()),
            "embedding_version": embeddings.version if embeddings else "none",
            "propensity": dg.MetadataValue.md(propensity_table(metrics)),
            "propensity_metrics": dg.MetadataValue.json(metrics),
            "seconds": round(time.perf_counter() - started, 2),
        }
    )


@dg.asset(
    key=SEGMENTS,
    group_name=PROFILES_GROUP,
    kinds={"duckdb", "scikitlearn"},
    pool=WAREHOUSE_POOL,
    deps=[CUSTOMER_PROFILES],
)
def segments(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Segments of the profiles (k-means, named by their dominant traits), matched to the
    previous run's so ids and names stay put: this run's rows appended to
    ``profiles.segments`` and every customer's segment in ``profiles.customer_segments``."""
    with warehouse.reader() as conn:
        profiles = conn.execute("select * exclude (embedding) from profiles.customer_profiles").df()
        previous = previous_segments(conn)
    run = segment(profiles, previous)
    as_of = pd.Timestamp(profiles["as_of"].iloc[0]).to_pydatetime() if len(profiles) else None
    with warehouse.writer() as conn:
        write_segments(conn, run.segments, run.members, datetime.now(UTC), as_of)
    table = run.segments[["segment_id", "name", "size", "matched"]]
    lines = ["| segment_id | name | size | kept from the previous run |", "|---|---|---|---|"]
    lines += [f"| {r.segment_id} | {r.name} | {r.size} | {r.matched} |" for r in table.itertuples()]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(run.members),
            "segments": dg.MetadataValue.md("\n".join(lines)),
            "matched_previous": int(table["matched"].sum()),
            "new": int((~table["matched"]).sum()),
        }
    )
