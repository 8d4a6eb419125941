"""How simulated people behave, written without any I/O ("sans-IO").

Every activity is a generator (a *flow*) that yields commands to the driver:

* ``Call(...)``  — make this request to the shop API; the driver sends back a ``Reply``;
* ``Until(at)``  — resume me when the simulated clock reaches ``at`` (API calls happen
  at the right simulated time, interleaved with everybody else's);
* ``Settle()``   — let the shop's background work happen now (payments, parcels,
  webhooks, reservation expiry).

Browsing (page views, searches, lists, item views, cart views, payment-form submits)
never touches the API: the flows emit those clickstream events through the session's
``PageTag`` (what ``tag.js`` would send to ``/collect``). Business actions go through the
real endpoints, and the shop records their server-side events itself: see
``SERVER_AND_TAG_EVENTS`` and ``SERVER_ONLY_EVENTS`` for how no fact is counted twice.
"""

from __future__ import annotations

import math
import random
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from simulator.calendar import campaign, day_multiplier, poisson, season, session_second
from simulator.population import CHANNELS, Item, Population, Seller, Shopper
from simulator.recommendations import ItemList, ServedLists
from simulator.tag import EventSink, PageTag, uuid4_from
from simulator.vocabulary import NO_RESULT_QUERIES, VOCABULARY

# The shop records these itself for the calls the simulator makes. For the first set the
# page tag sends its own copy with the same event_id (the call's X-Event-Id), which the
# warehouse dedupes: the copy adds the session and page. The second set comes from the
# shop's outbox (written with the business transaction) and the tag never sends them.
SERVER_AND_TAG_EVENTS = frozenset(
    {"sign_up", "login", "add_to_cart", "begin_checkout", "ask_question"}
)
SERVER_ONLY_EVENTS = frozenset({"purchase", "refund", "write_review"})
UTM = {name: (source, medium) for name, source, medium, _weight in CHANNELS}
RECS_LIST_ID = "recs:popular-v0"  # the simulator's own popularity, when the shop serves no model
PAGE_SIZE = 12
PASSWORD = "simulated-password-7f3k"
GOOD_CARDS = (
    {"number": "4242424242424242", "exp_month": 12, "exp_year": 2035, "cvc": "123"},
    {"number": "5555555555554444", "exp_month": 6, "exp_year": 2034, "cvc": "321"},
)
DECLINED_CARDS = (
    {"number": "4000000000000002", "exp_month": 12, "exp_year": 2035, "cvc": "123"},
    {"number": "4000000000009995", "exp_month": 3, "exp_year": 2033, "cvc": "456"},
)
CITIES = {
    "pt-BR": ("BR", ("Curitiba", "PR", "80010-000"), ("Recife", "PE", "50030-230")),
    "es-AR": ("AR", ("Cordoba", "X", "X5000"), ("Rosario", "S", "S2000")),
    "es-MX": ("MX", ("Puebla", "PUE", "72000"), ("Merida", "YUC", "97000")),
    "en-US": ("US", ("Portland", "OR", "97201"), ("Austin", "TX", "78701")),
}
QUESTIONS = (
    "Does the {noun} come with a warranty?",
    "Is this {noun} available in other colours?",
    "How long does shipping take to my city?",
    "Is the {noun} new and in its original box?",
    "Can you send two units together with one shipping fee?",
)
ANSWERS = (
    "Yes, it comes with a 12-month warranty.",
    "We ship within 24 hours of payment.",
    "Only the colour in the photos, sorry.",
    "Yes, brand new and sealed.",
    "Of course, add both to your cart and we ship them together.",
)
REVIEWS = {
    1: ("Disappointed", "Not as described and took ages to arrive."),
    2: ("Not great", "Works, but the quality is below what I expected."),
    3: ("OK", "Does the job for the price."),
    4: ("Good buy", "Good quality and arrived on time."),
    5: ("Excellent", "Exactly as described, very happy with it."),
}


# A seller's listings go up this far apart.
LISTING_INTERVAL = timedelta(milliseconds=1)


# --- commands ------------------------------------------------------------------------


@dataclass(slots=True)
class Call:
    method: str
    path: str
    json: Any = None
    data: dict[str, str] | None = None
    files: dict[str, Any] | None = None
    headers: dict[str, str] | None = None


