"""Audience publication benchmark: every shipped audience over synthetic marts.

A temporary DuckDB warehouse gets the tables the definitions read, generated in SQL for
``--customers`` accounts (default 1,000,000): ``marts.dim_customers`` (85% consent to
both ad purposes, 30% with a phone, 0.5% erased), ``customer_rfm`` (the buyers),
``interactions`` (``--interactions-per-customer`` rows over 180 days, 10% with cart adds),
``fct_orders``/``fct_order_items``, ``dim_products`` (50,000 listings in the shop's ten
top categories), ``seller_performance``, ``staging.stg_raw__questions`` and, when
``ml.profiles`` is installed, ``profiles.customer_profiles`` (32-dimensional embeddings)
for the lookalike audience (without it that audience is skipped, and said). The shop's
consent is read with ``audiences.consent.read_consent`` from a SQLite ``users`` table of
the same accounts.

Measured (wall and CPU seconds): ``ml.profiles.build.build_profiles`` on that package's
own synthetic inputs for as many customers (features, propensity model, segments' inputs;
no embeddings), reading the shop's consent, then every audience refreshed in one
``audiences.refresh.refresh_run`` (its shared setup: erased customers and the consenting
customers' identifiers; then per audience: rule, identifiers, files, membership record)
twice: the first publication, and a second after 1% of the consenting accounts withdrew
(a delta with removes). Generation is not timed. Prints figures, never asserts; target:
profiles and every audience published over 1M customers in < 60 s on this machine.

    .venv/bin/python bench/audiences.py [--json out.json]
    .venv/bin/python bench/audiences.py --customers 100000 --keep --skip-profiles-build
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would hide
# the ``audiences`` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.append(str(Path(__file__).resolve().parent))  # figures.py, after the packages

import duckdb  # noqa: E402
from figures import Figure, measured, write_figures  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402

from audiences.consent import ConsentSnapshot, read_consent  # noqa: E402
from audiences.definition import load_definitions  # noqa: E402
from audiences.refresh import refresh_run  # noqa: E402
from shop_api.models.user import User  # noqa: E402

CATEGORIES = [
    "electronics", "home", "fashion", "health-beauty", "sports",
    "toys-baby", "books-media", "auto", "pet-shop", "office",
]  # fmt: skip


def build_marts(conn: duckdb.DuckDBPyConnection, customers: int, per_customer: int) -> None:
    categories = "[" + ", ".join(f"'{c}'" for c in CATEGORIES) + "]"
    conn.execute(
        f"""
        create schema marts; create schema staging;
        create table marts.dim_customers as
        select
            uuid() as customer_id0, i, 'shopper' as role,
            i % 200 = 7 as is_erased,
            i % 100 < 85 as consent,
            now()::timestamp - to_days((i % 700)::int) as signed_up_at,
            (i % 5 <> 0)::int * (1 + i % 7) as orders_paid,
            now()::timestamp - to_days((i * 37 % 600)::int) as last_order_at
        from range({customers}) t(i);
        alter table marts.dim_customers rename customer_id0 to customer_id;
        create or replace table marts.dim_customers as
        select customer_id::varchar as customer_id, role, is_erased,
            case when is_erased then null else 'c' || i || '@example.com' end as email,
            case when is_erased then null else sha256('c' || i || '@example.com') end
                as email_sha256,
            case when is_erased or i % 10 >= 3 then null
                 else sha256('+4477009' || lpad((i % 100000)::varchar, 5, '0') || (i % 10)) end
                as phone_sha256,
            consent and not is_erased as has_ad_user_data_consent,
            consent and not is_erased as has_ad_personalization_consent,
            consent and not is_erased as has_marketing_consent,
            orders_paid,
            case when orders_paid > 0 then last_order_at end as last_order_at,
            signed_up_at, i
        from marts.dim_customers;
        create table marts.customer_rfm as
        select customer_id, 1 + i % 5 as recency_score, 1 + (i // 5) % 5 as frequency_score,
            1 + (i // 25) % 5 as monetary_score,
            case when i % 125 < 8 then 'champions' else 'other' end as rfm_segment
        from marts.dim_customers where orders_paid > 0;
        create table marts.dim_products as
        select uuid()::varchar as product_id, 'seller-' || (i % 2000) as seller_id,
            {categories}[1 + i % 10] || '/leaf' || (i % 4) as category_path, i
        from range(50000) t(i);
        create table marts.seller_performance as
        select 'seller-' || i as seller_id, 5 + i % 40 as review_count,
            3.0 + (i % 21) / 10.0 as average_rating
        from range(2000) t(i);
        create table marts.interactions as
        with pairs as (
            select c.customer_id, c.i, k,
                (c.i * 31 + k * 7 + (c.i % 10) * (k % 3)) % 50000 as product_i
            from marts.dim_customers as c cross join range({per_customer}) as r(k)
        )
        select pairs.customer_id as user_key, pairs.customer_id as user_id, p.product_id,
            (current_date - ((pairs.i * 7 + k * 13) % 180)::int) as interaction_date,
            1 as views, ((pairs.i + k) % 10 = 0)::int as cart_adds, 0 as units_purchased,
            1.0 + (k % 4) * 2 as interaction_weight
        from pairs join marts.dim_products as p on p.i = pairs.product_i;
        create table marts.fct_orders as
        select uuid()::varchar as order_id, customer_id as buyer_id, true as is_paid,
            (last_order_at - to_days((k * 40)::int))::date as order_date, i, k
        from marts.dim_customers, range(2) r(k) where orders_paid > k;
        create table marts.fct_order_items as
        select uuid()::varchar as order_item_id, o.order_id, p.product_id as listing_id,
            p.seller_id, o.buyer_id, true as is_paid, o.order_date::timestamp as paid_at
        from (select *, (i * 17 + k) % 50000 as product_i from marts.fct_orders) as o
        join marts.dim_products as p on p.i = o.product_i;
        create table staging.stg_raw__questions as
        select uuid()::varchar as question_id, p.product_id as listing_id,
            c.customer_id as asker_id, now()::timestamp - to_days((c.i % 60)::int) as asked_at
        from (select *, i % 50000 as product_i from marts.dim_customers where i % 5 = 1) as c
        join marts.dim_products as p on p.i = c.product_i;
        """
    )


def build_profiles_table(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(
        """
        create schema profiles;
        create table profiles.customer_profiles as
        select customer_id, i % 8 as segment_id, 'segment ' || (i % 8) as segment_name,
            list_transform(range(32), lambda d: sin(i * 0.001 + d)::float) as embedding
        from marts.dim_customers
        """
    )


def build_shop(path: Path, conn: duckdb.DuckDBPyConnection) -> None:
    """A SQLite shop whose ``users`` are the warehouse's accounts (consent as there),
    written with ``sqlite3`` in the layout SQLAlchemy gives it (ids as 32 hex digits)."""
    engine = create_engine(f"sqlite:///{path}")
    User.__table__.create(engine)
    engine.dispose()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    names = [
        "id", "email", "display_name", "role", "is_active", "token_version",
        "personalised_recommendations", "erased_at", "created_at", "modified_at",
        "ad_user_data_consent", "ad_personalization_consent",
    ]  # fmt: skip
    rows = (
        (
            customer_id.replace("-", ""),
            f"{customer_id}@example.com",
            "x",
            "shopper",
            1,
            0,
            1,
            now if erased else None,
            now,
            now,
            int(consent),
            int(consent),
        )
        for customer_id, consent, erased in conn.execute(
            "select customer_id, has_ad_user_data_consent, is_erased from marts.dim_customers"
        ).fetchall()
    )
    with sqlite3.connect(path) as shop:
        shop.executemany(
            f"insert into users ({', '.join(names)}) values ({', '.join('?' * len(names))})",
            rows,
        )


def timed(label: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


TARGET_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--interactions-per-customer", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--skip-profiles-build",
        action="store_true",
        help="do not time ml.profiles.build_profiles (the audiences' figures only)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mercado-bench-audiences-"))
    print(f"data in {work}")
    conn = duckdb.connect(str(work / "warehouse.duckdb"))
    started = time.perf_counter()
    build_marts(conn, args.customers, args.interactions_per_customer)
    profiles = importlib.util.find_spec("ml.profiles") is not None
    definitions = load_definitions()
    if profiles:
        build_profiles_table(conn)
    else:
        definitions = {n: d for n, d in definitions.items() if d.lookalike is None}
        print("ml.profiles is not installed: lookalike audiences are skipped")
    build_shop(work / "shop.db", conn)
    print(f"generated {args.customers:,} customers in {time.perf_counter() - started:.1f} s")
    steps: dict[str, tuple[float, float]] = {}
    if profiles and not args.skip_profiles_build:
        from ml.profiles.build import build_profiles
        from ml.profiles.synthetic import synthetic_inputs

        inputs = synthetic_inputs(args.customers)
        built, wall, cpu = timed("profiles", build_profiles, inputs)
        steps["profiles"] = (wall, cpu)
        print(f"{'profiles (ml.profiles, its synthetic inputs)':<40} {wall:7.2f} s wall "
              f"{cpu:7.2f} s cpu ({len(built.profiles):,} rows)")  # fmt: skip
        del inputs, built
    engine = create_engine(f"sqlite:///{work / 'shop.db'}")
    consent, wall, cpu = timed("consent", read_consent, engine)
    steps["consent"] = (wall, cpu)
    print(f"{'read shop consent':<40} {wall:7.2f} s wall {cpu:7.2f} s cpu")
    root = work / "published" / "audiences"
    withdrawn = frozenset(sorted(consent.consenting)[: len(consent.consenting) // 100])
    later = ConsentSnapshot(consent.consenting - withdrawn, consent.erased)
    print(f"{'audience':<40} {'run':<6} {'members':>9} {'adds':>9} {'removes':>8} "
          f"{'wall s':>7} {'cpu s':>7}")  # fmt: skip
    for run, snapshot in (("first", consent), ("delta", later)):
        now = datetime.now(UTC) + (timedelta(seconds=1) if run == "delta" else timedelta(0))
        run_wall, run_cpu = time.perf_counter(), time.process_time()
        with refresh_run(conn, root, snapshot, definitions=definitions) as refresher:
            wall, cpu = time.perf_counter() - run_wall, time.process_time() - run_cpu
            print(f"{'(shared: erased, eligible customers)':<40} {run:<6} {'':>28} "
                  f"{wall:7.2f} {cpu:7.2f}")  # fmt: skip
            for name, definition in definitions.items():
                refresh, wall, cpu = timed(name, refresher.refresh, definition, now=now)
                c = refresh.publication.counts
                print(f"{name:<40} {run:<6} {c['members']:>9,} {c['adds']:>9,} "
                      f"{c['removes']:>8,} {wall:7.2f} {cpu:7.2f}")  # fmt: skip
        steps[run] = (time.perf_counter() - run_wall, time.process_time() - run_cpu)
        print(f"{'all ' + str(len(definitions)) + ' audiences':<40} {run:<6} {'':>28} "
              f"{steps[run][0]:7.2f} {steps[run][1]:7.2f}")  # fmt: skip
    once = [s for s in ("profiles", "consent", "first") if s in steps]
    total_wall = sum(steps[s][0] for s in once)
    total_cpu = sum(steps[s][1] for s in once)
    print(f"total ({', '.join(once)}): {total_wall:.1f} s wall, {total_cpu:.1f} s cpu "
          f"(target: < {TARGET_S:g} s for profiles and every audience over 1M)")  # fmt: skip
    conn.close()
    engine.dispose()
    if args.json:
        figures: list[Figure] = []
        for step, (wall, cpu) in steps.items():
            figures.append(measured(f"{step} wall", wall, "s"))
            figures.append(measured(f"{step} CPU", cpu, "s"))
        figures.append(measured(f"{' + '.join(once)} wall", total_wall, "s", below=TARGET_S))
        write_figures(args.json, figures, customers=args.customers, audiences=len(definitions))
        print(f"figures written to {args.json}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
