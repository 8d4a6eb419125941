"""Recommenders behind one interface (``ml.models.base.Recommender``)."""

from __future__ import annotations

from typing import Any

from ml.models.base import Recommender
from ml.models.factors import ALS, LightFMHybrid
from ml.models.neighbours import EASE, ItemKNN
from ml.models.popularity import CategoryPopularity, Popularity

MODELS: dict[str, type[Recommender]] = {
    model.family: model
    for model in (Popularity, CategoryPopularity, ItemKNN, EASE, ALS, LightFMHybrid)
}


def model_from_dict(config: dict[str, Any], seed: int | None = None) -> Recommender:
    """The model a ``to_dict()`` describes; ``seed`` fills in a seed the dict leaves out.

    Examples
    --------
    >>> model_from_dict({"family": "ease", "regularization": 100.0}).to_dict()["regularization"]
    100.0
    """
    params = dict(config)
    family = params.pop("family", None)
    if family not in MODELS:
        raise ValueError(f"unknown model family {family!r}; known: {', '.join(MODELS)}")
    cls = MODELS[family]
    if seed is not None and "seed" in cls.__dataclass_fields__ and "seed" not in params:
        params["seed"] = seed
    unknown = sorted(set(params) - set(cls.__dataclass_fields__))
    if unknown:
        raise ValueError(f"unknown {family} parameters: {', '.join(unknown)}")
    return cls(**params)


__all__ = ["MODELS", "Recommender", "model_from_dict"]
