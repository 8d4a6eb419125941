"""Recommendation rules: which model serves a caller, what may be shown, and the fallbacks.

The models (``ml.serving``) rank candidates offline; here they are filtered at request
time against the shop database, so a listing sold out, paused or deleted after training
is never shown: items on sale only, not already bought by the caller, at most
``recs_max_per_seller`` per seller. Popularity fills a list that runs short, and serves
alone when no model is published (``FALLBACK_VERSION``) or the shopper opted out of
personalised recommendations.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import NamedTuple

from sqlalchemy.orm import Session

from ml.serving import Candidate, RecommenderModel, Served, pick
from ml.serving import ranked as ml_ranked
from shop_api.core.config import Settings
from shop_api.core.errors import NotFound
from shop_api.models import User
from shop_api.recommendations import repository
from shop_api.recommendations.repository import Shown

FALLBACK_VERSION = "popularity-fallback"
LIST_ID_PREFIX = "recs:"
FOR_YOU = "for_you"
POPULAR = "popular"
# Popularity candidates the shop keeps ranked when it has no model.
SHOP_POPULARITY_SIZE = 500


class Arm(enum.StrEnum):
    champion = "champion"
    challenger = "challenger"


class ListName(enum.StrEnum):
    for_you = "recommendations"
    similar = "similar"
    bought_together = "bought_together"


def popular_in(category_id: str) -> str:
    return f"popular_in:{category_id}"


@dataclass(frozen=True)
class Caller:
    """Who asks: a signed-in user and/or a device, and whether their history may be used."""

    user_id: uuid.UUID | None
    client_id: str | None
    personalised: bool

    @classmethod
    def of(cls, user: User | None, client_id: str | None) -> Caller:
        return cls(
            user_id=user.id if user is not None else None,
            client_id=client_id or None,
            personalised=user.personalised_recommendations if user is not None else True,
        )

    @property
    def key(self) -> str | None:
        """The ``user_key`` of the interactions mart: the account, else the device."""
        if self.user_id is not None:
            return str(self.user_id)
        return f"client:{self.client_id}" if self.client_id else None

    def model_keys(self) -> list[str]:
        """Keys whose history may personalise the list (none after an opt-out): the
        account, then the device it browsed on before signing in."""
        if not self.personalised:
            return []
        keys = [str(self.user_id)] if self.user_id is not None else []
        return keys + ([f"client:{self.client_id}"] if self.client_id else [])


def arm_for(key: str | None, share: float) -> Arm:
    """A stable, uniform split: the same key always lands in the same arm."""
    if key is None or share <= 0:
        return Arm.champion
    digest = hashlib.sha256(f"mercado-recs-ab:{key}".encode()).digest()
    return Arm.challenger if int.from_bytes(digest[:8], "big") < share * 2**64 else Arm.champion


class Recommended(NamedTuple):
    """One item of a list (a tuple: a list makes a few of them per request)."""

    listing: Shown
    score: float | None
    reason: str
    fallback: bool


@dataclass(frozen=True)
class RecommendationList:
    model_version: str
    arm: Arm | None  # None: no model served it
    personalised: bool
    name: ListName
    items: list[Recommended]

    @property
    def list_id(self) -> str:
        return LIST_ID_PREFIX + self.model_version


@dataclass(frozen=True)
class Source:
    """Candidates in order, and what to say about the ones that are shown."""

    candidates: Sequence[Candidate]
    reason: str | None  # None: popular_in:<the item's category>
    fallback: bool


class ShopPopularity:
    """The shop's own best sellers (then newest listings), ranked at most every
    ``ttl_seconds`` of the shop's clock (the one requests pass in as ``now``, so a
    simulated run ranks them at the same moments whatever its speed): the fallback when
    no model is published."""

    def __init__(self, days: int, ttl_seconds: float) -> None:
        self.days = days
        self.ttl = timedelta(seconds=ttl_seconds)
        # (ranked at, ranked (listing, category) pairs, sources built from them so far)
        self._cache: tuple[datetime, list[tuple[str, str]], dict[str | None, Source]] | None = None

    def source(self, session: Session, now: datetime, category_id: str | None = None) -> Source:
        cache = self._cache
        if cache is None or not cache[0] <= now < cache[0] + self.ttl:
            ranked = repository.popular_listing_ids(
                session, now - timedelta(days=self.days), SHOP_POPULARITY_SIZE
            )
            cache = self._cache = (now, ranked, {})
        _, ranked, sources = cache
        found = sources.get(category_id)
        if found is None:
            ids = [item for item, category in ranked if category_id in (None, category)]
            reason = POPULAR if category_id is None else None
            found = sources[category_id] = Source(ml_ranked(ids), reason, fallback=True)
        return found


@dataclass(frozen=True)
class Context:
    """What a request brings to the rules: settings, the models, the time, the fallback."""

    settings: Settings
    served: Served
    popularity: ShopPopularity
    now: datetime

    def model_for(self, caller: Caller) -> tuple[RecommenderModel | None, Arm | None]:
        champion, challenger = self.served.champion, self.served.challenger
        arm = Arm.champion
        if challenger is not None:
            arm = arm_for(caller.key, self.settings.recs_challenger_share)
        model = challenger if arm is Arm.challenger else champion
        return model, (arm if model is not None else None)


def _distinct(sources: Iterable[Source], excluded: set[str]) -> Iterator[tuple[Candidate, Source]]:
    """Candidates across the sources in order, each once, lazily: the fallbacks are only
    looked at when the model's own candidates run out."""
    seen: set[str] = set()
    for source in sources:
        for candidate in source.candidates:
            if candidate.item_id not in seen and candidate.item_id not in excluded:
                seen.add(candidate.item_id)
                yield candidate, source