@dataclass(slots=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Until:
    at: datetime


@dataclass(slots=True)
class Settle:
    pass


Command = Call | Until | Settle
Flow = Generator[Command, Any, Any]


# --- state ---------------------------------------------------------------------------


@dataclass
class Account:
    email: str
    display_name: str
    role: str
    ad_user_data_consent: bool = False
    ad_personalization_consent: bool = False
    phone: str | None = None
    client_id: str | None = None  # the device a seller works from
    user_id: str | None = None
    token: str | None = None
    token_expires: datetime | None = None


@dataclass
class OrderState:
    key: str
    order_id: str
    buyer: int
    items: list[tuple[int, str]]  # (item index, order item id)
    groups: dict[int, str]  # seller index -> fulfilment group id
    value_minor: int
    status: str = "pending_payment"
    shipped: set[int] = field(default_factory=set)
    cancel_requested: bool = False


@dataclass
class ShopperState:
    account: Account | None = None
    cart: dict[int, str | None] = field(default_factory=dict)  # item -> cart line id
    recent: deque[int] = field(default_factory=lambda: deque(maxlen=12))
    bought_sellers: set[int] = field(default_factory=set)
    orders: int = 0
    log_preferences: list[float] = field(default_factory=list)


@dataclass
class Visit:
    """One session in progress."""

    shopper: Shopper
    state: ShopperState
    tag: PageTag
    rng: random.Random
    t: datetime

    @property
    def headers(self) -> dict[str, str]:
        """What the shopper's browser sends along with API calls."""
        return {
            "X-Client-Id": self.tag.client_id,
            "X-Session-Id": self.tag.session_id,
            "User-Agent": self.shopper.user_agent,
        }

    def wait(self, mean_seconds: float) -> None:
        self.t += timedelta(seconds=1.0 + self.rng.expovariate(1.0 / mean_seconds))


def sigmoid(value: float) -> float:
    if value < -30:
        return 0.0
    return 1.0 / (1.0 + math.exp(-value))


# --- behaviour -----------------------------------------------------------------------


class Behaviour:
    """The simulated world: catalogue as the shop holds it, shoppers' state, popularity;
    and the flows of shoppers and sellers."""

    def __init__(
        self,
        population: Population,
        *,
        seed: int,
        start: datetime,
        sink: EventSink,
        spawn: Callable[[datetime, Flow], None],
        now: Callable[[], datetime],
        token_minutes: int = 60 * 24,
    ) -> None:
        self.population = population
        self.seed = seed
        self.start = start
        self.sink = sink
        self.spawn = spawn
        self.now = now
        self.token_minutes = token_minutes
        items = population.items
        self.listing_ids: list[str | None] = [None] * len(items)
        self.index_of: dict[str, int] = {}  # shop listing id -> item
        self.served = ServedLists()
        self.item_events: list[dict[str, Any] | None] = [None] * len(items)
        self.stock = [item.stock for item in items]
        self.restocking: set[int] = set()
        self.log_price = [math.log(item.price_minor) for item in items]
        self.popularity = [0.0] * len(items)
        self.rank: list[float] = [0.0] * len(items)
        self.top: list[int] = []
        self.newest: list[int] = []
        self.promotion: tuple[str, dict[str, Any]] = ("", {})
        self.top_by_category: dict[str, list[int]] = {slug: [] for slug in population.categories}
        self.by_category: dict[str, list[int]] = {slug: [] for slug in population.categories}
        self.by_seller: list[list[int]] = [[] for _ in population.sellers]
        self.word_index: dict[str, list[int]] = {}
        self.category_ids: dict[str, str] = {}
        self.category_position = {slug: k for k, slug in enumerate(population.categories)}
        self.log_median = [
            math.log(VOCABULARY[slug].median_price_minor) for slug in population.categories
        ]
        self.sellers: list[Account | None] = [None] * len(population.sellers)
        self.seller_by_user: dict[str, int] = {}
        self.states = [ShopperState() for _ in population.shoppers]
        self.orders: list[OrderState] = []
        self.stats: Counter[str] = Counter()
        self.unexpected: list[str] = []
        self.ids: list[tuple[str, str, str]] = []  # (kind, simulator key, shop id)
        self.id_rng = random.Random(f"{seed}:call-ids")

    # ----- helpers -------------------------------------------------------------------

    def note(self, what: str, reply: Reply) -> None:
        """An answer the flow did not plan for: counted and kept for the report."""
        self.stats[f"unexpected_{reply.status}"] += 1
        if len(self.unexpected) < 20:
            self.unexpected.append(f"{what}: {reply.status} {str(reply.body)[:300]}")

    def rng_for(self, *parts: object) -> random.Random:
        return random.Random(":".join(str(part) for part in (self.seed, *parts)))

    def utility(self, shopper: Shopper, state: ShopperState, index: int) -> float:
        """``Shopper.utility`` with cached logarithms, plus what the shopper has learnt
        (sellers they bought from)."""
        if not state.log_preferences:
            state.log_preferences = [math.log(p + 1e-4) for p in shopper.preferences]
        item = self.population.items[index]
        position = self.category_position[item.category]
        target = self.log_median[position] + math.log(shopper.budget)
        gap = self.log_price[index] - target
        value = state.log_preferences[position] - gap * gap / (
            2 * shopper.price_tolerance * shopper.price_tolerance
        )
        if item.seller in shopper.favourite_sellers:
            value += 1.0
        elif item.seller in state.bought_sellers:
            value += 0.6 * shopper.loyalty
        return value + item.quality - 0.5

    def available(self, index: int) -> bool:
        return self.listing_ids[index] is not None and self.stock[index] > 0

    def list_items(self, indices: list[int], offset: int = 0) -> list[dict]:
        """Items of a list as events carry them (the list's id is in ``params``)."""
        return self.items_at(indices, range(offset, offset + len(indices)))

    def items_at(self, indices: list[int], positions: Iterable[int]) -> list[dict]:
        events = self.item_events
        pairs = zip(indices, positions, strict=True)
        return [{**events[index], "index": at} for index, at in pairs]  # type: ignore[dict-item]

    def record_id(self, kind: str, key: str, shop_id: str) -> None:
        self.ids.append((kind, key, shop_id))

    # ----- API plumbing --------------------------------------------------------------

    def next_id(self, visit: Visit | None) -> str:
        """An event id for a call (sent as ``X-Event-Id``): the shop's server-side event
        of the call takes it, and the page tag's copy of the same action shares it."""
        return uuid4_from(visit.tag.rng if visit is not None else self.id_rng)

    def headers_for(
        self, account: Account | None, visit: Visit | None, event_id: str
    ) -> dict[str, str]:
        headers = {"X-Event-Id": event_id}
        if visit is not None:
            headers.update(visit.headers)
        elif account is not None and account.client_id:
            headers["X-Client-Id"] = account.client_id
        return headers

    def login(self, account: Account, visit: Visit | None = None) -> Flow:
        """Sign in (``X-Client-Id`` makes the shop merge the device's cart)."""
        event_id = self.next_id(visit)
        reply = yield Call(
            "POST", "/auth/token", data={"username": account.email, "password": PASSWORD},
            headers=self.headers_for(account, visit, event_id),
        )  # fmt: skip
        if reply.status != 200:
            self.note("login", reply)
            return False
        account.token = reply.body["access_token"]
        account.token_expires = self.now() + timedelta(minutes=self.token_minutes - 5)
        self.stats["logins"] += 1
        if visit is not None:
            visit.tag.sign_in(account.user_id, account.token)
            visit.tag.event("login", self.now(), params={"method": "password"}, event_id=event_id)
        return True

    def api(
        self,
        method: str,
        path: str,
        *,
        account: Account | None = None,
        visit: Visit | None = None,
        json: Any = None,
        files: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        event_id: str | None = None,
    ) -> Flow:
        """A call as ``account`` (logging in first when needed, and again once on 401),
        from ``visit``'s device (its client and session ids go along)."""
        event_id = event_id or self.next_id(visit)
        for attempt in range(2):
            sent = {**self.headers_for(account, visit, event_id), **(headers or {})}
            if account is not None:
                expired = account.token_expires is None or account.token_expires <= self.now()
                if (account.token is None or expired) and not (
                    yield from self.login(account, visit)
                ):
                    return Reply(401, None)
                sent["Authorization"] = f"Bearer {account.token}"
            reply = yield Call(method, path, json=json, files=files, headers=sent)
            if reply.status == 401 and account is not None and attempt == 0:
                account.token = None
                continue
            return reply
        return reply

    def signup(self, account: Account, visit: Visit | None = None) -> Flow:
        event_id = self.next_id(visit)
        reply = yield Call(
            "POST", "/auth/signup",
            json={
                "email": account.email, "password": PASSWORD,
                "display_name": account.display_name, "role": account.role,
                "ad_user_data_consent": account.ad_user_data_consent,
                "ad_personalization_consent": account.ad_personalization_consent,
                "phone": account.phone, "consent_source": "signup_form",
            },
            headers=self.headers_for(account, visit, event_id),
        )  # fmt: skip
        if reply.status == 201:
            account.user_id = reply.body["id"]
            self.stats[f"signups_{account.role}"] += 1
            if visit is not None:
                visit.tag.event(
                    "sign_up", self.now(), params={"method": "password", "role": account.role},
                    event_id=event_id,
                )  # fmt: skip
        elif reply.status == 409:  # an earlier run on this database made the account
            if not (yield from self.login(account, visit)):
                return False
            me = yield from self.api("GET", "/me", account=account)
            if me.status != 200:
                self.note("me", me)
                return False
            account.user_id = me.body["id"]
            if visit is not None:
                visit.tag.sign_in(account.user_id, account.token)
        else:
            self.note("signup", reply)
            return False
        return True

    # ----- the calendar --------------------------------------------------------------

    def day_start(self, day: int) -> datetime:
        return self.start + timedelta(days=day)

    def plan_day(self, day: int, *, serves_model: bool | None) -> int:
        """Spawn everything that starts on ``day``: new sellers and listings, sessions,
        and the hourly job ticks. ``serves_model``: whether the shop serves a recommender
        model today (None: unknown, its recommendation endpoints are asked). Returns the
        number of sessions."""
        begin = self.day_start(day)
        rng = self.rng_for("day", day)
        self.refresh_popularity()
        self.served.new_day(serves_model)
        slug = rng.choice(self.population.categories)
        name = campaign(begin.date())
        self.promotion = (slug, {
            "promotion_id": f"{name}-{slug}", "promotion_name": f"{name}: {slug}",
            "creative_slot": "home_banner", "location_id": "home",
        })  # fmt: skip
        new_items: dict[int, list[Item]] = {}
        for item in self.population.items:
            if item.created_day == day:
                new_items.setdefault(item.seller, []).append(item)
        for seller_index in sorted(new_items):
            # The opening catalogue goes up seller by seller, a second apart: no two
            # sellers list at the same instant (the shop breaks ties by creation time).
            offset = seller_index if day == 0 else rng.randrange(6 * 3600, 20 * 3600)
            at = begin + timedelta(seconds=offset)
            seller = self.population.sellers[seller_index]
            self.spawn(at, self.publish(seller, new_items[seller_index], day))
        for hour in range(1, 25):
            self.spawn(begin + timedelta(hours=hour), self.tick())
        multiplier = day_multiplier(begin.date())
        sessions = 0
        for shopper in self.population.shoppers:
            if not shopper.join_day <= day < shopper.churn_day:
                continue
            rate = shopper.activity * multiplier * (1.6 if shopper.join_day == day else 1.0)
            for number in range(poisson(rng, rate)):
                at = begin + timedelta(seconds=session_second(rng) + rng.random())
                self.spawn(at, self.session(shopper, day, number, at))
                sessions += 1
        self.stats["sessions"] += sessions
        return sessions

    def tick(self) -> Flow:
        yield Settle()

    def refresh_popularity(self) -> None:
        """Once a day: decay yesterday's interest and rebuild the popular lists (what
        ``recs:popular-v0`` shows)."""
        decayed = [score * 0.8 for score in self.popularity]
        self.popularity = decayed
        self.rank = [score + 0.02 * item.quality for score, item in zip(
            decayed, self.population.items, strict=True)]  # fmt: skip
        live = [index for index in range(len(self.rank)) if self.available(index)]
        live.sort(key=lambda index: (-self.rank[index], index))
        self.top = live[:50]
        self.newest = sorted(live, key=lambda index: (-self.population.items[index].created_day,
                                                      index))[:20]  # fmt: skip
        buckets: dict[str, list[int]] = {slug: [] for slug in self.top_by_category}
        items = self.population.items
        for index in live:
            bucket = buckets[items[index].category]
            if len(bucket) < 30:
                bucket.append(index)
        self.top_by_category = buckets

    # ----- sellers -------------------------------------------------------------------

    def seller_account(self, seller: Seller) -> Flow:
        account = self.sellers[seller.index]
        if account is None:
            client_id = uuid4_from(self.rng_for("seller-device", seller.index))
            account = Account(seller.email, seller.name, "seller", client_id=client_id)
            if not (yield from self.signup(account)):
                return None
            self.sellers[seller.index] = account
            self.seller_by_user[account.user_id] = seller.index  # type: ignore[index]
            self.record_id("seller", seller.key, account.user_id)  # type: ignore[arg-type]
        return account

    def publish(self, seller: Seller, items: list[Item], day: int) -> Flow:
        account = yield from self.seller_account(seller)
        if account is None:
            return
        rng = self.rng_for("publish", seller.index, day)
        for position, item in enumerate(items):
            if position:  # one listing after another: each has its own creation time
                yield Until(self.now() + LISTING_INTERVAL)
            words = VOCABULARY[item.category]
            reply = yield from self.api(
                "POST", "/listings", account=account,
                json={
                    "title": item.title,
                    "description": f"{item.title}. Sold by {seller.name}; "
                    f"{'lightly used' if item.condition == 'used' else 'brand new'}.",
                    "category": item.category, "price_minor": item.price_minor,
                    "currency": "USD", "stock": item.stock, "condition": item.condition,
                    "attributes": {"brand": item.brand, "sku": item.key},
                    "status": "active",
                },
            )  # fmt: skip
            if reply.status != 201:
                self.note("create listing", reply)
                continue
            listing = reply.body
            self.listing_ids[item.index] = listing["id"]
            self.index_of[listing["id"]] = item.index
            self.category_ids.setdefault(item.category, listing["category_id"])
            self.item_events[item.index] = {
                "item_id": listing["id"], "item_name": item.title,
                "item_category": listing["category_id"], "price": item.price_minor / 100,
                "seller_id": listing["seller_id"],
            }  # fmt: skip
            if not self.by_category[item.category]:
                self.stats["categories_with_listings"] += 1
            self.by_category[item.category].append(item.index)
            self.by_seller[item.seller].append(item.index)
            for word in item.words:
                self.word_index.setdefault(word, []).append(item.index)
            self.record_id("item", item.key, listing["id"])
            self.stats["listings"] += 1
            if position == 0 and seller.index < 8:  # a few listings get a photo
                image = yield from self.api(
                    "POST", f"/listings/{listing['id']}/images", account=account,
                    files={"file": (f"{item.key}.png", product_photo(rng, words.popularity),
                                    "image/png")},
                )  # fmt: skip
                if image.status == 201:
                    self.stats["images"] += 1
                else:
                    self.note("upload image", image)

    def restock(self, index: int, at: datetime) -> Flow:
        yield Until(at)
        item = self.population.items[index]
        account = yield from self.seller_account(self.population.sellers[item.seller])
        self.restocking.discard(index)
        if account is None:
            return
        stock = self.stock[index] + max(5, item.stock)
        reply = yield from self.api(
            "PATCH", f"/listings/{self.listing_ids[index]}", account=account,
            json={"stock": stock, "status": "active"},
        )  # fmt: skip
        if reply.status == 200:
            self.stock[index] = reply.body["stock"]
            self.stats["restocks"] += 1
        else:
            self.note("restock", reply)

    def maybe_restock(self, index: int, rng: random.Random, at: datetime) -> None:
        if self.stock[index] <= 2 and index not in self.restocking and rng.random() < 0.75:
            self.restocking.add(index)
            self.spawn(at + timedelta(hours=rng.lognormvariate(math.log(40), 0.6)),
                       self.restock(index, at))  # fmt: skip

    def answer(self, question_id: str, seller: Seller, at: datetime) -> Flow:
        yield Until(at)
        account = yield from self.seller_account(seller)
        if account is None:
            return
        rng = self.rng_for("answer", question_id)
        reply = yield from self.api(
            "POST", f"/questions/{question_id}/answer", account=account,
            json={"body": rng.choice(ANSWERS)},
        )  # fmt: skip
        if reply.status == 200:
            self.stats["answers"] += 1
        else:
            self.note("answer", reply)

    def ship(self, order: OrderState, seller_index: int, at: datetime) -> Flow:
        yield Until(at)
        if order.status not in ("paid", "partially_shipped"):
            return  # cancelled meanwhile
        seller = self.population.sellers[seller_index]
        account = yield from self.seller_account(seller)
        if account is None:
            return
        reply = yield from self.api(
            "POST", f"/orders/{order.order_id}/ship", account=account,
            json={"group_id": order.groups[seller_index]},
        )  # fmt: skip
        if reply.status == 409:  # cancelled at the last minute
            self.stats["ship_refused"] += 1
            return
        if reply.status != 201:
            self.note("ship", reply)
            return
        order.shipped.add(seller_index)
        order.status = "shipped" if len(order.shipped) == len(order.groups) else "partially_shipped"
        self.stats["shipments"] += 1
        rng = self.rng_for("parcel", order.key, seller_index)
        self.spawn(
            self.now() + timedelta(hours=rng.uniform(2, 14)),
            self.parcel(order, seller_index, reply.body["tracking_number"], rng),
        )

    def parcel(
        self, order: OrderState, seller_index: int, tracking: str, rng: random.Random
    ) -> Flow:
        """The carrier's trucks: in transit, out for delivery, delivered (or, for an
        address it cannot find, an exception and the way back)."""
        for step in range(3):
            # The carrier's webhooks reach the shop with the next hourly tick.
            advanced = yield Call("POST", f"/sandbox/carrier/v1/shipments/{tracking}/advance")
            if advanced.status != 200:
                if advanced.status != 409:
                    self.note("advance parcel", advanced)
                return
            status = advanced.body["status"]
            if status == "delivered":
                self.stats["deliveries"] += 1
                if rng.random() < 0.3 + 0.25 * self.population.shoppers[order.buyer].loyalty:
                    at = self.now() + timedelta(hours=rng.lognormvariate(math.log(60), 0.8))
                    self.spawn(at, self.review(order, seller_index, at))
                return
            if status == "returned":
                self.stats["returned_parcels"] += 1
                return
            hours = rng.lognormvariate(math.log(30), 0.5) if step == 0 else rng.uniform(2, 9)
            yield Until(self.now() + timedelta(hours=hours))

    # ----- shoppers after the session ------------------------------------------------

    def review(self, order: OrderState, seller_index: int, at: datetime) -> Flow:
        yield Until(at)
        shopper = self.population.shoppers[order.buyer]
        state = self.states[order.buyer]
        rng = self.rng_for("review", order.key, seller_index)
        visit = self.visit(shopper, rng, at)
        for index, order_item_id in order.items:
            if self.population.items[index].seller != seller_index:
                continue
            visit.tag.page_view(visit.t, f"/orders/{order.order_id}", "Your order")
            visit.wait(40)
            yield Until(visit.t)
            rating = self.rating(shopper, state, index, rng)
            title, body = REVIEWS[rating]
            reply = yield from self.api(
                "POST", f"/orders/{order.order_id}/reviews", account=state.account, visit=visit,
                json={"order_item_id": order_item_id, "rating": rating, "title": title,
                      "body": body},
            )  # fmt: skip
            if reply.status == 201:
                self.stats["reviews"] += 1
                if rating >= 4:
                    state.bought_sellers.add(seller_index)
            else:
                self.note("review", reply)

    def rating(self, shopper: Shopper, state: ShopperState, index: int, rng: random.Random) -> int:
        item = self.population.items[index]
        seller = self.population.sellers[item.seller]
        score = (
            3.6 + 0.5 * (self.utility(shopper, state, index) + 1.5)
            + 2.0 * (item.quality - 0.6) + 1.0 * (seller.quality - 0.7) + rng.gauss(0, 0.7)
        )  # fmt: skip
        return max(1, min(5, round(score)))

    def cancel(self, order: OrderState, at: datetime) -> Flow:
        yield Until(at)
        if order.status != "paid":
            return
        state = self.states[order.buyer]
        order.cancel_requested = True
        reply = yield from self.api(
            "POST", f"/orders/{order.order_id}/cancel", account=state.account,
            json={"reason": "changed my mind"},
        )  # fmt: skip
        if reply.status == 200:
            order.status = "cancelled"
            self.stats["cancellations"] += 1
            for index, _ in order.items:
                self.stock[index] += 1
        elif reply.status == 409:
            self.stats["cancel_refused"] += 1
        else:
            self.note("cancel", reply)

    # ----- the session ---------------------------------------------------------------

    def visit(self, shopper: Shopper, rng: random.Random, at: datetime) -> Visit:
        context: dict[str, Any] = {"user_agent": shopper.user_agent, "locale": shopper.locale}
        source, medium = UTM[shopper.channel]
        if source is not None and rng.random() < 0.55:
            context.update(utm_source=source, utm_medium=medium, utm_campaign=campaign(at.date()))
        tag = PageTag(
            self.sink, rng, client_id=shopper.client_id,
            session_id=f"{rng.getrandbits(64):016x}", user_id=None, context=context,
        )  # fmt: skip
        # The tag sends user_id (with the browser's token) only from the moment the shopper
        # signs in during this visit: a signed-in browser's events go to /collect in their
        # own small batches, which costs a request each.
        return Visit(shopper, self.states[shopper.index], tag, rng, at)

    def session(self, shopper: Shopper, day: int, number: int, at: datetime) -> Flow:
        rng = self.rng_for("session", shopper.index, day, number)
        state = self.states[shopper.index]
        visit = self.visit(shopper, rng, at)
        mood = season(at.date()) ** 0.5  # people buy more in the peak weeks
        if state.cart and rng.random() < 0.25 + 0.5 * shopper.loyalty:
            action: Any = ("cart",)
        elif state.recent and rng.random() < 0.35 * shopper.loyalty:
            action = ("item", rng.choice(list(state.recent)), None, None)
        else:
            action = ("home",)
        steps = 0
        while action is not None and steps < 40:
            steps += 1
            kind = action[0]
            if kind == "home":
                action = yield from self.home(visit)
            elif kind == "search":
                action = self.search(visit)
            elif kind == "category":
                action = self.category(visit, *action[1:])
            elif kind == "item":
                action = yield from self.item(visit, action[1], action[2], action[3], mood)
            elif kind == "cart":
                action = yield from self.cart(visit, mood)
            else:  # pragma: no cover - a typo in a transition
                raise ValueError(f"unknown page {kind}")
            visit.wait(35)
            if action is not None and rng.random() < 0.03:
                action = None  # distracted: the session just ends

    def browse_next(self, visit: Visit, *, leave: float) -> tuple | None:
        roll = visit.rng.random()
        if roll < leave:
            return None
        roll = (roll - leave) / (1 - leave)
        if roll < 0.5:
            return ("search",)
        if roll < 0.82:
            return ("category",)
        return ("home",)

    def pick(self, visit: Visit, indices: list[int], boldness: float) -> tuple[int, int] | None:
        """Which listed item (position, index) the shopper clicks, if any."""
        if not indices:
            return None
        scores = [
            self.utility(visit.shopper, visit.state, index) - 0.12 * position
            for position, index in enumerate(indices)
        ]
        best = max(scores)
        if visit.rng.random() >= sigmoid(best + boldness):
            return None
        weights = [math.exp(2.0 * (score - best)) for score in scores]
        position = visit.rng.choices(range(len(indices)), weights=weights)[0]
        return position, indices[position]

    def show_list(self, visit: Visit, page: dict, shown: ItemList, boldness: float) -> tuple | None:
        """A list on the page: its impression (unless the shop logged it), maybe a click
        (select_item) that leads to the item's page."""
        tag = visit.tag
        params = {"list_id": shown.list_id, "list_name": shown.name}
        if not shown.logged_by_shop:
            tag.event(
                "view_item_list", visit.t, page=page, params=params,
                items=self.items_at(shown.indices, shown.positions),
            )  # fmt: skip
        choice = self.pick(visit, shown.indices, boldness)
        if choice is None:
            return None
        k, index = choice
        position = shown.positions[k]
        visit.wait(12)
        tag.event(
            "select_item", visit.t, page=page, params=params,
            items=self.items_at([index], [position]),
        )  # fmt: skip
        if shown.logged_by_shop:
            self.stats["recommendation_clicks_from_shop"] += 1
        return ("item", index, shown.list_id, position)

    def recommended(self, visit: Visit, path: str, name: str) -> Flow:
        """The shop's recommendation list for this page (``GET path``), or None when the
        shop serves none today or has nothing for it."""
        if not self.served.asking:
            return None
        yield Until(visit.t)
        reply = yield from self.api("GET", path, account=self.signed_in(visit), visit=visit)
        if reply.status not in (200, 404, 405):
            self.note(f"recommendations {path}", reply)
        shown = self.served.read(reply.status, reply.body, path, name, self.index_of)
        if shown is not None:
            self.stats["recommendation_lists_from_shop"] += 1
        return shown

    def home(self, visit: Visit) -> Flow:
        """The home page: a promotion banner, recommendations (the shop's, else the
        popular list ``recs:popular-v0``) and, further down, new arrivals."""
        tag, rng = visit.tag, visit.rng
        page = tag.page_view(visit.t, "/", "Mercado")
        slug, promotion = self.promotion
        tag.event("view_promotion", visit.t, page=page, params=promotion)
        if rng.random() < 0.02 + 0.2 * visit.shopper.category_preference(slug):
            visit.wait(6)
            tag.event("select_promotion", visit.t, page=page, params=promotion)
            return ("category", slug)
        shown = yield from self.recommended(visit, "/recommendations?k=10", "home")
        if shown is None:
            popular = [index for index in self.top[:20] if self.available(index)][:10]
            shown = ItemList.of(popular, RECS_LIST_ID, "home") if popular else None
        if shown is not None:
            clicked = self.show_list(visit, page, shown, 0.3)
            if clicked:
                return clicked
        if self.newest and rng.random() < 0.55:  # scrolls down
            visit.wait(8)
            newest = [index for index in self.newest if self.stock[index] > 0][:8]
            clicked = self.show_list(
                visit, page, ItemList.of(newest, "new_arrivals", "New arrivals"), 0.0
            )
            if clicked:
                return clicked
        return self.browse_next(visit, leave=0.1)

    def query(self, visit: Visit) -> str:
        """What the shopper types: words of a product they have in mind in a category they
        like (mostly one the shop lists, now and then one it does not carry), sometimes
        with a typo, or something nobody sells."""
        rng = visit.rng
        if rng.random() < 0.03:
            return rng.choice(NO_RESULT_QUERIES)
        categories = self.population.categories
        if rng.random() < 0.85:
            slug = rng.choices(categories, weights=visit.shopper.preferences)[0]
        else:
            slug = rng.choice(categories)
        listed = self.by_category[slug]
        if listed and rng.random() < 0.9:
            item = self.population.items[rng.choice(listed)]
            brand, trait, noun = item.brand, rng.choice(item.traits), item.noun
        else:
            words = VOCABULARY[slug]
            brand, trait, noun = (rng.choice(part) for part in (words.brands, words.words,
                                                                  words.nouns))  # fmt: skip
        form = rng.random()
        if form < 0.55:
            text = noun
        elif form < 0.8:
            text = f"{trait} {noun}"
        elif form < 0.92:
            text = brand
        else:
            text = f"{brand} {noun}"
        text = text.replace("-", " ").lower()
        return misspell(rng, text) if rng.random() < 0.05 else text

    def results(self, text: str) -> list[int]:
        postings = [self.word_index.get(word, []) for word in text.lower().split()]
        if not postings or not all(postings):
            return []
        postings.sort(key=len)
        rest = [set(p) for p in postings[1:]]
        hits = [i for i in postings[0] if self.stock[i] > 0 and all(i in other for other in rest)]
        hits.sort(key=lambda index: (-self.rank[index], index))
        return hits

    def search(self, visit: Visit) -> tuple | None:
        text = self.query(visit)
        hits = self.results(text)
        tag = visit.tag
        page = tag.page_view(visit.t, f"/search?q={text.replace(' ', '+')}", f"{text} | Mercado")
        tag.event(
            "search", visit.t, page=page, params={"search_term": text, "result_count": len(hits)}
        )
        self.stats["searches"] += 1
        if not hits:
            self.stats["searches_without_results"] += 1
            return self.browse_next(visit, leave=0.25)
        shown = hits[:PAGE_SIZE]
        clicked = self.show_list(
            visit, page, ItemList.of(shown, "search_results", "Search results"), 1.2
        )
        if clicked:
            return clicked
        if len(hits) > PAGE_SIZE and visit.rng.random() < 0.3:  # next page
            visit.wait(10)
            second = ItemList.of(
                hits[PAGE_SIZE : 2 * PAGE_SIZE], "search_results", "Search results", PAGE_SIZE
            )
            clicked = self.show_list(visit, page, second, 0.9)
            if clicked:
                return clicked
        return self.browse_next(visit, leave=0.18)

    def category(self, visit: Visit, slug: str | None = None) -> tuple | None:
        rng = visit.rng
        categories = self.population.categories
        if slug is None:
            slug = (
                rng.choices(categories, weights=visit.shopper.preferences)[0]
                if rng.random() < 0.8
                else rng.choice(categories)
            )
        listed = [i for i in self.top_by_category[slug] if self.stock[i] > 0][: 2 * PAGE_SIZE]
        if len(listed) < 2 * PAGE_SIZE:  # new or unseen listings fill the pages
            shown = set(listed)
            listed += [i for i in self.by_category[slug] if self.stock[i] > 0 and i not in shown][
                : 2 * PAGE_SIZE - len(listed)
            ]
        page = visit.tag.page_view(visit.t, f"/c/{slug}", f"{slug} | Mercado")
        list_id = f"category:{slug}"
        if listed:
            first = ItemList.of(listed[:PAGE_SIZE], list_id, slug)
            clicked = self.show_list(visit, page, first, 0.8)
            if clicked:
                return clicked
            if len(listed) > PAGE_SIZE and rng.random() < 0.35:  # the next page
                visit.wait(10)
                second = ItemList.of(listed[PAGE_SIZE:], list_id, slug, PAGE_SIZE)
                clicked = self.show_list(visit, page, second, 0.6)
                if clicked:
                    return clicked
        return self.browse_next(visit, leave=0.18)

    def item(
        self, visit: Visit, index: int, list_id: str | None, position: int | None, mood: float
    ) -> Flow:
        if not self.available(index):
            return ("home",) if self.listing_ids[index] is not None else None
        item = self.population.items[index]
        tag, rng = visit.tag, visit.rng
        page = tag.page_view(visit.t, f"/listings/{self.listing_ids[index]}", item.title)
        value = item.price_minor / 100
        entry = {**self.item_events[index]}  # type: ignore[dict-item]
        params: dict[str, Any] = {"value": value, "currency": "USD"}
        if list_id is not None:  # reached from a list: its place there, and the list
            entry["index"] = position
            params["list_id"] = list_id
        tag.event("view_item", visit.t, page=page, params=params, items=[entry])
        self.popularity[index] += 1.0
        visit.state.recent.append(index)
        utility = self.utility(visit.shopper, visit.state, index)
        visit.wait(50)
        if rng.random() < 0.004:
            yield from self.ask(visit, index, page)
        p_add = sigmoid(utility - 0.8) * 0.1 * mood
        listing = self.listing_ids[index]
        if index not in visit.state.cart and rng.random() < p_add:
            added = yield from self.add_to_cart(visit, index, entry, page, list_id)
            if added:
                together = yield from self.recommended(
                    visit, f"/listings/{listing}/bought-together?k=4", "added_to_cart"
                )
                if together is not None:  # under the "added to your cart" notice
                    visit.wait(6)
                    clicked = self.show_list(visit, page, together, 0.0)
                    if clicked:
                        return clicked
                roll = rng.random()
                if roll < 0.45:
                    return ("cart",)
                if roll < 0.85:
                    return self.browse_next(visit, leave=0.0)
                return None
        if rng.random() < 0.75:  # scrolls to the similar items (loaded when seen)
            shown = yield from self.recommended(
                visit, f"/listings/{listing}/similar?k=6", "item_page"
            )
            if shown is None:
                similar = [
                    i for i in self.top_by_category[item.category]
                    if i != index and self.stock[i] > 0
                ][:6]  # fmt: skip
                shown = ItemList.of(similar, RECS_LIST_ID, "item_page") if similar else None
            if shown is not None:
                clicked = self.show_list(visit, page, shown, 0.2 + 0.5 * (utility > -2))
                if clicked:
                    return clicked
        if rng.random() < 0.45:  # further down: more from this seller
            visit.wait(10)
            more = sorted(
                (i for i in self.by_seller[item.seller] if i != index and self.stock[i] > 0),
                key=lambda i: (-self.rank[i], i),
            )[:6]
            if more:
                clicked = self.show_list(
                    visit, page, ItemList.of(more, "seller_items", "More from this seller"), 0.0
                )
                if clicked:
                    return clicked
        return self.browse_next(visit, leave=0.14)

    def ask(self, visit: Visit, index: int, page: dict[str, Any]) -> Flow:
        account = yield from self.ensure_account(visit)
        if account is None:
            return
        yield Until(visit.t)
        noun = VOCABULARY[self.population.items[index].category].nouns[0]
        event_id = visit.tag.new_id()
        reply = yield from self.api(
            "POST", f"/listings/{self.listing_ids[index]}/questions", account=account,
            visit=visit, json={"body": visit.rng.choice(QUESTIONS).format(noun=noun)},
            event_id=event_id,
        )  # fmt: skip
        if reply.status != 201:
            self.note("ask", reply)
            return
        visit.tag.event(
            "ask_question", visit.t, page=page, params={"question_id": reply.body["id"]},
            items=[{"item_id": self.listing_ids[index]}], event_id=event_id,
        )  # fmt: skip
        self.record_id("question", f"question-{self.stats['questions']:07d}", reply.body["id"])
        self.stats["questions"] += 1
        seller = self.population.sellers[self.population.items[index].seller]
        if visit.rng.random() < seller.answer_rate:
            at = visit.t + timedelta(hours=visit.rng.lognormvariate(math.log(8), 0.9))
            self.spawn(at, self.answer(reply.body["id"], seller, at))
        visit.wait(20)

    def add_to_cart(
        self, visit: Visit, index: int, entry: dict, page: dict[str, Any], list_id: str | None
    ) -> Flow:
        """Add to the cart from the item's page (``list_id``: the list it was reached from)."""
        yield Until(visit.t)
        quantity = 2 if self.population.items[index].price_minor < 2_000 and (
            visit.rng.random() < 0.15) else 1  # fmt: skip
        event_id = visit.tag.new_id()
        reply = yield from self.api(
            "POST", "/cart/items", account=self.signed_in(visit), visit=visit,
            json={"listing_id": self.listing_ids[index], "quantity": quantity},
            event_id=event_id,
        )  # fmt: skip
        if reply.status == 409:  # sold out meanwhile (or fewer left)
            self.stats["add_to_cart_refused"] += 1
            self.stock[index] = 0
            self.maybe_restock(index, visit.rng, visit.t)
            return False
        if reply.status != 201:
            self.note("add to cart", reply)
            return False
        line = next(
            (line["id"] for line in reply.body["items"] if line["listing_id"] == entry["item_id"]),
            None,
        )
        visit.tag.event(
            "add_to_cart", visit.t, page=page,
            params={"currency": "USD", "value": entry["price"] * quantity}
            | ({"list_id": list_id} if list_id is not None else {}),
            items=[{**entry, "quantity": quantity}], event_id=event_id,
        )  # fmt: skip
        visit.state.cart[index] = line
        self.popularity[index] += 2.0
        self.stats["cart_adds"] += 1
        return True

    def signed_in(self, visit: Visit) -> Account | None:
        """The account whose token the browser holds (None: anonymous, by client id)."""
        account = visit.state.account
        if account is not None and account.token is not None and account.token_expires and (
            account.token_expires > visit.t
        ):  # fmt: skip
            return account
        return None

    def ensure_account(self, visit: Visit) -> Flow:
        """Sign in, or sign up first: the shopper's account is made lazily, the first
        time they need one."""
        state, shopper, tag = visit.state, visit.shopper, visit.tag
        if state.account is not None:
            if self.signed_in(visit) is None:
                tag.page_view(visit.t, "/login", "Sign in")
                visit.wait(25)
                yield Until(visit.t)
                if not (yield from self.login(state.account, visit)):
                    return None
                self.forget_cart_lines(state)
            return state.account
        tag.page_view(visit.t, "/signup", "Create your account")
        visit.wait(60)
        if visit.rng.random() < 0.08:  # the form is one step too many
            self.stats["signup_abandoned"] += 1
            return None
        yield Until(visit.t)
        account = Account(
            shopper.email, shopper.name, "shopper",
            ad_user_data_consent=shopper.ad_user_data_consent,
            ad_personalization_consent=shopper.ad_personalization_consent, phone=shopper.phone,
        )  # fmt: skip
        if not (yield from self.signup(account, visit)):
            return None
        state.account = account
        self.record_id("shopper", shopper.key, account.user_id)  # type: ignore[arg-type]
        if not (yield from self.login(account, visit)):
            return None
        self.forget_cart_lines(state)
        return account

    def forget_cart_lines(self, state: ShopperState) -> None:
        """Signing in merges the device's cart into the account's: line ids change."""
        for index in state.cart:
            state.cart[index] = None

    def cart(self, visit: Visit, mood: float) -> Flow:
        state, tag, rng = visit.state, visit.tag, visit.rng
        page = tag.page_view(visit.t, "/cart", "Your cart")
        indices = [index for index in state.cart if self.listing_ids[index] is not None]
        if not indices:
            return self.browse_next(visit, leave=0.4)
        value = sum(self.population.items[i].price_minor for i in indices) / 100
        tag.event("view_cart", visit.t, page=page, params={"value": value, "currency": "USD"},
                  items=self.list_items(indices))  # fmt: skip
        visit.wait(30)
        if len(indices) > 1 and rng.random() < 0.2:
            worst = min(indices, key=lambda i: self.utility(visit.shopper, state, i))
            yield from self.remove_from_cart(visit, worst, page)
            indices.remove(worst)
        utilities = [self.utility(visit.shopper, state, i) for i in indices]
        p_checkout = sigmoid(max(utilities) + 0.3) * (0.35 + 0.3 * visit.shopper.loyalty) * mood
        if rng.random() < p_checkout:
            yield from self.checkout(visit)
            return None if rng.random() < 0.75 else ("home",)
        latest = self.listing_ids[indices[-1]]
        together = yield from self.recommended(
            visit, f"/listings/{latest}/bought-together?k=4", "cart"
        )
        if together is not None:
            clicked = self.show_list(visit, page, together, 0.0)
            if clicked:
                return clicked
        return self.browse_next(visit, leave=0.55)

    def remove_from_cart(self, visit: Visit, index: int, page: dict[str, Any]) -> Flow:
        yield Until(visit.t)
        state = visit.state
        account = self.signed_in(visit)
        line = state.cart.get(index)
        if line is None:
            reply = yield from self.api("GET", "/cart", account=account, visit=visit)
            if reply.status != 200:
                self.note("read cart", reply)
                return
            lines = {row["listing_id"]: row["id"] for row in reply.body["items"]}
            for item in list(state.cart):
                state.cart[item] = lines.get(self.listing_ids[item])  # type: ignore[arg-type]
            line = state.cart.get(index)
        if line is not None:
            reply = yield from self.api(
                "DELETE", f"/cart/items/{line}", account=account, visit=visit
            )
            if reply.status not in (204, 404):
                self.note("remove from cart", reply)
        state.cart.pop(index, None)
        visit.tag.event(
            "remove_from_cart", visit.t, page=page,
            params={"currency": "USD", "value": self.item_events[index]["price"]},  # type: ignore[index]
            items=[self.item_events[index]],  # type: ignore[list-item]
        )  # fmt: skip
        self.stats["cart_removals"] += 1
        visit.wait(10)

    def tidy_cart(self, visit: Visit, account: Account) -> Flow:
        """Read the cart as the shop has it, drop unavailable lines; True if any remain."""
        state = visit.state
        reply = yield from self.api("GET", "/cart", account=account, visit=visit)
        if reply.status != 200:
            self.note("read cart", reply)
            return False
        by_listing = {listing: index for index, listing in enumerate(self.listing_ids)
                      if listing is not None and index in state.cart}  # fmt: skip
        state.cart.clear()
        for line in reply.body["items"]:
            index = by_listing.get(line["listing_id"])
            if not line["available"]:
                if index is not None:
                    self.stock[index] = line["stock"]
                removed = yield from self.api(
                    "DELETE", f"/cart/items/{line['id']}", account=account, visit=visit
                )
                if removed.status not in (204, 404):
                    self.note("remove unavailable", removed)
            elif index is not None:
                state.cart[index] = line["id"]
        return bool(state.cart)

    def address(self, shopper: Shopper, rng: random.Random) -> dict[str, Any]:
        country, *cities = CITIES[shopper.locale]
        city, region, postal = cities[shopper.index % len(cities)]
        return {
            "name": shopper.name, "line1": f"{10 + shopper.index % 900} Simulated Street",
            "city": city, "region": region,
            "postal_code": "00000" if shopper.bad_address else postal, "country": country,
        }  # fmt: skip

    def checkout(self, visit: Visit) -> Flow:
        shopper, state, tag, rng = visit.shopper, visit.state, visit.tag, visit.rng
        account = yield from self.ensure_account(visit)
        if account is None:
            return
        page = tag.page_view(visit.t, "/checkout", "Checkout")
        visit.wait(45)
        yield Until(visit.t)
        for attempt in range(2):
            event_id = tag.new_id()
            reply = yield from self.api(
                "POST", "/checkout", account=account, visit=visit,
                json={"shipping_address": self.address(shopper, rng)},
                headers={"Idempotency-Key": f"sim-{rng.getrandbits(96):024x}"},
                event_id=event_id,
            )  # fmt: skip
            if reply.status != 409:
                break
            # Something in the cart sold out meanwhile: the page says so, the shopper
            # drops what is unavailable and tries again.
            self.stats["checkout_refused"] += 1
            if attempt == 1 or not (yield from self.tidy_cart(visit, account)):
                return
            visit.wait(20)
            yield Until(visit.t)
        if reply.status not in (200, 201):
            self.note("checkout", reply)
            return
        body = reply.body
        listing_index = {self.listing_ids[i]: i for i in state.cart}
        order = OrderState(
            key=f"order-{len(self.orders):07d}",
            order_id=body["id"],
            buyer=shopper.index,
            items=sorted(  # in the simulator's order: the shop's follows its random ids
                (listing_index[row["listing_id"]], row["id"])
                for row in body["items"]
                if row["listing_id"] in listing_index
            ),
            groups={self.seller_by_user[g["seller_id"]]: g["id"] for g in body["groups"]},
            value_minor=body["total_minor"],
        )
        self.orders.append(order)
        self.record_id("order", order.key, order.order_id)
        tag.event(
            "begin_checkout", visit.t, page=page,
            params={"transaction_id": order.order_id, "value": order.value_minor / 100,
                    "currency": body["currency"]},
            items=self.list_items([index for index, _ in order.items]),
            event_id=event_id,
        )  # fmt: skip
        state.cart.clear()  # the cart became the order
        self.stats["orders_placed"] += 1
        visit.wait(40)
        if rng.random() < 0.12:  # leaves at the payment step; the reservation expires
            self.stats["payment_abandoned"] += 1
            return
        for attempt in range(3):
            declined = attempt == 0 and rng.random() < shopper.decline_rate
            card = rng.choice(DECLINED_CARDS if declined else GOOD_CARDS)
            tag.event(
                "add_payment_info", visit.t, page=page,
                params={"payment_type": "card", "value": order.value_minor / 100,
                        "currency": "USD", "transaction_id": order.order_id},
                items=self.list_items([i for i, _ in order.items]),
            )  # fmt: skip
            visit.wait(8)
            yield Until(visit.t)
            paid = yield from self.pay(visit, account, order, card)
            if paid:
                break
            self.stats["payments_declined"] += 1
            if rng.random() < 0.35:
                self.stats["gave_up_after_decline"] += 1
                return
            visit.wait(40)
        else:
            return
        self.after_purchase(visit, order)

    def pay(self, visit: Visit, account: Account, order: OrderState, card: dict) -> Flow:
        started = yield from self.api(
            "POST", f"/orders/{order.order_id}/payments", account=account, visit=visit
        )
        if started.status != 201:
            self.note("start payment", started)
            return False
        session = started.body
        confirmed = yield Call(
            "POST", session["confirm_url"],
            json={"client_secret": session["client_secret"], "card": card},
        )  # fmt: skip
        if confirmed.status != 200:
            self.note("confirm payment", confirmed)
            return False
        yield Settle()
        seen = yield from self.api("GET", f"/orders/{order.order_id}", account=account)
        if seen.status != 200:
            self.note("read order", seen)
            return False
        order.status = seen.body["status"]
        return order.status == "paid"

    def after_purchase(self, visit: Visit, order: OrderState) -> None:
        state, rng = visit.state, visit.rng
        visit.tag.page_view(visit.t, f"/orders/{order.order_id}/confirmation", "Thank you!")
        self.stats["orders_paid"] += 1
        state.orders += 1
        for index, _ in order.items:
            self.stock[index] -= 1
            self.popularity[index] += 5.0
            self.maybe_restock(index, rng, visit.t)
        cancel_at = None
        for seller_index in sorted(order.groups):
            seller = self.population.sellers[seller_index]
            delay = timedelta(hours=rng.lognormvariate(math.log(seller.ship_hours), 0.5))
            self.spawn(visit.t + delay, self.ship(order, seller_index, visit.t + delay))
            if cancel_at is None and rng.random() < 0.02 + 0.08 * (1 - seller.quality):
                cancel_at = visit.t + delay * rng.uniform(0.2, 0.9)
        if cancel_at is not None:
            self.spawn(cancel_at, self.cancel(order, cancel_at))
        for seller_index in order.groups:
            state.bought_sellers.add(seller_index)


def misspell(rng: random.Random, text: str) -> str:
    """A typo in the longest word: a letter dropped, doubled, swapped or replaced."""
    words = text.split()
    position = max(range(len(words)), key=lambda k: len(words[k]))
    word = words[position]
    if len(word) < 4:
        return text + "x"
    k = rng.randrange(1, len(word) - 1)
    operation = rng.randrange(4)
    if operation == 0:
        word = word[:k] + word[k + 1 :]
    elif operation == 1:
        word = word[:k] + word[k] + word[k:]
    elif operation == 2:
        word = word[: k - 1] + word[k] + word[k - 1] + word[k + 1 :]
    else:
        word = word[:k] + rng.choice("qxzjkvw") + word[k + 1 :]
    words[position] = word
    return " ".join(words)


def product_photo(rng: random.Random, shade: float) -> bytes:
    """A small generated PNG (no image files needed)."""
    import io

    from PIL import Image, ImageDraw

    color = (rng.randrange(40, 200), rng.randrange(40, 200), int(40 + 30 * shade) % 255)
    image = Image.new("RGB", (160, 120), color)
    ImageDraw.Draw(image).rectangle((16, 16, 144, 104), outline="white", width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
