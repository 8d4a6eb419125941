"""Synthetic sellers with catalogues and shoppers with latent tastes.

Everything is drawn from one seeded ``random.Random``, so a seed always gives the same
population. The latent tastes here are the ground truth that ``truth.py`` writes and
that recommenders are scored against; behaviour only ever sees them through
``Shopper.utility``.

A shopper's utility for an item is::

    log(category_preference + 1e-4)
    - (log(price) - log(category_median * budget))**2 / (2 * price_tolerance**2)
    + seller_affinity_boost  (if the seller is one of the shopper's favourites)
    + item.quality - 0.5
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field, replace

from simulator.vocabulary import VOCABULARY, CategoryWords, leaf_categories

SELLER_AFFINITY_BOOST = 1.0
PREFERENCE_FLOOR = 1e-4
CHANNELS = (
    ("direct", None, None, 0.35),
    ("organic", "google", "organic", 0.30),
    ("paid_search", "google", "cpc", 0.15),
    ("social", "instagram", "social", 0.12),
    ("email", "newsletter", "email", 0.08),
)
DEVICES = (
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile", 0.4),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile", 0.25),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0", 0.25),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Safari/605.1", 0.10),
)
LOCALES = (("pt-BR", 0.45), ("es-AR", 0.15), ("es-MX", 0.15), ("en-US", 0.25))
# Contact details at signup: about 40% give a phone; of those who let their data go to ad
# platforms (ad_user_data) most also allow personalised ads, and a few allow only that.
PHONE_SHARE = 0.4
AD_PERSONALIZATION_GIVEN_AD_USER_DATA = 0.8
AD_PERSONALIZATION_ALONE = 0.05
FIRST_NAMES = (
    "Ana", "Bruno", "Carla", "Diego", "Elena", "Fabio", "Gabriela", "Hugo", "Irene", "Joao",
    "Karina", "Lucas", "Marta", "Nicolas", "Olivia", "Pedro", "Quinn", "Rafaela", "Sergio",
    "Tamara", "Ulises", "Valeria", "Walter", "Ximena", "Yago", "Zoe",
)  # fmt: skip
SELLER_WORDS = (
    "Casa", "Loja", "Tienda", "Mercado", "Bazar", "Studio", "Outlet", "Depot", "Atelier",
    "Emporio", "Market", "Corner",
)  # fmt: skip


@dataclass(frozen=True)
class PopulationConfig:
    shoppers: int
    days: int
    sellers: int | None = None  # default: one per 40 shoppers, at least 10
    items_per_seller: float = 24.0
    late_sellers: float = 0.15  # share of sellers who join during the period
    late_shoppers: float = 0.35  # share of shoppers who first visit during the period
    consent_rate: float = 0.5
    visit_rate: float = 0.4  # mean sessions per active shopper per day
    category_concentration: float = 2.5  # Dirichlet total mass: lower = pickier shoppers

    @property
    def seller_count(self) -> int:
        return self.sellers if self.sellers is not None else max(10, self.shoppers // 40)


@dataclass
class Seller:
    index: int
    key: str
    email: str
    name: str
    categories: tuple[str, ...]
    quality: float  # 0..1: item quality, review scores, fewer cancellations
    ship_hours: float  # mean hours from payment to shipping
    answer_rate: float  # share of questions answered
    price_level: float  # multiplies category prices
    join_day: int


@dataclass
class Item:
    index: int
    key: str
    seller: int
    category: str
    title: str
    brand: str
    noun: str  # the product, as the vocabulary spells it
    traits: tuple[str, ...]  # the descriptive words of the title, as the vocabulary spells them
    words: tuple[str, ...]  # the title's words, lower case (what search matches)
    price_minor: int
    stock: int
    quality: float
    condition: str
    created_day: int


@dataclass
class Shopper:
    index: int
    key: str
    client_id: str
    email: str
    name: str
    preferences: tuple[float, ...]  # over leaf categories (sums to 1)
    budget: float  # multiplies each category's median price
    price_tolerance: float  # sigma of the log-price preference: small = price-sensitive
    favourite_sellers: tuple[int, ...]
    loyalty: float  # 0..1: coming back to what they saw, cart and sellers they bought from
    activity: float  # mean sessions per day while active
    churn_hazard: float  # daily probability of leaving for good
    join_day: int
    churn_day: int  # first day they no longer visit (may be beyond the simulated period)
    ad_user_data_consent: bool  # lets their data (hashed) go to ad platforms at signup
    channel: str
    user_agent: str
    locale: str
    decline_rate: float  # chance that their first card is declined
    bad_address: bool  # ships to an address the carrier cannot find
    category_index: dict[str, int] = field(repr=False, default_factory=dict)
    ad_personalization_consent: bool = False  # allows personalised ads at signup
    phone: str | None = None  # international form, given at signup by some

    def category_preference(self, category: str) -> float:
        return self.preferences[self.category_index[category]]

    def utility(self, item: Item, seller: Seller) -> float:
        words = VOCABULARY[item.category]
        preference = math.log(self.category_preference(item.category) + PREFERENCE_FLOOR)
        target = math.log(words.median_price_minor * self.budget)
        price = -((math.log(item.price_minor) - target) ** 2) / (2 * self.price_tolerance**2)
        affinity = SELLER_AFFINITY_BOOST if seller.index in self.favourite_sellers else 0.0
        return preference + price + affinity + item.quality - 0.5


@dataclass
class Population:
    config: PopulationConfig
    categories: list[str]
    sellers: list[Seller]
    items: list[Item]
    shoppers: list[Shopper]


def _weighted(rng: random.Random, options: tuple) -> tuple:
    return rng.choices(options, weights=[option[-1] for option in options])[0]


def seeded_uuid(rng: random.Random) -> str:
    """A version-4 UUID made from the seeded generator (reproducible, unlike uuid4)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def dirichlet(rng: random.Random, alphas: list[float]) -> list[float]:
    draws = [rng.gammavariate(alpha, 1.0) for alpha in alphas]
    total = sum(draws)
    if total <= 0:  # every draw underflowed: all mass on one category
        draws = [0.0] * len(alphas)
        draws[rng.randrange(len(alphas))] = 1.0
        total = 1.0
    return [draw / total for draw in draws]


