"""The simulator: determinism, ground truth, and that what it makes looks like shopping.

Three small simulations run once per module against the real in-process shop and its
real ``/collect``: two with the same seed and one with another. The shop assigns random
ids (users, listings, orders), so events are compared after mapping those ids to the
simulator's own keys (``sim/id_map.csv``); the collector's ``received_at`` and the
outbox's own event ids are left out.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from sqlalchemy import create_engine, func, select

from shop_api.models import Order, User, UserRole
from shop_api.tracking.lake import EVENTS, EVENTS_BAD, LandingZone
from simulator.behaviour import Behaviour
from simulator.calendar import black_friday, day_multiplier
from simulator.driver import RunReport, SimulationConfig, Simulator
from simulator.population import PopulationConfig, make_population
from simulator.tag import EventSink
from simulator.truth import read_truth
from simulator.vocabulary import NO_RESULT_QUERIES, VOCABULARY

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Small, but busy enough to buy: 40 shoppers visiting about 1.5 times a day for 4 days.
SMALL = {"shoppers": 40, "days": 4, "sellers": 6, "visit_rate": 1.5}
# In the future, so the shop's clock (not the wall clock) must govern tokens.
START = date(2031, 3, 3)


@dataclass
class Run:
    home: Path
    report: RunReport
    events: list[dict[str, Any]]
    ids: dict[str, tuple[str, str]]  # shop id -> (kind, simulator key)

    @property
    def truth(self) -> Path:
        return self.home / "sim" / "truth"

    def canonical(self) -> Counter[str]:
        """The events as a multiset, shop ids replaced by simulator keys."""
        return Counter(canonical_event(event, self.ids) for event in self.events)

    def orders_by_status(self) -> dict[str, int]:
        engine = create_engine(f"sqlite:///{self.home / 'shop.db'}")
        with engine.connect() as connection:
            rows = connection.execute(
                select(Order.status, func.count()).group_by(Order.status)
            ).all()
        engine.dispose()
        return {str(status): count for status, count in rows}


def canonical_event(event: dict[str, Any], ids: dict[str, tuple[str, str]]) -> str:
    """One event with the shop's random ids replaced by simulator keys (or a placeholder).

    The simulator's own ids (event, client and session ids) are kept as they are. The
    shop's server-side copies lose what the shop makes at random: outbox event ids, and
    the order of an order's items (and so their ``index``), which follows random ids."""
    own = {key: event.get(key) for key in ("event_id", "client_id", "session_id")}
    rest = {key: value for key, value in event.items() if key not in own and key != "received_at"}

    def key(match: re.Match[str]) -> str:
        found = ids.get(match.group(0))
        return f"<{found[0]}:{found[1]}>" if found else "<shop-id>"  # e.g. refund ids

    rest = json.loads(UUID.sub(key, json.dumps(rest)))
    if (rest.get("context") or {}).get("source") == "server":
        own["event_id"] = None
        items = [{k: v for k, v in item.items() if k != "index"} for item in rest["items"]]
        rest["items"] = sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    client = own["client_id"] or ""
    if client.startswith("srv-") and event.get("user_id") in ids:  # a user's pseudonym
        own["client_id"] = "srv-" + ids[event["user_id"]][1]
    return json.dumps({**own, **rest}, sort_keys=True)


def simulate(home: Path, seed: int, **overrides: Any) -> Run:
    options = {**SMALL, **overrides}
    config = SimulationConfig(seed=seed, start=START, home=home, strict=True, **options)
    report = Simulator(config).run()
    zone = LandingZone(home / "lake")
    assert not list(zone.read(EVENTS_BAD)), list(zone.read(EVENTS_BAD))[:3]
    with (home / "sim" / "id_map.csv").open() as handle:
        ids = {row["shop_id"]: (row["kind"], row["key"]) for row in csv.DictReader(handle)}
    return Run(home, report, list(zone.read(EVENTS)), ids)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    return {
        "first": simulate(tmp_path_factory.mktemp("sim-a"), seed=11),
        "again": simulate(tmp_path_factory.mktemp("sim-b"), seed=11),
        "other": simulate(tmp_path_factory.mktemp("sim-c"), seed=12),
    }


@pytest.fixture(scope="module")
def run(runs: dict[str, Run]) -> Run:
    return runs["first"]


# --- determinism ---------------------------------------------------------------------


def test_the_same_seed_writes_byte_identical_ground_truth(runs: dict[str, Run]) -> None:
    first, again = runs["first"].truth, runs["again"].truth
    names = sorted(path.name for path in first.iterdir())
    assert names == ["items.csv", "manifest.json", "sellers.csv", "shoppers.csv"]
    for name in names:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name


