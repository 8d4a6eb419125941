"""Who is in an audience: a definition's rule run on the warehouse, then each member's
identifiers and consent from ``marts.dim_customers``.

The rule (SQL, segment or lookalike) only says who qualifies; consent, erasure and the
identifiers are applied here for every definition alike, so no definition can forget them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import duckdb
import pandas as pd
import pyarrow as pa

from audiences.definition import AudienceDefinition

CUSTOMER_ID = "customer_id"
EMAIL = "email_sha256"
PHONE = "phone_sha256"
MEMBER_COLUMNS = [CUSTOMER_ID, EMAIL, PHONE]
MEMBER_SCHEMA = pa.schema([(c, pa.string()) for c in MEMBER_COLUMNS])


def empty_members() -> pa.Table:
    return MEMBER_SCHEMA.empty_table()


PROFILES_TABLE = "profiles.customer_profiles"

LookalikeFn = Callable[[pd.DataFrame, Sequence[str], int], pd.DataFrame]


class RuleError(RuntimeError):
    """A definition's rule failed on the warehouse; the message names the audience."""


class PreparedTables:
    """The definitions' ``prepare`` tables for one refresh: DuckDB temporary tables, each
    built once and read by every audience naming it (rebuilt if a name's SQL differs),
    dropped by ``close``."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
        self.built: dict[str, str] = {}

    def ensure(self, definition: AudienceDefinition) -> None:
        for name, sql in definition.prepare.items():
            if self.built.get(name) == sql:
                continue
            try:
                self.conn.execute(f"create or replace temp table {name} as {sql}")
            except duckdb.Error as exc:
                raise RuleError(
                    f"audience {definition.name}: its prepared table {name} failed: {exc}"
                ) from exc
            self.built[name] = sql

    def close(self) -> None:
        for name in self.built:
            self.conn.execute(f"drop table if exists temp.main.{name}")
        self.built.clear()


def _ids(conn: duckdb.DuckDBPyConnection, name: str, sql: str) -> pa.Table:
    try:
        return conn.sql(
            f"select distinct cast(customer_id as varchar) as customer_id from ({sql}) "
            "where customer_id is not null"
        ).to_arrow_table()
    except duckdb.Error as exc:
        raise RuleError(f"audience {name}: its rule failed on the warehouse: {exc}") from exc


def default_lookalike() -> LookalikeFn:
    from ml.profiles.lookalike import lookalikes

    return lookalikes  # type: ignore[no-any-return]


def _id_table(ids: Sequence[str]) -> pa.Table:
    return pa.table({CUSTOMER_ID: pa.array(ids, pa.string())})


def qualifying_table(
    conn: duckdb.DuckDBPyConnection,
    definition: AudienceDefinition,
    definitions: dict[str, AudienceDefinition] | None = None,
    lookalike_fn: LookalikeFn | None = None,
    prepared: PreparedTables | None = None,
) -> pa.Table:
    """``customer_id`` (Arrow, distinct) of the customers the rule selects, before consent.
    ``prepared`` shares the ``prepare`` tables between the audiences of one refresh."""
    if definition.sql is not None:
        own = prepared is None
        tables = PreparedTables(conn) if prepared is None else prepared
        try:
            tables.ensure(definition)
            return _ids(conn, definition.name, definition.sql)
        finally:
            if own:
                tables.close()
    if definition.segment is not None:
        return conn.sql(
            f"select distinct cast(customer_id as varchar) as customer_id from {PROFILES_TABLE} "
            "where segment_name = ?",
            params=[definition.segment],
        ).to_arrow_table()
    spec = definition.lookalike
    assert spec is not None  # one rule is guaranteed by the model
    if spec.seed_sql is not None:
        seeds = _ids(conn, definition.name, spec.seed_sql)
    else:
        seed = (definitions or {}).get(spec.seed_audience or "")
        if seed is None:
            raise RuleError(f"audience {definition.name}: unknown seed {spec.seed_audience!r}")
        seeds = qualifying_table(conn, seed, definitions, lookalike_fn, prepared)
    if not len(seeds):
        return _id_table([])
    seed_ids = seeds[CUSTOMER_ID].to_pylist()
    try:
        # Arrow columns: the embeddings stacked as one matrix, no Python object per row
        profiles = (
            conn.sql(f"select customer_id, embedding from {PROFILES_TABLE}")
            .to_arrow_table()
            .to_pandas(types_mapper=pd.ArrowDtype)
        )
        nearest = (lookalike_fn or default_lookalike())(profiles, seed_ids, spec.size)
    except (duckdb.Error, ImportError) as exc:
        raise RuleError(
            f"audience {definition.name}: a lookalike needs the customer profiles "
            f"({PROFILES_TABLE}, ml.profiles): {exc}"
        ) from exc
    seed_set = set(seed_ids)
    return _id_table([c for c in nearest[CUSTOMER_ID].astype(str) if c not in seed_set])


def qualifying_ids(
    conn: duckdb.DuckDBPyConnection,
    definition: AudienceDefinition,
    definitions: dict[str, AudienceDefinition] | None = None,
    lookalike_fn: LookalikeFn | None = None,
) -> list[str]:
    """The customer ids the definition's rule selects, before consent."""
    ids: list[str] = qualifying_table(conn, definition, definitions, lookalike_fn)[
        CUSTOMER_ID
    ].to_pylist()
    return ids