def _price(rng: random.Random, words: CategoryWords, level: float) -> int:
    raw = words.median_price_minor * level * math.exp(rng.gauss(0.0, words.price_sigma))
    return max(99, round(raw / 100.0) * 100 - 1)  # shop prices end in .99


def _title(rng: random.Random, brand: str, traits: tuple[str, ...], noun: str) -> str:
    """A title in one of the usual patterns: brand, descriptive words, product."""
    if len(traits) == 2:
        parts = [brand, *traits, noun]
    elif rng.random() < 0.55:
        parts = [brand, traits[0], noun]
    else:
        parts = [traits[0], noun, "by", brand]
    return " ".join(parts).replace("-", " ").capitalize()


def make_sellers(rng: random.Random, config: PopulationConfig, categories: list[str]) -> list:
    popularity = [VOCABULARY[slug].popularity for slug in categories]
    sellers = []
    for index in range(config.seller_count):
        width = rng.choices((1, 2, 3), weights=(0.5, 0.35, 0.15))[0]
        chosen: list[str] = []
        while len(chosen) < width:
            slug = rng.choices(categories, weights=popularity)[0]
            if slug not in chosen:
                chosen.append(slug)
        late = index > 0 and rng.random() < config.late_sellers
        name = f"{rng.choice(SELLER_WORDS)} {rng.choice(FIRST_NAMES)} {index + 1}"
        sellers.append(
            Seller(
                index=index,
                key=f"seller-{index:05d}",
                email=f"seller-{index:05d}@sellers.sim.mercado.example",
                name=name,
                categories=tuple(chosen),
                quality=rng.betavariate(5, 2),
                ship_hours=rng.lognormvariate(math.log(20), 0.6),
                answer_rate=rng.betavariate(4, 1.5),
                price_level=math.exp(rng.gauss(0.0, 0.15)),
                join_day=rng.randrange(1, max(2, config.days)) if late else 0,
            )
        )
    cover_categories(rng, sellers, categories)
    return sellers


