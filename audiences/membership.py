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


def _ids(conn: duckdb.DuckDBPyConnection, name: str, sql: str) -> list[str]:
    try:
        frame = conn.execute(
            f"select distinct cast(customer_id as varchar) from ({sql})"
        ).fetchall()
    except duckdb.Error as exc:
        raise RuleError(f"audience {name}: its rule failed on the warehouse: {exc}") from exc
    return [row[0] for row in frame if row[0] is not None]


def default_lookalike() -> LookalikeFn:
    from ml.profiles.lookalike import lookalikes

    return lookalikes  # type: ignore[no-any-return]


def qualifying_ids(
    conn: duckdb.DuckDBPyConnection,
    definition: AudienceDefinition,
    definitions: dict[str, AudienceDefinition] | None = None,
    lookalike_fn: LookalikeFn | None = None,
) -> list[str]:
    """The customer ids the definition's rule selects, before consent."""
    if definition.sql is not None:
        return _ids(conn, definition.name, definition.sql)
    if definition.segment is not None:
        return [
            row[0]
            for row in conn.execute(
                f"select distinct cast(customer_id as varchar) from {PROFILES_TABLE} "
                "where segment_name = ?",
                [definition.segment],
            ).fetchall()
        ]
    spec = definition.lookalike
    assert spec is not None  # one rule is guaranteed by the model
    if spec.seed_sql is not None:
        seeds = _ids(conn, definition.name, spec.seed_sql)
    else:
        seed = (definitions or {}).get(spec.seed_audience or "")
        if seed is None:
            raise RuleError(f"audience {definition.name}: unknown seed {spec.seed_audience!r}")
        seeds = qualifying_ids(conn, seed, definitions, lookalike_fn)
    if not seeds:
        return []
    try:
        profiles = conn.execute(f"select customer_id, embedding from {PROFILES_TABLE}").df()
        nearest = (lookalike_fn or default_lookalike())(profiles, seeds, spec.size)
    except (duckdb.Error, ImportError) as exc:
        raise RuleError(
            f"audience {definition.name}: a lookalike needs the customer profiles "
            f"({PROFILES_TABLE}, ml.profiles): {exc}"
        ) from exc
    seed_set = set(seeds)
    return [c for c in nearest[CUSTOMER_ID].astype(str) if c not in seed_set]


def identified_members(
    conn: duckdb.DuckDBPyConnection,
    definition: AudienceDefinition,
    ids: Sequence[str],
    consenting: pa.Table | None = None,
) -> pa.Table:
    """``customer_id, email_sha256, phone_sha256`` (Arrow) of the qualifying customers whose
    consent to both ad purposes holds in the warehouse (and in ``consenting``, the shop's
    consenting ids, when given), who are not erased and who have an identifier of the
    definition's types (the others are left empty)."""
    conn.register("_audience_ids", pa.table({CUSTOMER_ID: pa.array(ids, pa.string())}))
    shop = ""
    if consenting is not None:
        conn.register("_shop_consenting", consenting)
        shop = "inner join _shop_consenting as shop on shop.customer_id = customers.customer_id"
    try:
        email = "customers.email_sha256" if "email" in definition.identifier_types else "null"
        phone = "customers.phone_sha256" if "phone" in definition.identifier_types else "null"
        members = conn.sql(
            f"""
            select * from (
                select
                    customers.customer_id,
                    cast({email} as varchar) as email_sha256,
                    cast({phone} as varchar) as phone_sha256
                from marts.dim_customers as customers
                inner join _audience_ids as ids on ids.customer_id = customers.customer_id
                {shop}
                where customers.has_ad_user_data_consent
                    and customers.has_ad_personalization_consent
                    and not customers.is_erased
            )
            where email_sha256 is not null or phone_sha256 is not null
            order by customer_id
            """
        ).to_arrow_table()
    finally:
        conn.unregister("_audience_ids")
        if consenting is not None:
            conn.unregister("_shop_consenting")
    return members.select(MEMBER_COLUMNS).cast(MEMBER_SCHEMA)