def test_the_same_seed_makes_the_same_events_and_orders(runs: dict[str, Run]) -> None:
    first, again = runs["first"], runs["again"]
    assert len(first.events) == len(again.events) > 1000
    assert first.canonical() == again.canonical()
    assert first.orders_by_status() == again.orders_by_status()
    assert first.report.stats == again.report.stats


def test_another_seed_makes_another_simulation(runs: dict[str, Run]) -> None:
    first, other = runs["first"], runs["other"]
    shoppers = "shoppers.csv"
    assert (first.truth / shoppers).read_bytes() != (other.truth / shoppers).read_bytes()
    assert first.canonical() != other.canonical()


def test_client_events_have_unique_reproducible_ids(run: Run) -> None:
    client = [e for e in run.events if (e.get("context") or {}).get("source") != "server"]
    counts = Counter(e["event_id"] for e in client)
    copies = {name for name in ("sign_up", "login", "add_to_cart", "begin_checkout",
                                "ask_question")}  # fmt: skip
    # A tag event and the server's record of the same action share an event_id, by design.
    server_ids = {e["event_id"] for e in run.events if e["event_name"] in copies
                  and (e.get("context") or {}).get("source") == "server"}  # fmt: skip
    assert all(count == 1 for count in counts.values())
    tagged_copies = {e["event_id"] for e in client if e["event_name"] in copies}
    assert tagged_copies and tagged_copies <= server_ids


# --- ground truth --------------------------------------------------------------------


def test_ground_truth_describes_every_shopper_and_item(run: Run) -> None:
    tables = read_truth(run.truth)
    manifest = json.loads((run.truth / "manifest.json").read_text())
    assert len(tables["shoppers"]) == SMALL["shoppers"] == manifest["counts"]["shoppers"]
    assert manifest["seed"] == 11 and manifest["parameters"]["days"] == SMALL["days"]
    for row in tables["shoppers"]:
        preferences = [float(value) for key, value in row.items() if key.startswith("pref_")]
        assert len(preferences) == len(manifest["categories"])
        assert sum(preferences) == pytest.approx(1.0, abs=1e-4)
    listed = {key for kind, key in run.ids.values() if kind == "item"}
    assert listed <= {row["item_key"] for row in tables["items"]}
    assert len(listed) == run.report.stats["listings"]


def test_shoppers_mostly_look_at_and_buy_what_they_like(run: Run) -> None:
    """The behaviour follows the truth: the categories shoppers view and put in carts
    carry far more of their preference mass than a category picked at random (1/31)."""
    tables = read_truth(run.truth)
    shoppers = {row["client_id"]: row for row in tables["shoppers"]}
    category_of = {row["item_key"]: row["category"] for row in tables["items"]}
    weights: dict[str, list[float]] = defaultdict(list)
    for event in run.events:
        name = event["event_name"]
        if name not in ("view_item", "add_to_cart") or event["client_id"] not in shoppers:
            continue
        kind, item_key = run.ids[event["items"][0]["item_id"]]
        assert kind == "item"
        preference = float(shoppers[event["client_id"]][f"pref_{category_of[item_key]}"])
        weights[name].append(preference)
    baseline = 1 / len(json.loads((run.truth / "manifest.json").read_text())["categories"])
    assert len(weights["view_item"]) > 100 and len(weights["add_to_cart"]) >= 5
    assert sum(weights["view_item"]) / len(weights["view_item"]) > 5 * baseline
    assert sum(weights["add_to_cart"]) / len(weights["add_to_cart"]) > 8 * baseline


