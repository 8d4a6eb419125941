"""The typed training configuration; ``to_dict``/``from_dict`` round-trip it exactly so a
manifest reproduces the run that made it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

DEFAULT_SEED = 42


def default_candidates() -> tuple[dict[str, Any], ...]:
    """The models every evaluation runs: the baselines and the production candidates."""
    return (
        {"family": "popularity"},
        {"family": "category_popularity"},
        {"family": "item_knn"},
        {"family": "item_knn", "profile_half_life": 5.0},
        {"family": "als"},
        {"family": "ease"},
        {"family": "ease", "profile_half_life": 5.0},
        {"family": "ease", "profile_half_life": 10.0},
        {"family": "lightfm", "use_features": False},
        {"family": "lightfm", "use_features": True},
    )


@dataclass(frozen=True)
class TrainingConfig:
    """Everything that decides a training run besides its data.

    Parameters
    ----------
    k : cut-off of the ranking metrics and of ``--recommendations-out``.
    seed : seed of every random choice (splits, model initialisation).
    validation_last_n : per user, this many most recent training interactions form the
        validation split on which the winner is chosen (never the test split), unless the
        test split is a global time cut-off or random (then validation is cut alike).
    candidates : model configurations (``ml.models.model_from_dict``) to compare.
    candidates_per_user, similar_per_item, bought_together_per_item : widths of the
        artifact's arrays.
    bought_together_min_support : co-purchases a pair needs to be listed.
    signal_weights : weight per event name; ``None`` reads the dbt var
        ``interaction_weights`` (``ml.data.signal_weights``).
    light_user_max, cold_user_max : users with at most this many training interactions are
        light (resp. cold) in the per-segment metrics; the rest are heavy.
    tune_signal_weights : a production run (``ml.training.train``) tries the variants of
        ``ml.data.weight_grid`` on the validation split and trains with the best.

    Examples
    --------
    >>> config = TrainingConfig(k=5)
    >>> TrainingConfig.from_dict(config.to_dict()) == config
    True
    """

    k: int = 10
    seed: int = DEFAULT_SEED
    validation_last_n: int = 10
    candidates: tuple[dict[str, Any], ...] = field(default_factory=default_candidates)
    candidates_per_user: int = 200
    similar_per_item: int = 50
    bought_together_per_item: int = 20
    bought_together_min_support: int = 2
    signal_weights: dict[str, float] | None = None
    cold_user_max: int = 4
    light_user_max: int = 20
    tune_signal_weights: bool = True

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["candidates"] = [dict(candidate) for candidate in self.candidates]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown training config keys: {', '.join(unknown)}")
        values = dict(data)
        if "candidates" in values:
            values["candidates"] = tuple(dict(c) for c in values["candidates"])
        return cls(**values)