def cover_categories(rng: random.Random, sellers: list[Seller], categories: list[str]) -> None:
    """Give every category nobody chose to a seller open from the first day (the one
    offering fewest categories), so the shop sells something of each from the start."""
    founders = [seller for seller in sellers if seller.join_day == 0]
    offered = {slug for seller in founders for slug in seller.categories}
    for slug in categories:
        if slug in offered:
            continue
        fewest = min(len(seller.categories) for seller in founders)
        seller = rng.choice([s for s in founders if len(s.categories) == fewest])
        seller.categories = (*seller.categories, slug)


def make_items(rng: random.Random, config: PopulationConfig, sellers: list[Seller]) -> list:
    """Each seller's listings, mostly in their more popular categories; then whatever
    product of a category is not yet on sale on the first day is added by a seller of
    it, so a shopper who searches for any product of the vocabulary can find one."""
    items: list[Item] = []
    for seller in sellers:
        count = max(3, int(rng.lognormvariate(math.log(config.items_per_seller), 0.6)))
        weights = [VOCABULARY[slug].popularity for slug in seller.categories]
        for _ in range(count):
            slug = rng.choices(seller.categories, weights=weights)[0]
            # A few listings appear while the simulation runs (new stock, new sellers).
            created = seller.join_day
            if config.days > 1 and rng.random() < 0.1:
                created = rng.randrange(seller.join_day, config.days)
            items.append(_item(rng, len(items), seller, slug, None, created))
    founders: dict[str, list[Seller]] = {}
    for seller in sellers:
        if seller.join_day == 0:
            for slug in seller.categories:
                founders.setdefault(slug, []).append(seller)
    on_sale: dict[str, set[str]] = {}
    for item in items:
        if item.created_day == 0 and sellers[item.seller].join_day == 0:
            on_sale.setdefault(item.category, set()).update(item.words)
    for slug in sorted(founders):
        for noun in VOCABULARY[slug].nouns:
            if not set(noun.replace("-", " ").split()) <= on_sale.get(slug, set()):
                seller = rng.choice(founders[slug])
                items.append(_item(rng, len(items), seller, slug, noun, 0))
    return items


def _item(
    rng: random.Random, index: int, seller: Seller, slug: str, noun: str | None, created: int
) -> Item:
    words = VOCABULARY[slug]
    brand = rng.choice(words.brands)
    noun = noun or rng.choice(words.nouns)
    traits = tuple(rng.sample(words.words, 2 if rng.random() < 0.35 else 1))
    title = _title(rng, brand, traits, noun)
    return Item(
        index=index,
        key=f"item-{index:06d}",
        seller=seller.index,
        category=slug,
        title=title,
        brand=brand,
        noun=noun,
        traits=traits,
        words=tuple(sorted(set(title.lower().split()))),
        price_minor=_price(rng, words, seller.price_level),
        stock=rng.choice((3, 5, 10, 20, 50, 100, 200)),
        quality=min(1.0, max(0.0, rng.gauss(seller.quality, 0.15))),
        condition="used" if rng.random() < 0.1 else "new",
        created_day=created,
    )


