"""Interactions frames → the id maps and sparse matrices every model trains on.

Id maps come from LightFM's ``Dataset`` (users, items and feature tokens in row order) and
are saved with the model, so serving never rebuilds them. Signals are weighted by the dbt
var ``interaction_weights`` (the one place the weights live); recency enters as each
user's position (1 = most recent), which the models turn into a decaying profile.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import yaml
from lightfm.data import Dataset

from ml import columns as c

DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project" / "dbt_project.yml"
TITLE_TOKEN = re.compile(r"[a-z0-9]{3,}")


def signal_weights(dbt_project: Path = DBT_PROJECT) -> dict[str, float]:
    """The dbt var ``interaction_weights`` as event name → weight (a ``write_review`` weighs
    its weight x rating / 5, as in the ``interactions`` mart)."""
    variables = yaml.safe_load(dbt_project.read_text())["vars"]["interaction_weights"]
    return {name: float(value) for name, value in variables.items()}


def from_mart(frame: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The ``interactions`` mart (user_key, product_id, last_interaction_at,
    interaction_weight) in this package's column names; with ``weights``, the weight is
    recomputed from the mart's signal counts as the mart computes it from the dbt var."""
    result = frame[list(c.MART_COLUMNS)].rename(columns=c.MART_COLUMNS)
    if weights is not None:
        result[c.WEIGHT] = reweigh_mart(frame, weights).to_numpy()
    return result


def has_signals(frame: pd.DataFrame) -> bool:
    """Whether the mart frame carries the signal counts ``reweigh_mart`` needs."""
    return all(name in frame for name in (*c.MART_SIGNALS.values(), c.MART_RATING))


