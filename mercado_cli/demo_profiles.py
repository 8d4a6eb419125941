"""The demo's customer profiles: ``ml.profiles.build_profiles`` on the marts it reads and
the published recommender's user embeddings, summarised (nothing is written: profiles
have no published location yet)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml.artifacts import artifact_root
from orchestration.loads.warehouse import open_reader


@dataclass(frozen=True)
class ProfileSummary:
    customers: int
    with_embedding: int
    as_of: str
    segments: list[tuple[str, int]]  # RFM segment -> customers, largest first
    propensity: dict[str, Any]


def summarise_profiles(warehouse: Path, home: Path) -> ProfileSummary:
    """Build every customer's profile as of the midnight after the last activity."""
    from ml.profiles.build import build_profiles
    from ml.profiles.embeddings import published_user_embeddings
    from ml.profiles.inputs import READS, ProfileInputs, read_sql

    with open_reader(warehouse) as conn:
        frames = {name: conn.execute(read_sql(name)).df() for name in READS}
    build = build_profiles(ProfileInputs(**frames), published_user_embeddings(artifact_root(home)))
    profiles = build.profiles
    segments = profiles["rfm_segment"].fillna("no paid order").value_counts()
    return ProfileSummary(
        customers=len(profiles),
        with_embedding=int(profiles["embedding"].notna().sum()),
        as_of=str(build.as_of.date()) if build.as_of is not None else "-",
        segments=[(str(name), int(count)) for name, count in segments.items()],
        propensity=build.propensity,
    )


def format_profiles(summary: ProfileSummary) -> str:
    lines = [
        f"  customers profiled     {summary.customers:,} as of {summary.as_of} "
        f"({summary.with_embedding:,} with the recommender's user embedding)",
        "  RFM segments           "
        + ", ".join(f"{name} {count:,}" for name, count in summary.segments[:6]),
    ]
    propensity = summary.propensity
    if propensity.get("status") == "trained":
        model, baseline = propensity["model"], propensity["rfm_baseline"]
        lines.append(
            f"  30-day purchase propensity: AUC {model['auc']:.3f} against "
            f"{baseline['auc']:.3f} for RFM alone (base rate {propensity['base_rate']:.1%})"
        )
    else:
        lines.append(
            "  30-day purchase propensity: not trained ("
            + str(propensity.get("reason", "no history"))
            + ")"
        )
    return "\n".join(lines)