def first_batch(k: int) -> int:
    """How many candidates the first availability read takes: a few more than ``k``, for
    when the model's first choices are on sale (each row read costs about as much as the
    statement itself)."""
    return k + k // 4 + 2


def choose(
    availability: repository.Availability,
    sources: Iterable[Source],
    k: int,
    *,
    excluded: set[str],
    max_per_seller: int,
) -> list[Recommended]:
    """The first ``k`` candidates across ``sources`` that can be shown now.

    Availability is read for the candidates in growing batches, ``first_batch(k)`` first,
    more when many sold out since training."""
    stream = _distinct(sources, excluded)
    per_seller: dict[str, int] = {}
    seen: set[str] = set()
    out: list[Recommended] = []
    size = first_batch(k)
    while len(out) < k:
        batch = list(islice(stream, size))
        if not batch:
            break
        shown = availability.of([candidate.item_id for candidate, _ in batch])
        sellers = {item_id: row.seller_id for item_id, row in shown.items()}
        source_of = {candidate.item_id: source for candidate, source in batch}
        picked = pick(
            [candidate for candidate, _ in batch], k - len(out), sellers=sellers,
            max_per_seller=max_per_seller, per_seller=per_seller, seen=seen,
        )  # fmt: skip
        for candidate in picked:
            listing, source = shown[candidate.item_id], source_of[candidate.item_id]
            out.append(
                Recommended(
                    listing=listing,
                    score=candidate.score,
                    reason=source.reason or popular_in(listing.category_id),
                    fallback=source.fallback,
                )
            )
        size *= 4
    return out


def _then_shop_popularity(
    session: Session, context: Context, sources: list[Source], category_id: str | None = None
) -> Iterator[Source]:
    """The sources, then the shop's own popularity, ranked only if it is reached."""
    yield from sources
    yield context.popularity.source(session, context.now, category_id)


def for_caller(session: Session, context: Context, caller: Caller, k: int) -> RecommendationList:
    """``GET /recommendations``: the caller's list, or a non-personal one."""
    model, arm = context.model_for(caller)
    sources: list[Source] = []
    personalised = False
    if model is not None:
        for key in caller.model_keys():
            candidates = model.for_user(key)
            if candidates is not None:
                sources.append(Source(candidates, FOR_YOU, fallback=False))
                personalised = True
                break
        sources.append(Source(model.popular(), POPULAR, fallback=True))
    excluded: set[str] = set()
    if caller.user_id is not None and caller.personalised:
        excluded = repository.bought_by(session, caller.user_id)
    items = choose(
        repository.Availability(session), _then_shop_popularity(session, context, sources), k,
        excluded=excluded,
        max_per_seller=context.settings.recs_max_per_seller,
    )  # fmt: skip
    return RecommendationList(
        model_version=model.version if model is not None else FALLBACK_VERSION,
        arm=arm,
        personalised=personalised,
        name=ListName.for_you,
        items=items,
    )


def for_listing(
    session: Session,
    context: Context,
    caller: Caller,
    actor: User | None,
    listing_id: uuid.UUID,
    k: int,
    name: ListName,
) -> RecommendationList:
    """``GET /listings/{id}/similar`` and ``/bought-together``: the model's list for the
    listing, then what is popular in its category. 404 for a listing the caller cannot
    see."""
    item_id = str(listing_id)
    excluded = {item_id}
    model, arm = context.model_for(caller)
    related, reason = None, ""
    if model is not None:
        if name is ListName.similar:
            related, reason = model.similar_to(item_id), f"similar_to:{item_id}"
        else:
            related, reason = model.bought_with(item_id), f"bought_with:{item_id}"
    # The first batch of the model's related items is read with the listing itself.
    others = (candidate.item_id for candidate in related or () if candidate.item_id != item_id)
    first = list(islice(others, first_batch(k)))
    listing, shown = repository.readable_listing(session, actor, listing_id, first)
    if listing is None:
        raise NotFound("Listing not found")
    sources: list[Source] = []
    if model is not None:
        if related is not None:
            sources.append(Source(related, reason, fallback=False))
        sources.append(Source(model.popular(listing.category_id), None, fallback=True))
    availability = repository.Availability(session, {i: shown.get(i) for i in first})
    items = choose(
        availability, _then_shop_popularity(session, context, sources, listing.category_id),
        k, excluded=excluded, max_per_seller=context.settings.recs_max_per_seller,
    )  # fmt: skip
    return RecommendationList(
        model_version=model.version if model is not None else FALLBACK_VERSION,
        arm=arm,
        personalised=False,
        name=name,
        items=items,
    )
