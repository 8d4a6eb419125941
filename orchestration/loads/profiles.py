"""Write the ``profiles`` schema: customer profiles, segments and their members, each in
one transaction (a failure leaves the previous tables as they were). Plain functions on a
writer connection (``open_writer``); the Dagster assets in ``defs/profiles`` call them."""

from __future__ import annotations

from datetime import datetime

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

SCHEMA = "profiles"

# column -> DuckDB type of profiles.customer_profiles (the table's contract)
PROFILE_TYPES = {
    "customer_id": "VARCHAR",
    "as_of": "TIMESTAMPTZ",
    "signed_up_at": "TIMESTAMPTZ",
    "signup_channel": "VARCHAR",
    "region": "VARCHAR",
    "orders_paid": "BIGINT",
    "lifetime_value_minor": "BIGINT",
    "recency_days": "BIGINT",
    "recency_score": "INTEGER",
    "frequency_score": "INTEGER",
    "monetary_score": "INTEGER",
    "rfm_code": "VARCHAR",
    "rfm_segment": "VARCHAR",
    "top_category": "VARCHAR",
    "top_category_share": "DOUBLE",
    "category_shares": "JSON",
    "price_percentile": "DOUBLE",
    "price_band": "VARCHAR",
    "top_seller_id": "VARCHAR",
    "top_seller_share": "DOUBLE",
    "last_view_at": "TIMESTAMPTZ",
    "last_cart_at": "TIMESTAMPTZ",
    "last_purchase_at": "TIMESTAMPTZ",
    "last_search_at": "TIMESTAMPTZ",
    "last_question_at": "TIMESTAMPTZ",
    "last_review_at": "TIMESTAMPTZ",
    "sessions_30d": "BIGINT",
    "item_views_30d": "BIGINT",
    "cart_adds_30d": "BIGINT",
    "searches_30d": "BIGINT",
    "purchase_propensity_30d": "DOUBLE",
    "embedding": "FLOAT[]",
    "embedding_version": "VARCHAR",
}

SEGMENTS_DDL = f"""
create table if not exists {SCHEMA}.segments (
    run_at TIMESTAMPTZ not null,
    as_of TIMESTAMPTZ,
    segment_id INTEGER not null,
    name VARCHAR not null,
    size BIGINT not null,
    centroid DOUBLE[] not null,
    features VARCHAR[] not null,
    matched BOOLEAN not null,
    primary key (run_at, segment_id)
)
"""


def vector_array(values: pd.Series, kind: pa.DataType = pa.float32()) -> pa.Array:
    """A list column of equal-length vectors (numpy arrays or lists; None for null) as an
    Arrow list array, built from one flat buffer (no per-row Python lists)."""
    cells = values.to_numpy(dtype=object)
    present = pd.notna(values).to_numpy()
    flat = np.array(cells[present].tolist(), dtype=kind.to_pandas_dtype())
    width = flat.shape[1] if flat.ndim == 2 else 0
    offsets = np.concatenate([[0], np.cumsum(present.astype(np.int32) * width)]).astype(np.int32)
    return pa.ListArray.from_arrays(
        pa.array(offsets), pa.array(flat.reshape(-1)), mask=pa.array(~present)
    )


def _transaction(conn: duckdb.DuckDBPyConnection, statements: list[str]) -> None:
    conn.execute("begin transaction")
    try:
        for statement in statements:
            conn.execute(statement)
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise


def write_profiles(conn: duckdb.DuckDBPyConnection, profiles: pd.DataFrame) -> int:
    """Replace ``profiles.customer_profiles`` with ``profiles`` (``build_profiles`` rows)."""
    table = pa.table(
        {
            name: vector_array(profiles[name])
            if name == "embedding"
            else pa.Array.from_pandas(profiles[name])
            for name in PROFILE_TYPES
        }
    )
    select = ", ".join(
        f'cast("{name}" as {kind}) as "{name}"' for name, kind in PROFILE_TYPES.items()
    )
    conn.register("profiles_frame", table)
    try:
        _transaction(
            conn,
            [
                f"create schema if not exists {SCHEMA}",
                f"create or replace table {SCHEMA}.customer_profiles as "
                f"select {select} from profiles_frame",
            ],
        )
    finally:
        conn.unregister("profiles_frame")
    return len(profiles)


def previous_segments(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """The latest run's rows of ``profiles.segments``, or None before the first run."""
    [(exists,)] = conn.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = ? and table_name = 'segments'",
        [SCHEMA],
    ).fetchall()
    if not exists:
        return None
    frame = conn.execute(
        f"select segment_id, name, centroid, features from {SCHEMA}.segments "
        f"where run_at = (select max(run_at) from {SCHEMA}.segments) order by segment_id"
    ).df()
    return frame if len(frame) else None


def write_segments(
    conn: duckdb.DuckDBPyConnection,
    segments: pd.DataFrame,
    members: pd.DataFrame,
    run_at: datetime,
    as_of: datetime | None,
) -> None:
    """Append this run's segments to ``profiles.segments`` (kept: the next run matches
    against them) and replace ``profiles.customer_segments``, in one transaction."""
    frame = segments.drop(columns=["centroid", "features"])
    rows = pa.Table.from_pandas(frame, preserve_index=False)
    rows = rows.append_column("centroid", vector_array(segments["centroid"], pa.float64()))
    rows = rows.append_column(
        "features", pa.array(segments["features"].tolist(), type=pa.list_(pa.string()))
    )
    rows = rows.append_column("run_at", pa.array([run_at] * len(frame), pa.timestamp("us", "UTC")))
    rows = rows.append_column("as_of", pa.array([as_of] * len(frame), pa.timestamp("us", "UTC")))
    conn.register("segments_frame", rows)
    conn.register("members_frame", pa.Table.from_pandas(members, preserve_index=False))
    try:
        _transaction(
            conn,
            [
                f"create schema if not exists {SCHEMA}",
                SEGMENTS_DDL,
                f"insert into {SCHEMA}.segments by name select run_at, as_of, segment_id, "
                "name, size, centroid, features, matched from segments_frame",
                f"create or replace table {SCHEMA}.customer_segments as select "
                "cast(customer_id as varchar) as customer_id, "
                "cast(segment_id as integer) as segment_id, "
                "cast(segment_name as varchar) as segment_name from members_frame",
            ],
        )
    finally:
        conn.unregister("segments_frame")
        conn.unregister("members_frame")
