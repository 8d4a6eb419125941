"""Simulated shoppers and the shop's recommendations.

A small simulation runs once against the real in-process shop; after its first day a
model is published (an artifact in format v1, as training writes it) whose lists are
random listings, so whatever the shoppers click follows their own tastes, not the model's
order. From the next day the storefront shows the shop's lists.
"""

from __future__ import annotations

import csv
import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shop_api.tracking.lake import EVENTS, LandingZone
from simulator.behaviour import Behaviour, Visit
from simulator.driver import RunReport, SimulationConfig, Simulator
from simulator.population import PopulationConfig, make_population
from simulator.recommendations import FALLBACK_VERSION, ItemList, ServedLists
from simulator.tag import EventSink, PageTag
from tests.recommender_artifacts import publish
from tests.simulator.test_simulator import canonical_event

VERSION = "20310304T000000Z-test-random"
LIST_ID = f"recs:{VERSION}"
START = date(2031, 3, 3)


@dataclass
class Run:
    report: RunReport
    behaviour: Behaviour
    events: list[dict[str, Any]]
    ids: dict[str, tuple[str, str]]  # shop id -> (kind, simulator key)
    # What was on disk when the model was published, at the midnight after the first day.
    first_night_events: list[dict[str, Any]]
    first_night_ids: list[str]

    def server(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event_name"] == name and _source(e) == "server"]

    def tagged(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event_name"] == name and _source(e) != "server"]


def _source(event: dict[str, Any]) -> str:
    return (event.get("context") or {}).get("source") or "tag"


def publish_random_model(behaviour: Behaviour, root: Path) -> None:
    """Lists of random listings for every shopper (by device and by account) and listing."""
    rng = random.Random(VERSION)
    listings = [listing for listing in behaviour.listing_ids if listing is not None]
    users: dict[str, list[str]] = {}
    for shopper, state in zip(behaviour.population.shoppers, behaviour.states, strict=True):
        ranked = rng.sample(listings, 20)
        users[f"client:{shopper.client_id}"] = ranked
        if state.account is not None and state.account.user_id is not None:
            users[state.account.user_id] = ranked
    related = {listing: rng.sample(listings, 20) for listing in listings}
    publish(
        root, VERSION, users=users, similar=related, bought_together=related,
        popular=rng.sample(listings, 20),
    )  # fmt: skip


def simulate_with_model(home: Path) -> Run:
    config = SimulationConfig(
        shoppers=24, days=3, sellers=6, visit_rate=2.0, seed=21, start=START, home=home,
        strict=True,
    )  # fmt: skip
    simulator: Simulator
    on_disk: dict[str, list[Any]] = {}

    def midnight(day: date) -> None:
        if day == START + timedelta(days=1):  # the night's build publishes a model
            on_disk["events"] = list(LandingZone(home / "lake").read(EVENTS))
            on_disk["ids"] = (home / "sim" / "id_map.csv").read_text().splitlines()
            publish_random_model(simulator.behaviour, home / "artifacts" / "recommender")

    simulator = Simulator(config, midnight=midnight)
    report = simulator.run()
    events = list(LandingZone(home / "lake").read(EVENTS))
    with (home / "sim" / "id_map.csv").open() as handle:
        ids = {row["shop_id"]: (row["kind"], row["key"]) for row in csv.DictReader(handle)}
    return Run(report, simulator.behaviour, events, ids, on_disk["events"], on_disk["ids"])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return simulate_with_model(tmp_path_factory.mktemp("sim-recs"))


def test_at_midnight_the_days_events_and_the_shops_ids_are_on_disk(run: Run) -> None:
    """What a nightly build there reads: the lake and the truth's id map so far."""
    first_day = [e for e in run.events if e["event_time"] < "2031-03-04"]
    night = {e["event_id"] for e in run.first_night_events}
    sessions_over_midnight = {
        e["session_id"] for e in run.events if e["event_time"] >= "2031-03-04"
    }
    missing = [e for e in first_day if e["event_id"] not in night]
    assert first_day and all(e["session_id"] in sessions_over_midnight for e in missing)
    assert not [e for e in run.first_night_events if e["event_time"] >= "2031-03-04"]
    shoppers = [line for line in run.first_night_ids if line.startswith("shopper,")]
    items = [line for line in run.first_night_ids if line.startswith("item,")]
    assert shoppers and items


def test_the_model_serves_from_the_day_after_it_is_published(run: Run) -> None:
    impressions = run.server("view_item_list")
    assert impressions and {e["params"]["list_id"] for e in impressions} == {LIST_ID}
    assert min(e["event_time"] for e in impressions) >= "2031-03-04"
    started: dict[str, str] = {}
    for event in sorted(run.events, key=lambda e: e["event_time"]):
        started.setdefault(event["session_id"], event["event_time"])
    popular = [
        e for e in run.tagged("view_item_list") if e["params"]["list_id"] == "recs:popular-v0"
    ]
    assert all(started[e["session_id"]] < "2031-03-04" for e in popular)


@pytest.mark.slow  # a second simulation
def test_the_same_seed_serves_and_clicks_the_same_lists(
    run: Run, tmp_path_factory: pytest.TempPathFactory
) -> None:
    again = simulate_with_model(tmp_path_factory.mktemp("sim-recs-again"))

    assert len(run.events) == len(again.events)
    assert Counter(canonical_event(e, run.ids) for e in run.events) == Counter(
        canonical_event(e, again.ids) for e in again.events
    )
    assert run.report.stats == again.report.stats


def test_the_tag_logs_no_second_impression_of_a_served_list(run: Run) -> None:
    assert not [e for e in run.tagged("view_item_list") if e["params"]["list_id"] == LIST_ID]


def test_clicks_on_served_items_carry_the_lists_id_to_the_item_page(run: Run) -> None:
    shown: dict[str, list[tuple[str, str, int]]] = defaultdict(list)  # session -> items
    for event in run.server("view_item_list"):
        for item in event["items"]:
            shown[event["session_id"]].append((event["event_time"], item["item_id"], item["index"]))
    clicks = [e for e in run.tagged("select_item") if e["params"]["list_id"] == LIST_ID]
    assert len(clicks) >= 10
    for click in clicks:
        [item] = click["items"]
        assert any(
            at <= click["event_time"] and (listing, index) == (item["item_id"], item["index"])
            for at, listing, index in shown[click["session_id"]]
        ), click
    viewed = [e for e in run.tagged("view_item") if e["params"].get("list_id") == LIST_ID]
    assert len(viewed) >= 0.8 * len(clicks)
    carted = [e for e in run.tagged("add_to_cart") if e["params"].get("list_id") == LIST_ID]
    clicked = {(e["session_id"], e["items"][0]["item_id"]) for e in clicks}
    assert all((e["session_id"], e["items"][0]["item_id"]) in clicked for e in carted)


def test_shoppers_click_what_they_truly_like_among_the_items_served(run: Run) -> None:
    behaviour = run.behaviour
    shopper_of = {shopper.client_id: shopper for shopper in behaviour.population.shoppers}
    item_of = behaviour.index_of

    def utility(event: dict[str, Any], item: dict[str, Any]) -> float:
        shopper = shopper_of[event["client_id"]]
        listing = behaviour.population.items[item_of[item["item_id"]]]
        return shopper.utility(listing, behaviour.population.sellers[listing.seller])

    shown = [utility(e, item) for e in run.server("view_item_list") for item in e["items"]]
    clicked = [
        utility(e, e["items"][0]) for e in run.tagged("select_item")
        if e["params"]["list_id"] == LIST_ID
    ]  # fmt: skip
    median = sorted(shown)[len(shown) // 2]
    liked = sum(value >= median for value in clicked)
    assert len(clicked) >= 10 and liked >= 0.8 * len(clicked)


def test_a_shopper_clicks_served_items_more_often_the_more_they_like_them() -> None:
    start = datetime(2031, 3, 3, tzinfo=UTC)
    population = make_population(PopulationConfig(shoppers=10, days=7), random.Random(5))
    lines: list[bytes] = []
    sink = EventSink(lambda batch, token: lines.extend(batch))
    behaviour = Behaviour(
        population, seed=5, start=start, sink=sink, spawn=lambda at, flow: None,
        now=lambda: start,
    )  # fmt: skip
    shopper, state = population.shoppers[0], behaviour.states[0]
    ranked = sorted(
        range(len(population.items)), key=lambda i: -behaviour.utility(shopper, state, i)
    )
    served = ranked[:48:6]  # eight items from the shopper's favourites down to lukewarm
    random.Random(1).shuffle(served)  # the model's order is not the shopper's
    for index in served:
        behaviour.item_events[index] = {"item_id": f"listing-{index}", "price": 10.0}
    shown = ItemList(LIST_ID, "home", served, list(range(len(served))), logged_by_shop=True)
    clicks: Counter[int] = Counter()
    for draw in range(4000):
        visit = Visit(shopper, state, PageTag(
            sink, random.Random(draw), client_id=shopper.client_id, session_id=f"s{draw}",
            user_id=None, context={},
        ), random.Random(draw), start)  # fmt: skip
        clicked = behaviour.show_list(visit, {"url": "/"}, shown, 0.3)
        if clicked is not None:
            clicks[clicked[1]] += 1
    by_liking = [clicks[index] for index in ranked[:48:6]]
    assert sum(by_liking) > 1000
    assert by_liking[0] == max(by_liking) and by_liking[-1] == min(by_liking)
    assert sum(by_liking[:4]) > 2 * sum(by_liking[4:])
    sink.drain()
    events = [json.loads(line) for line in lines]
    assert {e["event_name"] for e in events} == {"select_item"}  # the shop logged the lists
    assert {e["params"]["list_id"] for e in events} == {LIST_ID}


def test_without_recommendation_endpoints_the_storefront_stops_asking() -> None:
    served = ServedLists()
    served.new_day(None)
    assert served.asking
    assert served.read(404, {"error": {"code": "not_found"}}, "/recommendations?k=10",
                       "home", {}) is None  # fmt: skip
    assert not served.asking
    served.new_day(None)
    assert not served.asking


def test_a_shop_without_a_model_is_asked_again_the_next_day_only() -> None:
    served = ServedLists()
    served.new_day(None)
    answer = {
        "model_version": FALLBACK_VERSION, "list_id": f"recs:{FALLBACK_VERSION}",
        "data": [{"listing_id": "b", "position": 0}, {"listing_id": "elsewhere", "position": 1},
                 {"listing_id": "a", "position": 2}],
    }  # fmt: skip
    shown = served.read(200, answer, "/recommendations?k=10", "home", {"a": 7, "b": 3})
    assert shown == ItemList(f"recs:{FALLBACK_VERSION}", "home", [3, 7], [0, 2], True)
    assert not served.asking  # the rest of the day: the storefront's own popular list
    served.new_day(None)
    assert served.asking
    served.new_day(False)  # the in-process shop says it has no model
    assert not served.asking
