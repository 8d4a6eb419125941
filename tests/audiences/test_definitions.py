"""Audience definitions: the shipped files load and each rule picks exactly the customers
it describes on a hand-built warehouse; a bad file says clearly what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from audiences.definition import (
    MAX_MEMBERSHIP_TTL_DAYS,
    DefinitionError,
    load_definitions,
    load_file,
)
from audiences.membership import RuleError, identified_members, qualifying_ids
from tests.audiences import warehouse as wh

DEFINITIONS = load_definitions()


@pytest.fixture
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(":memory:")
    wh.build(connection)
    yield connection
    connection.close()


def members(conn: duckdb.DuckDBPyConnection, name: str) -> set[str]:
    return set(qualifying_ids(conn, DEFINITIONS[name], DEFINITIONS))


def test_the_issue_s_audiences_ship() -> None:
    expected = {
        "cart_abandoners", "high_value_at_risk", "lapsed_buyers", "signups_without_purchase",
        "askers_without_purchase", "top_seller_fans", "best_customer_lookalikes",
        "category_affinity_electronics", "category_affinity_home", "category_affinity_fashion",
    }  # fmt: skip
    assert expected <= set(DEFINITIONS)
    for definition in DEFINITIONS.values():
        assert definition.membership_ttl_days <= MAX_MEMBERSHIP_TTL_DAYS
        assert "{category}" not in (definition.sql or "") + definition.description


def test_cart_abandoners_carted_in_7_days_and_did_not_pay_since(conn) -> None:
    abandoner = wh.customer(conn)
    wh.interaction(conn, abandoner, wh.new_id(), days_ago=2, cart_adds=1)
    bought_after = wh.customer(conn)
    wh.interaction(conn, bought_after, wh.new_id(), days_ago=3, cart_adds=1)
    wh.order(conn, bought_after, days_ago=1)
    bought_before = wh.customer(conn)  # an older order does not settle a newer cart
    wh.interaction(conn, bought_before, wh.new_id(), days_ago=2, cart_adds=2)
    wh.order(conn, bought_before, days_ago=20)
    too_old = wh.customer(conn)
    wh.interaction(conn, too_old, wh.new_id(), days_ago=10, cart_adds=1)
    only_viewed = wh.customer(conn)
    wh.interaction(conn, only_viewed, wh.new_id(), days_ago=1)
    assert members(conn, "cart_abandoners") == {abandoner, bought_before}


def test_high_value_at_risk_is_high_monetary_low_recency(conn) -> None:
    rows = {"at_risk": (1, 3, 5), "recent": (5, 3, 5), "cheap": (1, 3, 2), "edge": (2, 1, 4)}
    ids = {}
    for label, (r, f, m) in rows.items():
        ids[label] = wh.customer(conn)
        conn.execute(
            "insert into marts.customer_rfm values (?, ?, ?, ?, 'x')", [ids[label], r, f, m]
        )
    assert members(conn, "high_value_at_risk") == {ids["at_risk"], ids["edge"]}


def test_lapsed_buyers_last_paid_over_180_days_ago(conn) -> None:
    lapsed = wh.customer(conn, orders_paid=2, last_order_days_ago=200)
    wh.customer(conn, orders_paid=1, last_order_days_ago=30)
    wh.customer(conn, orders_paid=0)
    assert members(conn, "lapsed_buyers") == {lapsed}


def test_signups_without_purchase_in_the_last_90_days(conn) -> None:
    recent = wh.customer(conn, signed_up_days_ago=10)
    wh.customer(conn, signed_up_days_ago=10, orders_paid=1, last_order_days_ago=2)
    wh.customer(conn, signed_up_days_ago=120)
    wh.customer(conn, signed_up_days_ago=0)  # signed up an hour ago: give them a day
    wh.customer(conn, signed_up_days_ago=10, role="seller")
    assert members(conn, "signups_without_purchase") == {recent}


def test_askers_who_did_not_buy_the_listing_they_asked_about(conn) -> None:
    listing, other = wh.new_id(), wh.new_id()
    asker, buyer, bought_other, old_asker = (wh.customer(conn) for _ in range(4))
    for who, days in ((asker, 5), (buyer, 5), (bought_other, 5), (old_asker, 45)):
        conn.execute(
            "insert into staging.stg_raw__questions values (?, ?, ?, ?)",
            [wh.new_id(), listing, who, wh.NOW - timedelta(days=days)],
        )
    wh.order(conn, buyer, days_ago=2, listing_id=listing)
    wh.order(conn, bought_other, days_ago=2, listing_id=other)
    assert members(conn, "askers_without_purchase") == {asker, bought_other}


def test_category_affinity_is_a_share_of_recent_interest(conn) -> None:
    phone = wh.product(conn, "electronics/phones/smartphones")
    sofa = wh.product(conn, "home/furniture")
    fan = wh.customer(conn)
    wh.interaction(conn, fan, phone, days_ago=3, weight=8.0)
    wh.interaction(conn, fan, sofa, days_ago=3, weight=10.0)
    dabbler = wh.customer(conn)  # 5 of 40 points: not drawn to electronics
    wh.interaction(conn, dabbler, phone, days_ago=3, weight=5.0)
    wh.interaction(conn, dabbler, sofa, days_ago=3, weight=35.0)
    stale = wh.customer(conn)
    wh.interaction(conn, stale, phone, days_ago=300, weight=50.0)
    assert members(conn, "category_affinity_electronics") == {fan}
    assert members(conn, "category_affinity_home") == {fan, dabbler}


def test_top_seller_fans_bought_twice_from_top_rated_sellers(conn) -> None:
    top, ordinary = wh.new_id(), wh.new_id()
    conn.execute(
        "insert into marts.seller_performance values (?, 40, 4.8), (?, 40, 3.9)", [top, ordinary]
    )
    fan, once, elsewhere = (wh.customer(conn) for _ in range(3))
    wh.order(conn, fan, days_ago=10, seller_id=top)
    wh.order(conn, fan, days_ago=100, seller_id=top)
    wh.order(conn, once, days_ago=10, seller_id=top)
    wh.order(conn, elsewhere, days_ago=10, seller_id=ordinary)
    wh.order(conn, elsewhere, days_ago=11, seller_id=ordinary)
    assert members(conn, "top_seller_fans") == {fan}


def test_members_need_both_consents_an_identifier_and_no_erasure(conn) -> None:
    definition = DEFINITIONS["lapsed_buyers"]
    ok = wh.customer(conn, orders_paid=1, last_order_days_ago=300, phone="+447911123456")
    wh.customer(conn, orders_paid=1, last_order_days_ago=300, consent=False)
    wh.customer(conn, orders_paid=1, last_order_days_ago=300, erased=True)
    ids = qualifying_ids(conn, definition)
    table = identified_members(conn, definition, ids)
    assert table["customer_id"].to_pylist() == [ok]
    assert table["phone_sha256"].null_count == 0  # lapsed_buyers uploads email and phone
    email_only = identified_members(conn, DEFINITIONS["signups_without_purchase"], ids)
    assert email_only["phone_sha256"].null_count == len(email_only)


def write(tmp_path: Path, text: str, name: str = "broken.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "description: Buyers of things we sell\nowner: me\n",
            "exactly one of sql, segment or lookalike",
        ),
        (
            "description: Buyers of things we sell\nowner: me\nsql: select 1\nsegment: x\n",
            "found: sql, segment",
        ),
        (
            "description: Buyers of things we sell\nowner: me\nsql: select 1\n"
            "membership_ttl_days: 600\n",
            "membership_ttl_days: Input should be less than or equal to 540",
        ),
        (
            "description: Buyers of things we sell\nowner: me\nsql: select 1\n"
            "refresh_cron: daily\n",
            "refresh_cron: Value error, 'daily' is not a five-field cron",
        ),
        (
            "description: Buyers of things we sell\nowner: me\nsql: select 1\n"
            "identifier_types: [email, fax]\n",
            "identifier_types.1: Input should be 'email' or 'phone'",
        ),
        (
            "description: Buyers of things we sell\nowner: me\nsql: select 1\n"
            "size_bounds: {min: 9, max: 3}\n",
            "max (3) is below min (9)",
        ),
        (
            "description: Buyers of things we sell\nowner: me\nlookalike: {size: 5}\n",
            "exactly one of seed_audience or seed_sql",
        ),
        ("description: Buyers\nowner: me\nsql: select 1\nowners: typo\n", "owners: Extra inputs"),
        ("- a list\n", "expected a mapping"),
        ("description: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_definitions_name_the_file_and_the_problem(tmp_path, body, message) -> None:
    with pytest.raises(DefinitionError) as error:
        load_file(write(tmp_path, body))
    assert str(error.value).startswith("broken.yml")
    assert message in str(error.value)


def test_a_lookalike_must_grow_from_a_known_audience(tmp_path) -> None:
    write(
        tmp_path,
        "description: Like the best ones we have\nowner: me\n"
        "lookalike: {seed_audience: nobody, size: 10}\n",
        "like.yml",
    )
    with pytest.raises(DefinitionError, match="seed_audience 'nobody' is not defined"):
        load_definitions(tmp_path)


def test_a_segment_audience_reads_the_profiles(conn, tmp_path) -> None:
    write(
        tmp_path,
        "description: The thrifty home buyers\nowner: me\nsegment: thrifty home\n",
        "thrifty.yml",
    )
    [definition] = load_definitions(tmp_path).values()
    inside, outside = wh.customer(conn), wh.customer(conn)
    conn.execute(
        "insert into profiles.customer_profiles values "
        "(?, 1, 'thrifty home', [1.0]), (?, 2, 'other', [0.0])",
        [inside, outside],
    )
    assert qualifying_ids(conn, definition) == [inside]


def test_the_definition_hash_follows_the_content_only() -> None:
    definition = DEFINITIONS["lapsed_buyers"]
    assert definition.definition_hash == definition.model_copy().definition_hash
    changed = definition.model_copy(update={"description": "Something else entirely"})
    assert changed.definition_hash != definition.definition_hash


def test_best_customer_lookalikes_grow_from_the_champions(conn) -> None:
    pytest.importorskip("ml.profiles.lookalike", reason="ml.profiles (the profiles branch) absent")
    champion, near, far = wh.customer(conn), wh.customer(conn), wh.customer(conn)
    conn.execute("insert into marts.customer_rfm values (?, 5, 5, 5, 'champions')", [champion])
    conn.execute(
        "insert into profiles.customer_profiles values "
        "(?, 1, 'a', [1.0, 0.0]), (?, 1, 'a', [0.9, 0.1]), (?, 2, 'b', [-1.0, 0.2])",
        [champion, near, far],
    )
    definition = DEFINITIONS["best_customer_lookalikes"].model_copy(
        update={
            "lookalike": DEFINITIONS["best_customer_lookalikes"].lookalike.model_copy(
                update={"size": 1}
            )
        }  # type: ignore[union-attr]
    )
    assert qualifying_ids(conn, definition) == [near]


def test_a_lookalike_without_profiles_says_what_is_missing(conn) -> None:
    conn.execute("drop table profiles.customer_profiles")
    champion = wh.customer(conn)
    conn.execute("insert into marts.customer_rfm values (?, 5, 5, 5, 'champions')", [champion])
    with pytest.raises(RuleError, match="best_customer_lookalikes: a lookalike needs the customer"):
        qualifying_ids(conn, DEFINITIONS["best_customer_lookalikes"])


def test_prepared_tables_need_table_names_and_an_sql_rule(tmp_path) -> None:
    bad_name = (
        "description: Buyers of things\nowner: me\nsql: select 1\nprepare: {Bad-Name: select 1}\n"
    )
    with pytest.raises(DefinitionError, match="'Bad-Name' is not a table name"):
        load_file(write(tmp_path, bad_name))
    no_sql = "description: Buyers of things\nowner: me\nsegment: x\nprepare: {t: select 1}\n"
    with pytest.raises(DefinitionError, match="prepare is only read by an sql rule"):
        load_file(write(tmp_path, no_sql))


def test_a_failing_prepared_table_names_the_audience(conn, tmp_path) -> None:
    text = (
        "description: Buyers of things\nowner: me\nsql: select * from t\n"
        "prepare: {t: select nope}\n"
    )
    [definition] = load_file(write(tmp_path, text, "nope.yml"))
    with pytest.raises(RuleError, match="audience nope: its prepared table t failed"):
        qualifying_ids(conn, definition)