def make_shoppers(
    rng: random.Random, config: PopulationConfig, categories: list[str], sellers: list[Seller]
) -> list[Shopper]:
    # People come to a shop for what it sells: categories no seller offers keep a little
    # interest (their searches find nothing), the rest follow the market's popularity.
    sold = {slug for seller in sellers for slug in seller.categories}
    interest = [VOCABULARY[slug].popularity * (1.0 if slug in sold else 0.1) for slug in categories]
    total = sum(interest)
    alphas = [config.category_concentration * weight / total for weight in interest]
    index_of = {slug: position for position, slug in enumerate(categories)}
    sellers_by_category: dict[str, list[int]] = {slug: [] for slug in categories}
    for seller in sellers:
        for slug in seller.categories:
            sellers_by_category[slug].append(seller.index)
    # Log-normal activity with this sigma has mean exp(mu + sigma^2 / 2) = visit_rate.
    sigma = 1.0
    mu = math.log(config.visit_rate) - sigma**2 / 2
    shoppers = []
    for index in range(config.shoppers):
        preferences = dirichlet(rng, alphas)
        ranked = sorted(range(len(categories)), key=lambda k: -preferences[k])
        favourites: list[int] = []
        for k in ranked[:2]:
            candidates = sellers_by_category[categories[k]]
            if candidates and rng.random() < 0.7:
                pick = rng.choice(candidates)
                if pick not in favourites:
                    favourites.append(pick)
        channel = _weighted(rng, CHANNELS)[0]
        consent_probability = min(0.95, config.consent_rate + (0.3 if channel == "email" else 0))
        late = rng.random() < config.late_shoppers
        join_day = rng.randrange(1, max(2, config.days)) if late else 0
        hazard = min(0.2, rng.lognormvariate(math.log(0.006), 0.9))
        lifetime = int(math.log(1.0 - rng.random()) / math.log(1.0 - hazard))
        first = rng.choice(FIRST_NAMES)
        shoppers.append(
            Shopper(
                index=index,
                key=f"shopper-{index:06d}",
                client_id=seeded_uuid(rng),
                email=f"shopper-{index:06d}@shoppers.sim.mercado.example",
                name=f"{first} {chr(65 + index % 26)}.",
                preferences=tuple(preferences),
                budget=math.exp(rng.gauss(0.0, 0.45)),
                price_tolerance=0.25 + rng.lognormvariate(math.log(0.35), 0.5),
                favourite_sellers=tuple(favourites),
                loyalty=rng.betavariate(2, 3),
                activity=rng.lognormvariate(mu, sigma),
                churn_hazard=hazard,
                join_day=join_day,
                churn_day=join_day + lifetime,
                ad_user_data_consent=rng.random() < consent_probability,
                channel=channel,
                user_agent=_weighted(rng, DEVICES)[0],
                locale=_weighted(rng, LOCALES)[0],
                decline_rate=0.35 if rng.random() < 0.15 else 0.03,
                bad_address=rng.random() < 0.01,
                category_index=index_of,
            )
        )
        shoppers[-1] = replace(shoppers[-1], **_contact_choices(shoppers[-1]))
    return shoppers


def _contact_choices(shopper: Shopper) -> dict[str, object]:
    """Phone and ad-personalisation choice, drawn from a generator of the shopper's own
    (seeded by their client id) so the main stream, and every other draw, is unchanged."""
    rng = random.Random(shopper.client_id)
    share = (
        AD_PERSONALIZATION_GIVEN_AD_USER_DATA
        if shopper.ad_user_data_consent
        else (AD_PERSONALIZATION_ALONE)
    )
    return {
        "ad_personalization_consent": rng.random() < share,
        "phone": _phone(rng, shopper.locale) if rng.random() < PHONE_SHARE else None,
    }


def _phone(rng: random.Random, locale: str) -> str:
    """A valid mobile number of the locale's country, written as people type it."""

    def digits(count: int) -> str:
        return "".join(str(rng.randrange(10)) for _ in range(count))

    if locale == "pt-BR":
        area = rng.choice(["11", "21", "31", "41", "51", "61", "71", "81"])
        return f"+55 {area} 9{rng.randrange(6, 10)}{digits(3)}-{digits(4)}"
    if locale == "es-AR":
        return f"+54 9 11 {rng.randrange(2, 7)}{digits(3)}-{digits(4)}"
    if locale == "es-MX":
        return f"+52 {rng.choice(['55', '33', '81'])} {rng.randrange(1, 10)}{digits(3)} {digits(4)}"
    area = rng.choice(["212", "415", "617", "312", "206"])
    return f"+1 {area} {rng.randrange(2, 10)}{digits(2)}-{digits(4)}"


def make_population(config: PopulationConfig, rng: random.Random) -> Population:
    categories = leaf_categories()
    missing = [slug for slug in categories if slug not in VOCABULARY]
    if missing:
        raise ValueError(f"no vocabulary for categories {missing}")
    sellers = make_sellers(rng, config, categories)
    items = make_items(rng, config, sellers)
    shoppers = make_shoppers(rng, config, categories, sellers)
    return Population(config, categories, sellers, items, shoppers)
