"""The audience assets: one per definition, made by one multi-asset that runs any subset
of them with the shop's consent read once, with lineage to what they read, a schedule
from each refresh cron, and a publication whose size drop fails the blocking check."""

from __future__ import annotations

import uuid

import dagster as dg
import duckdb
import pytest
from sqlalchemy import update

from audiences.definition import load_definitions
from audiences.publication import read_latest, read_manifest
from orchestration.defs.audiences import assets as assets_module
from orchestration.defs.audiences.assets import (
    AUDIENCES_GROUP,
    DROP_CHECK,
    SIZE_CHECK,
    audience_key,
    audiences,
    build_audience_assets,
)
from orchestration.defs.resources import ShopDatabaseResource, WarehouseResource, resources
from shop_api.core.db import create_db_engine, create_session_factory
from shop_api.core.migrations import upgrade_to_head
from shop_api.models.user import User, UserRole
from tests.audiences import warehouse as wh

DEFINITIONS = load_definitions()


def test_one_asset_and_schedule_per_definition_with_lineage() -> None:
    defs = dg.Definitions.merge(audiences(), resources())
    graph = defs.resolve_asset_graph()
    keys = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == AUDIENCES_GROUP}
    assert keys == {audience_key(name) for name in DEFINITIONS}
    cart = graph.get(audience_key("cart_abandoners"))
    assert {k.to_user_string() for k in cart.parent_keys} == {
        "marts/dim_customers", "marts/interactions", "marts/fct_orders",
    }  # fmt: skip
    schedules = {s.name: s.cron_schedule for s in defs.schedules or []}
    assert schedules["audience_cart_abandoners"] == "15 * * * *"
    assert len(schedules) == len(DEFINITIONS)
    [assets] = audiences().assets or []
    assert isinstance(assets, dg.AssetsDefinition) and assets.can_subset
    assert set(assets.keys) == keys


def shop_user(session_factory, consent: bool) -> str:  # type: ignore[no-untyped-def]
    with session_factory() as session:
        user = User(
            email=f"{uuid.uuid4().hex}@example.com", display_name="x", role=UserRole.shopper
        )
        user.ad_user_data_consent = user.ad_personalization_consent = consent
        session.add(user)
        session.commit()
        return str(user.id)


@pytest.fixture
def shop(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A shop database and warehouse under ``tmp_path`` (the audiences' home), and the
    resources the assets use."""
    monkeypatch.setenv("MERCADO_HOME", str(tmp_path))
    shop_url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade_to_head(shop_url)
    engine = create_db_engine(shop_url, pool_size=1)
    warehouse_path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse_path)) as conn:
        wh.build(conn)
    yield (
        create_session_factory(engine),
        warehouse_path,
        {
            "warehouse": WarehouseResource(database=str(warehouse_path)),
            "shop_db": ShopDatabaseResource(url=shop_url),
        },
    )
    engine.dispose()


def test_a_size_drop_fails_the_blocking_check_and_leaves_latest(shop, tmp_path) -> None:
    sessions, warehouse_path, resources = shop
    ids = [shop_user(sessions, consent=True) for _ in range(4)]
    with duckdb.connect(str(warehouse_path)) as conn:
        for customer_id in ids:
            wh.customer(conn, customer_id=customer_id, orders_paid=1, last_order_days_ago=365)
    assets = build_audience_assets(DEFINITIONS)
    lapsed = [audience_key("lapsed_buyers")]
    first = dg.materialize([assets], selection=lapsed, resources=resources, raise_on_error=False)
    assert first.success
    [materialization] = first.get_asset_materialization_events()
    assert materialization.asset_key == lapsed[0]
    assert materialization.materialization.metadata["members"].value == 4
    folder = tmp_path / "published" / "audiences" / "lapsed_buyers"
    released = read_latest(folder)
    assert read_manifest(folder, str(released))["counts"]["members"] == 4
    # three withdraw in the shop after the warehouse was loaded
    with sessions() as session:
        session.execute(
            update(User)
            .where(User.id.in_([uuid.UUID(i) for i in ids[:3]]))
            .values(ad_user_data_consent=False)
        )
        session.commit()
    second = dg.materialize([assets], selection=lapsed, resources=resources, raise_on_error=False)
    checks = {e.check_name: e for e in second.get_asset_check_evaluations()}
    assert not checks[DROP_CHECK].passed and checks[SIZE_CHECK].passed
    assert "fell from 4 to 1" in str(checks[DROP_CHECK].metadata["reason"].value)
    assert read_latest(folder) == released
    blocked = sorted(p.name for p in folder.iterdir() if p.name not in {"LATEST", released})
    assert read_manifest(folder, blocked[-1])["status"] == "blocked"


def test_audiences_of_one_run_share_one_consent_read(shop, tmp_path, monkeypatch) -> None:
    sessions, warehouse_path, resources = shop
    buyer, newcomer = (shop_user(sessions, consent=True) for _ in range(2))
    with duckdb.connect(str(warehouse_path)) as conn:
        wh.customer(conn, customer_id=buyer, orders_paid=1, last_order_days_ago=365)
        wh.customer(conn, customer_id=newcomer, signed_up_days_ago=10)
    reads = []
    real = assets_module.read_consent
    monkeypatch.setattr(assets_module, "read_consent", lambda e: reads.append(e) or real(e))
    chosen = [audience_key("lapsed_buyers"), audience_key("signups_without_purchase")]

    result = dg.materialize(
        [build_audience_assets(DEFINITIONS)], selection=chosen, resources=resources
    )

    members = {
        event.asset_key: event.materialization.metadata["members"].value
        for event in result.get_asset_materialization_events()
    }
    assert members == {chosen[0]: 1, chosen[1]: 1}
    assert len(reads) == 1
    checks = {(e.asset_key, e.check_name) for e in result.get_asset_check_evaluations()}
    assert checks == {(key, name) for key in chosen for name in (SIZE_CHECK, DROP_CHECK)}
    published = tmp_path / "published" / "audiences"
    assert sorted(p.name for p in published.iterdir()) == sorted(k.path[-1] for k in chosen)


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_every_definition_declares_a_size_check_and_the_blocking_drop_check(name) -> None:
    assets = build_audience_assets(DEFINITIONS)
    specs = {spec.name: spec for spec in assets.check_specs if spec.asset_key == audience_key(name)}
    assert set(specs) == {SIZE_CHECK, DROP_CHECK}
    assert specs[DROP_CHECK].blocking and not specs[SIZE_CHECK].blocking