ELIGIBLE_TABLE = "_audience_eligible"


def create_eligible(conn: duckdb.DuckDBPyConnection, consenting: pa.Table | None) -> str:
    """A temporary table of the customers any audience may hold: both ad consents in the
    warehouse (and in ``consenting``, the shop's consenting ids, when given), not erased,
    with an identifier, numbered in ``customer_id`` order (members are sorted by that
    integer, not the string). Built once per refresh, joined by every audience; returns
    its name."""
    shop = ""
    if consenting is not None:
        conn.register("_shop_consenting", consenting)
        shop = "inner join _shop_consenting as shop on shop.customer_id = customers.customer_id"
    try:
        conn.execute(
            f"""
            create or replace temp table {ELIGIBLE_TABLE} as
            select
                cast(customers.customer_id as varchar) as customer_id,
                cast(customers.email_sha256 as varchar) as email_sha256,
                cast(customers.phone_sha256 as varchar) as phone_sha256,
                row_number() over (order by cast(customers.customer_id as varchar)) as position
            from marts.dim_customers as customers
            {shop}
            where customers.has_ad_user_data_consent
                and customers.has_ad_personalization_consent
                and not customers.is_erased
                and (customers.email_sha256 is not null or customers.phone_sha256 is not null)
            """
        )
    finally:
        if consenting is not None:
            conn.unregister("_shop_consenting")
    return ELIGIBLE_TABLE


def drop_eligible(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(f"drop table if exists temp.main.{ELIGIBLE_TABLE}")


def identified_members(
    conn: duckdb.DuckDBPyConnection,
    definition: AudienceDefinition,
    ids: Sequence[str] | pa.Table,
    consenting: pa.Table | None = None,
    *,
    eligible: str | None = None,
) -> pa.Table:
    """``customer_id, email_sha256, phone_sha256`` (Arrow) of the qualifying customers whose
    consent to both ad purposes holds in the warehouse (and in ``consenting``, the shop's
    consenting ids, when given), who are not erased and who have an identifier of the
    definition's types (the others are left empty). ``eligible`` names a table from
    ``create_eligible`` (then ``consenting`` is already applied)."""
    if eligible is None:
        try:
            return identified_members(
                conn, definition, ids, eligible=create_eligible(conn, consenting)
            )
        finally:
            drop_eligible(conn)
    table = ids if isinstance(ids, pa.Table) else _id_table(ids)
    conn.register("_audience_ids", table.select([CUSTOMER_ID]))
    try:
        email = "eligible.email_sha256" if "email" in definition.identifier_types else "null"
        phone = "eligible.phone_sha256" if "phone" in definition.identifier_types else "null"
        members = conn.sql(
            f"""
            select * from (
                select
                    eligible.customer_id,
                    cast({email} as varchar) as email_sha256,
                    cast({phone} as varchar) as phone_sha256,
                    eligible.position
                from {eligible} as eligible
                semi join _audience_ids as ids on ids.customer_id = eligible.customer_id
            )
            where email_sha256 is not null or phone_sha256 is not null
            order by position
            """
        ).to_arrow_table()
    finally:
        conn.unregister("_audience_ids")
    return members.select(MEMBER_COLUMNS).cast(MEMBER_SCHEMA)