def reweigh_mart(frame: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    """``interaction_weight`` under other signal ``weights`` (event name → weight), from
    the mart's counts: sum of weight x count, plus write_review x rating / 5."""
    total = pd.Series(0.0, index=frame.index)
    for event, column in c.MART_SIGNALS.items():
        total += weights[event] * pd.to_numeric(frame[column], errors="coerce").fillna(0)
    rating = pd.to_numeric(frame[c.MART_RATING], errors="coerce").fillna(0)
    return total + weights["write_review"] * rating / 5.0


def weight_grid(defaults: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """The signal weight variants tuned on validation, the dbt var's defaults first (they
    win ties): purchase intent doubled, browsing halved, and every signal equal."""
    base = {name: float(value) for name, value in defaults.items()}
    intent = {"add_to_cart", "purchase"}
    browsing = {"view_item", "select_item"}
    return {
        "defaults": base,
        "intent_x2": {k: v * 2 if k in intent else v for k, v in base.items()},
        "browsing_x0.5": {k: v * 0.5 if k in browsing else v for k, v in base.items()},
        "equal": {k: 1.0 for k in base},
    }


def weigh_events(frame: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per (user, item): the summed signal weight and the latest timestamp.

    A ``weight`` column is used as given; otherwise an ``event_name`` column is weighted
    by ``weights`` (a ``write_review`` by its rating in ``value``: weight x rating / 5);
    otherwise every row weighs 1. Ids become strings. Rows with an unknown event name or a
    non-positive weight are dropped.

    Examples
    --------
    >>> rows = pd.DataFrame({"user_id": [1, 1], "item_id": ["a", "a"], "timestamp": [1, 2]})
    >>> weigh_events(rows).to_dict("records")
    [{'user_id': '1', 'item_id': 'a', 'weight': 2.0, 'timestamp': 2}]
    """
    frame = frame.copy()
    frame[c.USER] = frame[c.USER].astype(str)
    frame[c.ITEM] = frame[c.ITEM].astype(str)
    if c.TIMESTAMP not in frame:
        frame[c.TIMESTAMP] = 0
    if c.WEIGHT in frame:
        frame[c.WEIGHT] = frame[c.WEIGHT].astype(float)
    elif c.EVENT in frame:
        table = dict(weights if weights is not None else signal_weights())
        weight = frame[c.EVENT].map(table).astype(float)
        if c.VALUE in frame:
            reviews = frame[c.EVENT] == "write_review"
            rating = pd.to_numeric(frame[c.VALUE], errors="coerce")
            weight = weight.where(~reviews, weight * rating / 5.0)
        frame[c.WEIGHT] = weight
    else:
        frame[c.WEIGHT] = 1.0
    frame = frame[frame[c.WEIGHT] > 0]
    return (
        frame.groupby([c.USER, c.ITEM], as_index=False, sort=True)
        .agg(**{c.WEIGHT: (c.WEIGHT, "sum"), c.TIMESTAMP: (c.TIMESTAMP, "max")})
        .reset_index(drop=True)
    )


def item_order(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` by user, then most recent first, ties by item id (numerically when every
    id is a number), the larger id counting as more recent."""
    numeric = pd.to_numeric(frame[c.ITEM], errors="coerce")
    tie = numeric if numeric.notna().all() else frame[c.ITEM]
    keyed = frame.assign(_tie=tie)
    order = keyed.sort_values([c.USER, c.TIMESTAMP, "_tie"], ascending=[True, False, False])
    return order.drop(columns="_tie")


def recency_positions(frame: pd.DataFrame) -> pd.Series:
    """Each row's position among its user's rows, most recent first (1-based; ties as in
    ``item_order``, the order of the leave-last-N split)."""
    order = item_order(frame)
    positions = order.groupby(c.USER, sort=False).cumcount() + 1
    return positions.reindex(frame.index)


def signup_attributes(sessions: pd.DataFrame) -> pd.DataFrame:
    """Per account, the ``signup_channel`` and ``region`` of the visit it signed up in:
    its first session carrying the account (``fct_sessions``: ``user_id``,
    ``session_start_at``, ``session_id``, ``channel``, ``locale``), whose channel is its
    first utm touch, and the region subtag of its locale (``de-AT`` → ``AT``; none for a
    bare language).

    Examples
    --------
    >>> rows = pd.DataFrame({"user_id": ["u", "u"], "session_id": ["s2", "s1"],
    ...     "session_start_at": [2, 1], "channel": ["email", "social"],
    ...     "locale": ["en-GB", "de_AT"]})
    >>> signup_attributes(rows).to_dict("records")
    [{'user_id': 'u', 'signup_channel': 'social', 'region': 'AT'}]
    """
    known = sessions[sessions["user_id"].notna()]
    first = known.sort_values(["user_id", "session_start_at", "session_id"]).drop_duplicates(
        "user_id"
    )
    region = first["locale"].astype("string").str.extract(r"^[A-Za-z]+[-_]([A-Za-z]{2}|\d{3})\b")
    return pd.DataFrame(
        {
            c.USER: first["user_id"].astype(str).to_numpy(),
            c.SIGNUP_CHANNEL: _plain(first["channel"].astype("string")),
            c.REGION: _plain(region[0].str.upper()),
        }
    )


def _plain(values: pd.Series) -> list[str | None]:
    """Strings, with None where missing (feature tokens skip None)."""
    return [None if pd.isna(value) else str(value) for value in values]


def user_feature_tokens(
    users: pd.DataFrame, columns: Iterable[str] = (c.SIGNUP_CHANNEL, c.REGION, c.BEHAVIOUR)
) -> dict[str, list[str]]:
    """``column:value`` tokens per user id from the attribute columns present."""
    present = [name for name in columns if name in users]
    return _tokens(users.set_index(c.USER)[present])


def item_feature_tokens(items: pd.DataFrame, price_bands: int = 5) -> dict[str, list[str]]:
    """Tokens per item id: every prefix of the category path (``category:a``,
    ``category:a/b``), the price band (quantile), seller, condition and title words; any
    other column becomes ``column:value`` (e.g. MovieLens genres)."""
    frame = items.set_index(c.ITEM)
    tokens: dict[str, list[str]] = {str(item): [] for item in frame.index}
    if c.CATEGORY_PATH in frame:
        for item, path in frame[c.CATEGORY_PATH].dropna().items():
            parts = str(path).strip("/").split("/")
            tokens[str(item)] += [f"category:{'/'.join(parts[: n + 1])}" for n in range(len(parts))]
    if c.PRICE in frame and frame[c.PRICE].notna().any():
        edges = price_band_edges(frame[c.PRICE], price_bands)
        for item, price in frame[c.PRICE].dropna().items():
            tokens[str(item)].append(price_band_token(float(price), edges))
    if c.TITLE in frame:
        for item, title in frame[c.TITLE].dropna().items():
            words = sorted(set(TITLE_TOKEN.findall(str(title).lower())))
            tokens[str(item)] += [f"title:{word}" for word in words]
    rest = [name for name in frame.columns if name not in (c.CATEGORY_PATH, c.PRICE, c.TITLE)]
    for item, extra in _tokens(frame[rest]).items():
        tokens[str(item)] += extra
    return tokens


def price_band_edges(prices: pd.Series, bands: int = 5) -> list[float]:
    """Quantile edges that split ``prices`` into ``bands`` bands (saved with the model so a
    new listing gets the band the model knows)."""
    return [float(x) for x in np.quantile(prices.dropna(), np.arange(1, bands) / bands)]


def price_band_token(price: float, edges: list[float]) -> str:
    return f"price_band:{int(np.searchsorted(edges, price, side='right'))}"


def _tokens(frame: pd.DataFrame) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for key, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        result[str(key)] = [
            f"{name}:{value}"
            for name, value in zip(frame.columns, row, strict=True)
            if value is not None and value == value and value != ""
        ]
    return result


@dataclass
class TrainingData:
    """A training frame indexed by the id maps, with its matrices.

    ``frame`` has one row per (user, item) with ``user_row``, ``item_row``, ``weight``,
    ``timestamp`` and ``recency``. ``item_category`` is the category id per item row
    (``None`` when unknown) for the per-category baselines and fallbacks.
    """

    dataset: Dataset
    frame: pd.DataFrame
    user_features: sp.csr_matrix | None
    item_features: sp.csr_matrix | None
    item_category: list[str | None]
    feature_tokens: dict[str, dict[str, list[str]]]
    feature_definitions: dict[str, object]

    @cached_property
    def user_ids(self) -> list[str]:
        mapping = self.dataset.mapping()[0]
        return sorted(mapping, key=mapping.__getitem__)

    @cached_property
    def item_ids(self) -> list[str]:
        mapping = self.dataset.mapping()[2]
        return sorted(mapping, key=mapping.__getitem__)

    @property
    def shape(self) -> tuple[int, int]:
        return self.dataset.interactions_shape()

    def matrix(self, values: np.ndarray | None = None) -> sp.csr_matrix:
        """A users x items matrix of ``values`` per frame row (the weights by default)."""
        data = self.frame[c.WEIGHT].to_numpy() if values is None else values
        return sp.csr_matrix(
            (data.astype(np.float32), (self.frame[c.USER_ROW], self.frame[c.ITEM_ROW])),
            shape=self.shape,
        )

    @cached_property
    def weights(self) -> sp.csr_matrix:
        return self.matrix()

    @cached_property
    def positives(self) -> sp.csr_matrix:
        return self.matrix(np.ones(len(self.frame), dtype=np.float32))

    def profile(self, half_life: float | None) -> sp.csr_matrix:
        """The weights with each user's n-th most recent interaction decayed by
        ``0.5 ** ((n - 1) / half_life)`` (no decay when ``half_life`` is None)."""
        if half_life is None:
            return self.weights
        decay = 0.5 ** ((self.frame[c.RECENCY].to_numpy() - 1) / half_life)
        return self.matrix(self.frame[c.WEIGHT].to_numpy() * decay)

    def rows_of(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` restricted to known users and items, with their rows added."""
        users, _, items, _ = self.dataset.mapping()
        known = frame[frame[c.USER].isin(users.keys()) & frame[c.ITEM].isin(items.keys())]
        return known.assign(
            **{c.USER_ROW: known[c.USER].map(users), c.ITEM_ROW: known[c.ITEM].map(items)}
        )


def build_training_data(
    train: pd.DataFrame,
    users: pd.DataFrame | None = None,
    items: pd.DataFrame | None = None,
    *,
    extra_users: Iterable[str] = (),
    extra_items: Iterable[str] = (),
) -> TrainingData:
    """Id maps, feature matrices and the indexed frame of a weighted training frame
    (``weigh_events``' output). ``users``/``items`` carry attributes (``ml.columns``); the
    catalogue (``items``) and ``extra_items`` join the item map even without
    interactions, so they can be scored and served."""
    user_tokens = user_feature_tokens(users) if users is not None else {}
    item_tokens = item_feature_tokens(items) if items is not None else {}
    user_ids = _unique([*train[c.USER].unique(), *map(str, extra_users)])
    item_ids = _unique([*train[c.ITEM].unique(), *item_tokens, *map(str, extra_items)])
    dataset = Dataset()
    dataset.fit(
        user_ids,
        item_ids,
        user_features=sorted({t for tokens in user_tokens.values() for t in tokens}),
        item_features=sorted({t for tokens in item_tokens.values() for t in tokens}),
    )
    user_map, _, item_map, _ = dataset.mapping()
    frame = train.assign(
        **{
            c.USER_ROW: train[c.USER].map(user_map).astype(np.int32),
            c.ITEM_ROW: train[c.ITEM].map(item_map).astype(np.int32),
            c.RECENCY: recency_positions(train).astype(np.int32),
        }
    ).reset_index(drop=True)
    user_features = (
        dataset.build_user_features(
            ((u, tokens) for u, tokens in user_tokens.items() if u in user_map), normalize=True
        ).tocsr()
        if user_tokens
        else None
    )
    item_features = (
        dataset.build_item_features(
            ((i, tokens) for i, tokens in item_tokens.items() if i in item_map), normalize=True
        ).tocsr()
        if item_tokens
        else None
    )
    category = {}
    if items is not None and c.CATEGORY in items:
        category = dict(zip(items[c.ITEM].astype(str), items[c.CATEGORY], strict=True))
    item_order = sorted(item_map, key=item_map.__getitem__)
    item_category = [
        None if category.get(i) is None or category.get(i) != category.get(i) else str(category[i])
        for i in item_order
    ]
    return TrainingData(
        dataset=dataset,
        frame=frame,
        user_features=user_features,
        item_features=item_features,
        item_category=item_category,
        feature_tokens={"users": user_tokens, "items": item_tokens},
        feature_definitions=feature_definitions(users, items),
    )


def feature_definitions(users: pd.DataFrame | None, items: pd.DataFrame | None) -> dict:
    """How tokens are made, so that serving can make those of a new user or listing."""
    prices = items[c.PRICE] if items is not None and c.PRICE in items else None
    return {
        "user_tokens": "column:value for "
        + ", ".join(sorted(n for n in (users.columns if users is not None else []) if n != c.USER)),
        "item_tokens": "category:<every prefix of category_path>, price_band:<n>, "
        "title:<lowercase word of 3+ letters or digits>, column:value for the other columns",
        "item_columns": sorted(
            n for n in (items.columns if items is not None else []) if n != c.ITEM
        ),
        "price_band_edges": price_band_edges(prices)
        if prices is not None and prices.notna().any()
        else None,
    }


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(str(v) for v in values))


class InteractionsFileError(ValueError):
    """An interactions file that cannot be read as this package expects."""


def read_interactions_csv(path: Path) -> pd.DataFrame:
    """A ``user_id,item_id[,timestamp][,weight]`` CSV (or the ``mercado import csv``
    layout, ``user_id,item_id,timestamp[,event_name,value]``) as a frame: ids are strings,
    timestamps unix seconds (ISO 8601 is converted, naive means UTC).

    Raises ``InteractionsFileError`` naming the first bad lines."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InteractionsFileError(f"{path}: cannot be read as CSV ({reason})") from None
    frame.columns = [str(name).strip().lower() for name in frame.columns]
    missing = [name for name in (c.USER, c.ITEM) if name not in frame]
    if missing:
        raise InteractionsFileError(
            f"{path}: the first line must be a header naming user_id,item_id[,timestamp]"
            f"[,weight] (or user_id,item_id,timestamp[,event_name,value]); "
            f"missing {', '.join(missing)}"
        )
    for name in frame.columns:
        frame[name] = frame[name].str.strip()
    _refuse(path, frame, (frame[c.USER] == "") | (frame[c.ITEM] == ""), "empty user_id or item_id")
    if c.TIMESTAMP in frame:
        seconds = pd.to_numeric(frame[c.TIMESTAMP], errors="coerce")
        text = frame[c.TIMESTAMP].where(seconds.isna())
        parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
        from_text = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
        frame[c.TIMESTAMP] = seconds.fillna(from_text)
        _refuse(
            path, frame, frame[c.TIMESTAMP].isna(), "timestamp neither unix seconds nor ISO 8601"
        )
    if c.WEIGHT in frame:
        frame[c.WEIGHT] = pd.to_numeric(frame[c.WEIGHT], errors="coerce")
        _refuse(path, frame, ~np.isfinite(frame[c.WEIGHT]), "weight not a number")
    return frame


def _refuse(path: Path, frame: pd.DataFrame, bad: pd.Series, reason: str) -> None:
    if bad.any():
        lines = (np.flatnonzero(bad.to_numpy())[:5] + 2).tolist()  # 1-based, after the header
        more = f" and {int(bad.sum()) - len(lines)} more" if bad.sum() > len(lines) else ""
        raise InteractionsFileError(f"{path}: {reason} on line {', '.join(map(str, lines))}{more}")