def test_behaviour_chooses_by_the_utility_the_truth_states() -> None:
    population = make_population(PopulationConfig(shoppers=30, days=10), random.Random(5))
    behaviour = Behaviour(
        population, seed=5, start=datetime(2031, 1, 1, tzinfo=UTC),
        sink=EventSink(lambda lines, token: None), spawn=lambda at, flow: None,
        now=lambda: datetime(2031, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    for shopper in population.shoppers:
        state = behaviour.states[shopper.index]
        for item in population.items[:40]:
            expected = shopper.utility(item, population.sellers[item.seller])
            assert behaviour.utility(shopper, state, item.index) == pytest.approx(expected)


def test_ad_consents_and_phones_are_given_in_realistic_shares_and_recorded_as_in_the_truth(
    run: Run,
) -> None:
    population = make_population(PopulationConfig(shoppers=4000, days=90), random.Random("consent"))
    shoppers = population.shoppers
    ad_user_data = [s for s in shoppers if s.ad_user_data_consent]
    assert 0.4 <= len(ad_user_data) / 4000 <= 0.6
    assert 0.7 <= sum(s.ad_personalization_consent for s in ad_user_data) / len(ad_user_data) <= 0.9
    others = [s for s in shoppers if not s.ad_user_data_consent]
    assert sum(s.ad_personalization_consent for s in others) / len(others) <= 0.1
    assert 0.35 <= sum(s.phone is not None for s in shoppers) / 4000 <= 0.45
    truth = {
        row["email"]: (
            row["ad_user_data_consent"] == "1",
            row["ad_personalization_consent"] == "1",
            phonenumbers.format_number(
                phonenumbers.parse(row["phone"]), phonenumbers.PhoneNumberFormat.E164
            )
            if row["phone"]
            else None,
        )
        for row in read_truth(run.truth)["shoppers"]
    }
    engine = create_engine(f"sqlite:///{run.home / 'shop.db'}")
    with engine.connect() as connection:
        signed_up = connection.execute(
            select(
                User.email, User.ad_user_data_consent, User.ad_personalization_consent, User.phone
            ).where(User.role == UserRole.shopper)
        ).all()
    engine.dispose()
    assert signed_up
    assert all(truth[email] == tuple(stored) for email, *stored in signed_up)
    assert any(phone for *_, phone in signed_up)


# --- what the clickstream looks like --------------------------------------------------


def test_searches_find_nothing_mostly_for_typos_and_things_nobody_sells(run: Run) -> None:
    """Every category is stocked, so a search for real words of the vocabulary finds
    nothing only now and then (a combination nobody lists, a product sold out); the rest
    of the empty searches are typos and the deliberately absurd queries."""
    vocabulary = {
        part
        for words in VOCABULARY.values()
        for token in (*words.nouns, *words.words, *words.brands)
        for part in token.lower().replace("-", " ").split()
    }
    searches = [e["params"] for e in run.events if e["event_name"] == "search"]
    empty = [p["search_term"] for p in searches if p["result_count"] == 0]
    real_words = [
        text for text in empty
        if text not in NO_RESULT_QUERIES and set(text.split()) <= vocabulary
    ]  # fmt: skip
    assert len(searches) > 200 and real_words and len(empty) > len(real_words)
    assert len(real_words) <= 0.05 * len(searches)
    assert len(empty) <= 0.15 * len(searches)


def test_without_a_model_the_storefront_shows_its_own_popular_list(run: Run) -> None:
    """No model is published, so the simulator never asks the shop for lists (the shop
    logs no impressions) and its own daily popularity list is shown and clicked."""
    server = [e for e in run.events if e["context"].get("source") == "server"]
    assert server and not [e for e in server if e["event_name"] == "view_item_list"]
    assert "recommendation_lists_from_shop" not in run.report.stats
    lists = Counter(
        e["params"]["list_id"] for e in run.events if e["event_name"] == "view_item_list"
    )
    assert lists["recs:popular-v0"] > 0 and lists["search_results"] > 0
    clicked = [e for e in run.events if e["event_name"] == "select_item"
               and e["params"]["list_id"] == "recs:popular-v0"]  # fmt: skip
    assert clicked


def test_every_purchase_follows_a_checkout_of_the_same_session(run: Run) -> None:
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in run.events:
        by_name[event["event_name"]].append(event)
    checkouts: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for event in by_name["begin_checkout"]:
        source = (event.get("context") or {}).get("source") or "tag"
        checkouts[event["params"]["transaction_id"]][source] = event
    purchases = by_name["purchase"]
    assert purchases, "the small simulation should sell something"
    for purchase in purchases:
        tagged = checkouts[purchase["params"]["transaction_id"]]["tag"]
        recorded = checkouts[purchase["params"]["transaction_id"]]["server"]
        assert tagged["event_id"] == recorded["event_id"]
        assert tagged["session_id"] == recorded["session_id"] is not None
        assert tagged["client_id"] == recorded["client_id"]
        assert recorded["user_id"] == purchase["user_id"] is not None
        assert _time(tagged) <= _time(purchase)
    sessions = defaultdict(list)
    for event in run.events:
        if event["session_id"]:
            sessions[event["session_id"]].append(event)
    for events in sessions.values():
        events.sort(key=_time)
        names = [e["event_name"] for e in events]
        if "add_payment_info" in names:
            assert "begin_checkout" in names[: names.index("add_payment_info")]
        assert len({e["client_id"] for e in events}) == 1


def test_declines_cancellations_reviews_and_questions_happen(run: Run) -> None:
    stats = run.report.stats
    assert stats["orders_paid"] >= 3 and stats["cart_adds"] > stats["orders_paid"]
    assert stats["questions"] >= 1
    assert run.report.events_rejected == 0 and not run.report.unexpected
    assert {"page_view", "search", "view_item_list", "select_item", "view_item",
            "add_to_cart", "view_cart", "begin_checkout", "add_payment_info",
            "purchase"} <= {e["event_name"] for e in run.events}  # fmt: skip


def test_event_times_follow_the_simulated_clock(run: Run) -> None:
    days = {_time(e).date() for e in run.events}
    assert min(days) == START
    assert max(days) <= date.fromordinal(START.toordinal() + SMALL["days"])
    for event in run.events:
        assert _time(event) <= datetime.fromisoformat(event["received_at"])


def test_weekends_and_black_friday_are_busier() -> None:
    friday = black_friday(2026)
    assert day_multiplier(friday) > 1.8 * day_multiplier(date(2026, 10, 9))
    assert day_multiplier(date(2026, 3, 7)) > day_multiplier(date(2026, 3, 4))  # Sat > Wed


def _time(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["event_time"])


# --- the other ways of running --------------------------------------------------------


def test_the_collector_process_lands_the_same_events(runs: dict[str, Run], tmp_path: Path) -> None:
    """Big runs post the clickstream from a second process: same events either way."""
    split = simulate(tmp_path, seed=11, collect_process=True)
    assert split.canonical() == runs["first"].canonical()


def test_at_midnight_the_lake_holds_every_event_sent_with_a_collect_process(
    tmp_path: Path,
) -> None:
    """The demo trains at a simulated midnight on what the lake holds: the batches the
    collect process still had queued are landed first."""
    counts: list[tuple[int, int]] = []

    def midnight(day: date) -> None:
        landed = [
            event
            for event in LandingZone(tmp_path / "lake").read(EVENTS)
            if (event.get("context") or {}).get("source") != "server"
        ]
        counts.append((len(landed), simulator.report.events_sent))

    config = SimulationConfig(
        seed=11, start=START, home=tmp_path, strict=True, collect_process=True, **SMALL
    )
    simulator = Simulator(config, midnight=midnight)
    simulator.run()

    assert len(counts) == SMALL["days"] - 1
    assert all(landed == sent > 0 for landed, sent in counts), counts


@pytest.mark.slow
def test_a_running_server_can_be_driven_over_http(tmp_path: Path) -> None:
    from mercado_cli.server import running_api
    from shop_api.catalog.default_tree import DEFAULT_CATEGORY_TREE
    from shop_api.catalog.service import seed_category_tree
    from shop_api.core.clock import SystemClock
    from shop_api.core.db import create_db_engine, create_session_factory
    from shop_api.core.migrations import upgrade_to_head

    home = tmp_path / "server"
    home.mkdir()
    url = f"sqlite:///{home / 'shop.db'}"
    upgrade_to_head(url)
    engine = create_db_engine(url, pool_size=1)
    with create_session_factory(engine)() as session:
        seed_category_tree(session, SystemClock(), DEFAULT_CATEGORY_TREE)
    engine.dispose()
    env = {
        "MERCADO_HOME": str(home), "MERCADO_ARGON2_TIME_COST": "1",
        "MERCADO_ARGON2_MEMORY_KIB": "1024", "MERCADO_SANDBOX_PROCESSING_SECONDS": "0",
        "MERCADO_BACKGROUND_INTERVAL_SECONDS": "0.1", "MERCADO_LOG_LEVEL": "WARNING",
    }  # fmt: skip
    with running_api(env) as base_url:
        config = SimulationConfig(
            shoppers=20, days=2, sellers=4, visit_rate=2.0, seed=3,
            start=date.fromordinal(datetime.now(UTC).date().toordinal() - 2),
            home=tmp_path / "client", base_url=base_url, http_settle_seconds=0.5,
        )  # fmt: skip
        report = Simulator(config).run()
    assert report.events_accepted > 200 and report.events_rejected == 0
    assert not report.unexpected, report.unexpected
    assert report.stats["listings"] > 20 and report.stats["cart_adds"] > 0
    assert (tmp_path / "client" / "sim" / "truth" / "shoppers.csv").exists()
    events = list(LandingZone(home / "lake").read(EVENTS))
    assert len([e for e in events if e["event_name"] == "page_view"]) > 50
    # The server has no model: the first list of each day asks it, and its answer (the
    # shop's popularity, logged by the shop) sends the storefront back to its own list.
    asked = [e for e in events if e["event_name"] == "view_item_list"
             and e["context"].get("source") == "server"]  # fmt: skip
    assert {e["params"]["list_id"] for e in asked} <= {"recs:popularity-fallback"}
    assert len(asked) <= config.days + 1
    assert [e for e in events if e["event_name"] == "view_item_list"
            and e["params"]["list_id"] == "recs:popular-v0"]  # fmt: skip
